"""All SQL of auth: API keys, NextAuth sessions, users and their memberships.

Two kinds of reads live here. Lookups that run before any shop is known (a presented key,
a session token, a user's memberships) are the one cross-shop path of a request, named
``lookup_…``. Everything else is either a shop repository (``ApiKeyRepository``, built
from a session bound to the shop) or an operator function (``operator_…``) that only the
CLI and the demo seeder call on the owner connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.db.pagination import fetch_page
from bloomer_ai.db.repository import ShopScopedRepository
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import ApiKey, AuthSession, User


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: uuid.UUID
    shop_id: uuid.UUID
    shop_name: str
    name: str
    key_hash: bytes
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: uuid.UUID
    email: str
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class MembershipRecord:
    shop_id: uuid.UUID
    role: str
    shop_name: str


# --- lookups before the shop is known -----------------------------------------------------
# The one cross-shop path of a request: SECURITY DEFINER functions (migration 0006) that
# the service's role may call but whose tables it cannot read itself.

_KEY_BY_PREFIX = text(
    "SELECT id, shop_id, shop_name, name, key_hash, scopes, expires_at, revoked_at "
    "FROM auth_api_key(:prefix)"
)
_TOUCH_KEY = text("SELECT auth_touch_api_key(:key_id)")
_SESSION = text("SELECT user_id, expires FROM auth_session(:token)")
_USER = text("SELECT id, email, disabled_at FROM auth_user(:id, :external_id)")
_MEMBERSHIPS = text("SELECT shop_id, role, shop_name FROM auth_memberships(:user_id)")


async def lookup_key_by_prefix(session: AsyncSession, prefix: str) -> KeyRecord | None:
    row = (await session.execute(_KEY_BY_PREFIX, {"prefix": prefix})).one_or_none()
    return KeyRecord(*row) if row is not None else None


async def lookup_touch_key(session: AsyncSession, key_id: uuid.UUID) -> None:
    """Record use; the function writes at most once a minute per key, across processes."""
    await session.execute(_TOUCH_KEY, {"key_id": key_id})


async def lookup_session(session: AsyncSession, token: str) -> tuple[uuid.UUID, datetime] | None:
    """The user and expiry of a NextAuth database-strategy session."""
    row = (await session.execute(_SESSION, {"token": token})).one_or_none()
    return (row.user_id, row.expires) if row is not None else None


async def lookup_user(session: AsyncSession, subject: str) -> UserRecord | None:
    """A user by our id, or by NextAuth's own id (a JWT ``sub`` that is not one of ours)."""
    try:
        by_id, external = uuid.UUID(subject), None
    except ValueError:
        by_id, external = None, subject
    row = (await session.execute(_USER, {"id": by_id, "external_id": external})).one_or_none()
    return UserRecord(*row) if row is not None else None


async def lookup_memberships(session: AsyncSession, user_id: uuid.UUID) -> list[MembershipRecord]:
    rows = await session.execute(_MEMBERSHIPS, {"user_id": user_id})
    return [MembershipRecord(*row) for row in rows.all()]


# --- the shop's keys (a session bound to the shop) ----------------------------------------


class ApiKeyRepository(ShopScopedRepository):
    async def insert(
        self,
        *,
        name: str,
        prefix: str,
        key_hash: bytes,
        scopes: list[str],
        created_by_user_id: uuid.UUID | None,
        expires_at: datetime | None,
    ) -> ApiKey:
        key = ApiKey(
            shop_id=self.shop_id,
            name=name,
            prefix=prefix,
            key_hash=key_hash,
            scopes=scopes,
            created_by_user_id=created_by_user_id,
            expires_at=expires_at,
        )
        self.session.add(key)
        await self.session.flush()
        await self.session.refresh(key)
        return key

    async def page(self, params: PageParams) -> tuple[Sequence[ApiKey], str | None]:
        return await fetch_page(self.session, select(ApiKey), ApiKey.id, params)

    async def get(self, key_id: str | uuid.UUID) -> ApiKey | None:
        return await self._get(ApiKey, key_id)

    async def all(self) -> Sequence[ApiKey]:
        return (await self.session.scalars(select(ApiKey).order_by(ApiKey.id.desc()))).all()

    async def revoke_named(self, name: str, *, keep: uuid.UUID, at: datetime) -> None:
        """Revoke the shop's active keys of this name, all but ``keep``."""
        await self.session.execute(
            update(ApiKey)
            .where(ApiKey.name == name, ApiKey.revoked_at.is_(None), ApiKey.id != keep)
            .values(revoked_at=at)
        )


# --- users (operator commands) --------------------------------------------------------------


async def operator_find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.lower()))


async def operator_get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def operator_insert_user(session: AsyncSession, *, email: str, name: str | None) -> User:
    user = User(email=email, name=name)
    session.add(user)
    await session.flush()
    return user


async def operator_key_shop(session: AsyncSession, key_id: uuid.UUID) -> uuid.UUID | None:
    """The shop a key belongs to (``keys revoke KEY_ID`` names no shop)."""
    return await session.scalar(select(ApiKey.shop_id).where(ApiKey.id == key_id))


async def operator_insert_session(
    session: AsyncSession, *, token: str, user_id: uuid.UUID, expires: datetime
) -> None:
    session.add(AuthSession(session_token=token, user_id=user_id, expires=expires))
    await session.flush()
