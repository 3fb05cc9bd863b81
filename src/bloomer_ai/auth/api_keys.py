"""API keys: ``blm_<prefix>_<secret>``; stored as a keyed hash, found by the prefix."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.auth.errors import ApiKeyNotFound
from bloomer_ai.auth.scopes import unknown_scopes
from bloomer_ai.errors import ValidationFailed
from bloomer_ai.kit.crypto import keyed_hash, same_secret
from bloomer_ai.kit.pagination import PageParams, fetch_page
from bloomer_ai.kit.repository import get_or_404
from bloomer_ai.kit.time import utcnow
from bloomer_ai.models import ApiKey

KEY_MARKER = "blm_"
_KEY_SHAPE = re.compile(r"^blm_([a-z0-9]{10})_([A-Za-z0-9_-]{40,64})$")
_PREFIX_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no look-alikes (l, 1, o, 0)


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str
    """The whole key, shown once."""


def _new_key_text() -> tuple[str, str]:
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(10))
    return prefix, f"{KEY_MARKER}{prefix}_{secrets.token_urlsafe(32)}"


def split_key(presented: str) -> str | None:
    """The prefix of a well-formed key, else None (then: 401 without a database query)."""
    match = _KEY_SHAPE.match(presented)
    return match.group(1) if match else None


def validate_scopes(scopes: Sequence[str]) -> list[str]:
    cleaned = sorted({scope.strip() for scope in scopes if scope.strip()})
    if not cleaned:
        raise ValidationFailed(
            "An API key needs at least one scope.",
            details=[{"field": "scopes", "message": "at least one scope", "type": "scopes"}],
        )
    unknown = unknown_scopes(cleaned)
    if unknown:
        raise ValidationFailed(
            "Unknown scope(s): " + ", ".join(unknown) + ".",
            details=[
                {"field": "scopes", "message": f"unknown scope {scope!r}", "type": "scopes"}
                for scope in unknown
            ],
        )
    return cleaned


async def create_api_key(
    session: AsyncSession,
    *,
    shop_id: uuid.UUID,
    name: str,
    scopes: Sequence[str],
    pepper: str,
    expires_in_days: int | None = None,
    created_by_user_id: uuid.UUID | None = None,
) -> IssuedKey:
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed(
            "The key name must be 1 to 100 characters.",
            details=[{"field": "name", "message": "1 to 100 characters", "type": "name"}],
        )
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise ValidationFailed(
            "expiresInDays must be between 1 and 3650.",
            details=[{"field": "expiresInDays", "message": "1 to 3650", "type": "range"}],
        )
    prefix, secret = _new_key_text()
    key = ApiKey(
        shop_id=shop_id,
        name=name,
        prefix=prefix,
        key_hash=keyed_hash(pepper, secret),
        scopes=validate_scopes(scopes),
        created_by_user_id=created_by_user_id,
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(key)
    await session.flush()
    return IssuedKey(key=key, secret=secret)


async def list_api_keys(
    session: AsyncSession, params: PageParams
) -> tuple[Sequence[ApiKey], str | None]:
    """The shop's keys, newest first (the session is bound to the shop)."""
    return await fetch_page(session, select(ApiKey), ApiKey.id, params)


async def list_all_api_keys(session: AsyncSession, shop_id: uuid.UUID) -> Sequence[ApiKey]:
    statement = select(ApiKey).where(ApiKey.shop_id == shop_id).order_by(ApiKey.id.desc())
    return (await session.scalars(statement)).all()


async def revoke_api_key(session: AsyncSession, key_id: str | uuid.UUID) -> ApiKey:
    """Revoke at once (idempotent). Another shop's key, or no key: 404."""
    key = await get_or_404(session, ApiKey, key_id, ApiKeyNotFound)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.flush()
    return key


async def unscoped_find_usable_key(
    session: AsyncSession, presented: str, pepper: str, now: datetime
) -> ApiKey | None:
    """The key row for a presented secret, if it is valid now.

    Unscoped: authentication happens before any shop is known.
    """
    prefix = split_key(presented)
    if prefix is None:
        return None
    key = await session.scalar(
        select(ApiKey).where(ApiKey.prefix == prefix).execution_options(unscoped=True)
    )
    if key is None or not same_secret(key.key_hash, keyed_hash(pepper, presented)):
        return None
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        return None
    return key


async def unscoped_touch_last_used(session: AsyncSession, key_id: uuid.UUID) -> None:
    """Record use; the WHERE keeps it to one write a minute even across processes."""
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            (ApiKey.last_used_at.is_(None))
            | (ApiKey.last_used_at < utcnow() - timedelta(minutes=1)),
        )
        .values(last_used_at=utcnow())
        .execution_options(unscoped=True, synchronize_session=False)
    )
