"""Credentials for tests: API keys through the real service, session tokens minted by
the real NextAuth libraries (see support/nextauth.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.auth.scopes import ALL_SCOPES
from bloomer_ai.auth.service import create_api_key
from bloomer_ai.kit.crypto import DEVELOPMENT_PEPPER
from bloomer_ai.models import AuthSession, Shop
from support.sessions import shop_session

V4_COOKIE = "next-auth.session-token"
V5_COOKIE = "authjs.session-token"


async def issue_key(
    db: AsyncSession,
    shop: Shop,
    scopes: Sequence[str] = tuple(sorted(ALL_SCOPES)),
    *,
    name: str = "test key",
    expires_in_days: int | None = None,
) -> tuple[uuid.UUID, str]:
    async with shop_session(db, shop) as session:
        issued = await create_api_key(
            session,
            name=name,
            scopes=list(scopes),
            pepper=DEVELOPMENT_PEPPER,
            expires_in_days=expires_in_days,
        )
    return issued.key.id, issued.secret


def key_headers(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def database_session(
    db: AsyncSession, user_id: uuid.UUID, *, expires_in: timedelta = timedelta(days=1)
) -> str:
    token = f"dbsess-{uuid.uuid4().hex}"
    db.add(
        AuthSession(session_token=token, user_id=user_id, expires=datetime.now(UTC) + expires_in)
    )
    await db.flush()
    return token


def session_tokens(subjects: dict[str, uuid.UUID]) -> dict[str, str]:
    """NextAuth v4 session tokens (minted by next-auth itself) for named user ids."""
    from conftest import TEST_AUTH_SECRET
    from support.nextauth import mint

    minted = mint(
        [
            {"lib": "v4", "secret": TEST_AUTH_SECRET, "token": {"sub": str(sub)}}
            for sub in subjects.values()
        ]
    )
    return dict(zip(subjects, minted, strict=True))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
