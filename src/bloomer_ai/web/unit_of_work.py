"""The request's unit of work: one session per request, opened on first use, bound to the
principal's shop, committed after the endpoint returns and before the response is sent.

``JsonRoute`` ends it (commit on success, rollback on error); ``RequestContextMiddleware``
rolls back one that a route outside ``JsonRoute`` left open. A request that never touches
the database costs no round trip.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bloomer_ai.db.tenancy import bind_shop

log = structlog.get_logger("bloomer_ai.web")

REQUEST_SESSION_KEY = "db_session"
BOUND_SHOP_KEY = "bound_shop_id"
BEFORE_COMMIT_KEY = "before_commit"

BeforeCommit = Callable[[Response], Awaitable[None]]


def request_session_of(request: Request) -> AsyncSession:
    """The request's session, created on first use (the transaction begins on first use
    of the session, after ``Access`` has bound the principal's shop)."""
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


def before_commit(request: Request, step: BeforeCommit) -> None:
    """Run ``step`` with the endpoint's response in the request's transaction, just before
    it commits (``JsonRoute``): what it writes commits with the endpoint's effects, and if
    it fails, the request fails and nothing commits (the idempotency store keeps answers
    this way)."""
    request.scope.setdefault("state", {}).setdefault(BEFORE_COMMIT_KEY, []).append(step)


async def run_before_commit(scope: MutableMapping[str, Any], response: Response) -> None:
    for step in scope.get("state", {}).pop(BEFORE_COMMIT_KEY, []):
        await step(response)


async def finish_request_session(scope: MutableMapping[str, Any], *, failed: bool) -> None:
    session: AsyncSession | None = scope.get("state", {}).pop(REQUEST_SESSION_KEY, None)
    if session is None or not session.in_transaction():
        return  # nothing was read or written (or it has ended already): nothing to end
    try:
        if failed:
            await _rollback_quietly(session)
        else:
            await session.commit()
    except BaseException:
        await _rollback_quietly(session)
        raise
    finally:
        with contextlib.suppress(Exception):
            await session.close()


async def _rollback_quietly(session: AsyncSession) -> None:
    """Roll back; on a connection that is gone the rollback fails too, and the error that
    matters is the one already being answered."""
    try:
        await session.rollback()
    except Exception as exc:
        log.warning("rollback_failed", error_type=type(exc).__name__)


async def _shop_session(request: Request) -> AsyncSession:
    return request_session_of(request)


ShopSession = Annotated[AsyncSession, Depends(_shop_session)]
"""The request's session, bound to the shop of the route's principal (declare ``Access``)."""
