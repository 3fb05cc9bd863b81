"""Session factory and the per-request unit of work."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
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


REQUEST_SESSION_KEY = "db_session"
BOUND_SHOP_KEY = "bound_shop_id"


def request_session_of(request: Request) -> AsyncSession:
    """The request's unit of work, opened on first use (one per request).

    ``finish_request_session`` (called by ``JsonRoute`` after the endpoint returns and
    before the response is sent) commits it, or rolls it back when the endpoint failed, so
    a failed commit becomes an error response instead of following a 200. A session that
    never touched the database costs no round trip.
    """
    state = request.scope.setdefault("state", {})
    session: AsyncSession | None = state.get(REQUEST_SESSION_KEY)
    if session is None:
        factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
        session = factory()
        state[REQUEST_SESSION_KEY] = session
        shop_id = state.get(BOUND_SHOP_KEY)
        if shop_id is not None:
            bind_shop(session.sync_session, shop_id)
    return session


def bind_request_shop(request: Request, shop_id: uuid.UUID) -> None:
    """Scope the request's session (now, or when it is opened) to the principal's shop."""
    state = request.scope.setdefault("state", {})
    state[BOUND_SHOP_KEY] = shop_id
    session: AsyncSession | None = state.get(REQUEST_SESSION_KEY)
    if session is not None:
        bind_shop(session.sync_session, shop_id)


async def _request_session(request: Request) -> AsyncSession:
    return request_session_of(request)


async def finish_request_session(scope: MutableMapping[str, Any], *, failed: bool) -> None:
    session: AsyncSession | None = scope.get("state", {}).pop(REQUEST_SESSION_KEY, None)
    if session is None:
        return
    if not session.in_transaction():
        return  # nothing was read or written: nothing to end
    try:
        if failed:
            await session.rollback()
        else:
            await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        await session.close()


DbSession = Annotated[AsyncSession, Depends(_request_session)]


async def read_without_transaction(session: AsyncSession) -> None:
    """Let a read-only request run its statements in autocommit: no BEGIN/COMMIT round trips.

    For requests whose reads each stand alone (routing evaluation); a write is then never
    left behind in a transaction. Only when the session owns a pooled connection and has not
    begun yet: a session joined to an outer transaction (the tests') keeps its transaction.
    The pool resets the connection to transactional mode when it is returned.
    """
    if session.in_transaction() or not isinstance(session.bind, AsyncEngine):
        return
    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def uses_engine_connections(factory: async_sessionmaker[AsyncSession]) -> bool:
    """Whether the factory's sessions run on the engine's own connections, so that what they
    read is what is committed (not so for sessions joined to an outer transaction: tests)."""
    return isinstance(factory.kw.get("bind"), AsyncEngine)


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction has committed (never on rollback)."""
    event.listen(session.sync_session, "after_commit", lambda _session: callback(), once=True)
