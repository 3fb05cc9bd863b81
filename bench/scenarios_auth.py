"""Auth scenarios: GET /api/ai/me with an API key and with a NextAuth session.

The session token is minted by the real next-auth package (tests/fixtures/nextauth),
with the secret the bench gives the service.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.database import BENCH_SECRET, BenchContext
from bench.scenarios import Prepared, Scenario, register


async def api_key_headers(ctx: BenchContext) -> Prepared:
    from bloomer_ai.auth.service import create_api_key
    from bloomer_ai.db.tenancy import bind_shop
    from bloomer_ai.shops.service import create_shop

    async def make(session):  # type: ignore[no-untyped-def]
        shop = await create_shop(session, name="Bench florist (key)")
        bind_shop(session.sync_session, shop.id)
        issued = await create_api_key(
            session, name="bench", scopes=["agent:chat"], pepper=BENCH_SECRET
        )
        return issued.secret

    secret = await ctx.run(make)
    return Prepared(headers={"Authorization": f"Bearer {secret}"})


async def _nextauth_session(ctx: BenchContext) -> Prepared:
    from bloomer_ai.auth.service import create_user
    from bloomer_ai.shops.service import add_member, create_shop

    async def make(session):  # type: ignore[no-untyped-def]
        import uuid

        shop = await create_shop(session, name="Bench florist (session)")
        user = await create_user(session, email=f"bench-{uuid.uuid4().hex[:8]}@example.test")
        await add_member(session, shop_id=shop.id, user_id=user.id, role="owner")
        return str(user.id)

    user_id = await ctx.run(make)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from support.nextauth import mint  # the real next-auth encode, via node

    (token,) = mint([{"lib": "v4", "secret": BENCH_SECRET, "token": {"sub": user_id}}])
    return Prepared(headers={"Cookie": f"next-auth.session-token={token}"})


register(
    Scenario(
        "me_api_key",
        "GET",
        "/api/ai/me",
        setup=api_key_headers,
        description="auth with an API key + rate limit (warm: no database round trip)",
    )
)
register(
    Scenario(
        "me_session",
        "GET",
        "/api/ai/me",
        setup=_nextauth_session,
        description="auth with a NextAuth v4 session cookie (JWE) + rate limit",
    )
)
