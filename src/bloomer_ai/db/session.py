"""Session factories and units of work outside a request (jobs, auth look-ups, the CLI).

Two kinds of session, by the connection they run on:

* ``TenantSession`` (the service's role): every transaction it begins first sets
  ``app.shop_id`` to the bound shop (``''`` when none), transaction-local, so row-level
  security sees only that shop and nothing outlives the transaction on a pooled
  connection (or behind a transaction-mode pooler).
* ``OperatorSession`` (the tables' owner: CLI, demo seeder): acts across shops.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from bloomer_ai.db.tenancy import OperatorSession, bind_shop, bound_shop_id

# Written in the driver's own parameter style and sent as is: the statement runs at the
# start of every transaction, and needs no compilation.
SET_SHOP = "SELECT set_config('app.shop_id', %(shop_id)s, true)"


class TenantSession(Session):
    """A session of the service's own role: its transactions run for the bound shop."""


@event.listens_for(TenantSession, "after_begin")
def _set_shop_for_the_transaction(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    # Always set, '' when no shop is bound: a value left by an earlier transaction on the
    # same connection (a released savepoint keeps it) must never be read as this one's.
    shop_id = bound_shop_id(session)
    connection.exec_driver_sql(SET_SHOP, {"shop_id": str(shop_id) if shop_id is not None else ""})


def make_session_factory(
    bind: Any, *, session_class: type[Session] = TenantSession, **options: Any
) -> async_sessionmaker[AsyncSession]:
    """Sessions of the service (``TenantSession``) on ``bind``, an engine or a connection."""
    return async_sessionmaker(
        bind,
        expire_on_commit=False,
        autoflush=False,
        sync_session_class=session_class,
        **options,
    )


def make_operator_session_factory(bind: Any) -> async_sessionmaker[AsyncSession]:
    """Sessions on the owner's connection, for operator commands."""
    return make_session_factory(bind, session_class=OperatorSession)


@asynccontextmanager
async def unit_of_work(
    factory: async_sessionmaker[AsyncSession], *, shop_id: uuid.UUID | None = None
) -> AsyncIterator[AsyncSession]:
    """One transaction: committed when the block ends cleanly, rolled back otherwise."""
    async with factory() as session:
        if shop_id is not None:
            bind_shop(session.sync_session, shop_id)
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction has committed (never on rollback)."""
    event.listen(session.sync_session, "after_commit", lambda _session: callback(), once=True)
