"""Sessions for tests: a unit of work bound to one shop, on the test's own connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bloomer_ai.db.session import unit_of_work
from bloomer_ai.models import Shop


@asynccontextmanager
async def shop_session(db: AsyncSession, shop: Shop) -> AsyncIterator[AsyncSession]:
    """A session bound to ``shop`` on ``db``'s connection (it sees ``db``'s rows, and
    ``db`` sees what it writes), as a request or a job of that shop would have one."""
    factory = async_sessionmaker(
        bind=await db.connection(),
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )
    async with unit_of_work(factory, shop_id=shop.id) as session:
        yield session
