"""Auth's rules: issuing, listing and revoking API keys; users; describing the caller.

Functions take a session (bound to the shop for the shop's own keys; the owner's for
operator commands) and plain values, never commit, and raise auth's errors.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.auth import repository
from bloomer_ai.auth.errors import (
    ApiKeyNotFound,
    EmailTaken,
    InvalidUser,
    UserDisabled,
    UserNotFound,
)
from bloomer_ai.auth.principal import Principal, PrincipalKind
from bloomer_ai.auth.repository import ApiKeyRepository
from bloomer_ai.auth.schemas import MeKey, MeRead, MeShop, MeUser
from bloomer_ai.auth.scopes import unknown_scopes
from bloomer_ai.db.tenancy import bind_shop
from bloomer_ai.errors import ValidationFailed
from bloomer_ai.kit.crypto import keyed_hash, same_secret
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.kit.time import utcnow
from bloomer_ai.kit.validation import is_valid_email
from bloomer_ai.models import ApiKey, User

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
            details=[{"field": "body.scopes", "message": "at least one scope", "type": "scopes"}],
        )
    unknown = unknown_scopes(cleaned)
    if unknown:
        raise ValidationFailed(
            "Unknown scope(s): " + ", ".join(unknown) + ".",
            details=[
                {"field": "body.scopes", "message": f"unknown scope {scope!r}", "type": "scopes"}
                for scope in unknown
            ],
        )
    return cleaned


# --- the shop's keys ----------------------------------------------------------------------


async def create_api_key(
    session: AsyncSession,
    *,
    name: str,
    scopes: Sequence[str],
    pepper: str,
    expires_in_days: int | None = None,
    created_by_user_id: uuid.UUID | None = None,
) -> IssuedKey:
    """A new key of the session's shop; the secret is in the result, and nowhere else."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed(
            "The key name must be 1 to 100 characters.",
            details=[{"field": "body.name", "message": "1 to 100 characters", "type": "name"}],
        )
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise ValidationFailed(
            "expiresInDays must be between 1 and 3650.",
            details=[{"field": "body.expiresInDays", "message": "1 to 3650", "type": "range"}],
        )
    prefix, secret = _new_key_text()
    key = await ApiKeyRepository(session).insert(
        name=name,
        prefix=prefix,
        key_hash=keyed_hash(pepper, secret),
        scopes=validate_scopes(scopes),
        created_by_user_id=created_by_user_id,
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    return IssuedKey(key=key, secret=secret)


async def usable_api_key(
    session: AsyncSession, secret: str, *, pepper: str, valid_for: timedelta = timedelta(0)
) -> repository.KeyRecord | None:
    """The key whose whole text this is, if it would authenticate now and for ``valid_for``
    more (not revoked, not expiring sooner); else None."""
    prefix = split_key(secret)
    if prefix is None:
        return None
    key = await repository.lookup_key_by_prefix(session, prefix)
    if key is None or not same_secret(key.key_hash, keyed_hash(pepper, secret)):
        return None
    if key.revoked_at is not None:
        return None
    if key.expires_at is not None and key.expires_at <= utcnow() + valid_for:
        return None
    return key


async def revoke_other_api_keys_named(session: AsyncSession, name: str, *, keep: uuid.UUID) -> None:
    """Revoke the session's shop's active keys called ``name``, all but ``keep``."""
    await ApiKeyRepository(session).revoke_named(name, keep=keep, at=utcnow())


async def list_api_keys(
    session: AsyncSession, params: PageParams
) -> tuple[Sequence[ApiKey], str | None]:
    """The shop's keys, newest first."""
    return await ApiKeyRepository(session).page(params)


async def all_api_keys(session: AsyncSession) -> Sequence[ApiKey]:
    return await ApiKeyRepository(session).all()


async def revoke_api_key(session: AsyncSession, key_id: str | uuid.UUID) -> ApiKey:
    """Revoke at once (idempotent). Another shop's key, or no key: 404."""
    key = await ApiKeyRepository(session).get(key_id)
    if key is None:
        raise ApiKeyNotFound()
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.flush()
    return key


async def operator_revoke_api_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey:
    """``keys revoke KEY_ID`` on the owner connection: the key's shop is looked up first."""
    shop_id = await repository.operator_key_shop(session, key_id)
    if shop_id is None:
        raise ApiKeyNotFound()
    bind_shop(session.sync_session, shop_id)
    return await revoke_api_key(session, key_id)


# --- users ----------------------------------------------------------------------------------


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await repository.operator_find_user_by_email(session, email)


async def create_user(session: AsyncSession, *, email: str, name: str | None = None) -> User:
    email = email.strip()
    if not is_valid_email(email):
        raise InvalidUser("That is not a valid e-mail address.")
    if await repository.operator_find_user_by_email(session, email) is not None:
        raise EmailTaken()
    return await repository.operator_insert_user(
        session, email=email, name=(name or "").strip() or None
    )


async def find_user(session: AsyncSession, reference: str) -> User:
    """A user by id or by e-mail address (any letter case), for operator commands."""
    reference = reference.strip()
    try:
        user = await repository.operator_get_user(session, uuid.UUID(reference))
    except ValueError:
        user = await repository.operator_find_user_by_email(session, reference)
    if user is None:
        raise UserNotFound(f"No user has the id or e-mail address {reference!r}.")
    return user


@dataclass(frozen=True)
class IssuedSession:
    token: str
    """Shown once: NextAuth's database strategy keeps it as it is."""
    expires: datetime


async def issue_database_session(
    session: AsyncSession, user: User, *, days: int = 7, prefix: str = ""
) -> IssuedSession:
    """A NextAuth database-strategy session for ``user``, as the web app's adapter writes
    one at sign-in (for trying the API without the web app)."""
    if user.disabled_at is not None:
        raise UserDisabled()
    if not 1 <= days <= 365:
        raise ValidationFailed("A session lasts 1 to 365 days.")
    token = f"{prefix}{secrets.token_urlsafe(32)}"
    expires = utcnow() + timedelta(days=days)
    await repository.operator_insert_session(session, token=token, user_id=user.id, expires=expires)
    return IssuedSession(token=token, expires=expires)


async def database_session_user(
    session: AsyncSession, token: str, *, valid_for: timedelta = timedelta(0)
) -> uuid.UUID | None:
    """The user of a database-strategy session that is valid now and for ``valid_for``
    more; else None."""
    found = await repository.lookup_session(session, token)
    if found is None:
        return None
    user_id, expires = found
    return user_id if expires > utcnow() + valid_for else None


# --- the caller -------------------------------------------------------------------------------


def describe_principal(principal: Principal) -> MeRead:
    user = (
        MeUser(id=principal.user_id, email=principal.user_email or "")
        if principal.kind is PrincipalKind.SESSION and principal.user_id
        else None
    )
    key = (
        MeKey(id=principal.api_key_id, name=principal.api_key_name or "")
        if principal.kind is PrincipalKind.API_KEY and principal.api_key_id
        else None
    )
    return MeRead(
        kind=principal.kind.value,
        user=user,
        key=key,
        shop=MeShop(id=principal.shop_id, name=principal.shop_name),
        role=principal.role.value if principal.role else None,
        scopes=sorted(principal.scopes),
    )
