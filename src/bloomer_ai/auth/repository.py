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
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.db.pagination import fetch_page
from bloomer_ai.db.repository import ShopScopedRepository
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.kit.time import utcnow
from bloomer_ai.models import ApiKey, AuthSession, Shop, ShopMember, User


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


async def lookup_key_by_prefix(session: AsyncSession, prefix: str) -> KeyRecord | None:
    row = (
        await session.execute(
            select(
                ApiKey.id,
                ApiKey.shop_id,
                Shop.name,
                ApiKey.name,
                ApiKey.key_hash,
                ApiKey.scopes,
                ApiKey.expires_at,
                ApiKey.revoked_at,
            )
            .join(Shop, Shop.id == ApiKey.shop_id)
            .where(ApiKey.prefix == prefix)
            .execution_options(unscoped=True)
        )
    ).one_or_none()
    return KeyRecord(*row) if row is not None else None


async def lookup_touch_key(session: AsyncSession, key_id: uuid.UUID) -> None:
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


async def lookup_session(session: AsyncSession, token: str) -> tuple[uuid.UUID, datetime] | None:
    """The user and expiry of a NextAuth database-strategy session."""
    row = (
        await session.execute(
            select(AuthSession.user_id, AuthSession.expires).where(
                AuthSession.session_token == token
            )
        )
    ).one_or_none()
    return (row.user_id, row.expires) if row is not None else None


async def lookup_user(session: AsyncSession, subject: str) -> UserRecord | None:
    """A user by our id, or by NextAuth's own id (a JWT ``sub`` that is not one of ours)."""
    try:
        condition = User.id == uuid.UUID(subject)
    except ValueError:
        condition = User.external_id == subject
    row = (
        await session.execute(select(User.id, User.email, User.disabled_at).where(condition))
    ).one_or_none()
    return UserRecord(*row) if row is not None else None


async def lookup_memberships(session: AsyncSession, user_id: uuid.UUID) -> list[MembershipRecord]:
    rows = await session.execute(
        select(ShopMember.shop_id, ShopMember.role, Shop.name)
        .join(Shop, Shop.id == ShopMember.shop_id)
        .where(ShopMember.user_id == user_id)
    )
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


# --- users (operator commands) --------------------------------------------------------------


async def operator_find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.lower()))


async def operator_insert_user(session: AsyncSession, *, email: str, name: str | None) -> User:
    user = User(email=email, name=name)
    session.add(user)
    await session.flush()
    return user


async def operator_key_shop(session: AsyncSession, key_id: uuid.UUID) -> uuid.UUID | None:
    """The shop a key belongs to (``keys revoke KEY_ID`` names no shop)."""
    return await session.scalar(
        select(ApiKey.shop_id).where(ApiKey.id == key_id).execution_options(unscoped=True)
    )


async def operator_insert_session(
    session: AsyncSession, *, token: str, user_id: uuid.UUID, expires: datetime
) -> None:
    session.add(AuthSession(session_token=token, user_id=user_id, expires=expires))
    await session.flush()
