"""Session factory and the per-request unit of work."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
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

    ``unscoped=True`` is for operator commands and jobs that act across shops on purpose.
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


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed after the endpoint returns, before the response.

    ``scope="function"`` makes FastAPI run the teardown before sending the response, so a
    failed commit becomes an error response instead of following a 200.
    """
    factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    async with unit_of_work(factory) as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]
