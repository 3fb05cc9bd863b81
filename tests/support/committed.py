"""Committed rows for the few tests that need them (several app instances, separate
processes, PostgreSQL notifications, real concurrency): a shop of their own with an API
key, written as the owner and deleted at the end with everything that hangs off it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from bloomer_ai.db.session import make_operator_session_factory, unit_of_work
from bloomer_ai.models import Shop
from factories.core import create_shop
from support.auth import issue_key


@asynccontextmanager
async def committed_shop(
    engine: AsyncEngine, *, scopes: Any = None, **shop_values: Any
) -> AsyncIterator[tuple[Shop, str]]:
    """A committed shop and the secret of an API key of it (all scopes by default)."""
    factory = make_operator_session_factory(engine)
    async with unit_of_work(factory) as session:
        shop = await create_shop(session, **shop_values)
        _, secret = (
            await issue_key(session, shop, scopes) if scopes else await issue_key(session, shop)
        )
    try:
        yield shop, secret
    finally:
        async with unit_of_work(factory) as session:
            await session.execute(delete(Shop).where(Shop.id == shop.id))
