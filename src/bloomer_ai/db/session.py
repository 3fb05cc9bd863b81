"""Session factories and units of work outside a request (jobs, auth look-ups, the CLI)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bloomer_ai.db import tenancy  # noqa: F401 - registers the tenancy hooks
from bloomer_ai.db.tenancy import UNSCOPED_OPTION, bind_shop


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def unit_of_work(
    factory: async_sessionmaker[AsyncSession],
    *,
    shop_id: uuid.UUID | None = None,
    unscoped: bool = False,
) -> AsyncIterator[AsyncSession]:
    """One transaction: committed when the block ends cleanly, rolled back otherwise.

    ``unscoped=True`` is for operator commands that act across shops on purpose.
    """
    async with factory() as session:
        if shop_id is not None:
            bind_shop(session.sync_session, shop_id)
        if unscoped:
            session.sync_session.info[UNSCOPED_OPTION] = True
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction has committed (never on rollback)."""
    event.listen(session.sync_session, "after_commit", lambda _session: callback(), once=True)
