"""Sessions for tests: the app role's, on the test's own connection and transaction.

The test's connection belongs to the owner (the factories write as the owner). An app
session switches the connection to the app role when its transaction begins (``SET LOCAL
ROLE``, undone if its savepoint is rolled back) and back when it ends (``RESET ROLE``,
since a released savepoint keeps the setting), so row-level security applies to the app
and to nothing else. Rows the owner wrote are visible to it (one transaction).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from bloomer_ai.db.session import TenantSession, make_session_factory, unit_of_work
from bloomer_ai.db.tenancy import OperatorSession
from bloomer_ai.models import Shop

OWNER_ROLE = "bloomer_test_owner"
APP_ROLE = "bloomer_test_app"


class AppRoleSession(TenantSession):
    """A ``TenantSession`` that runs as the app role on the owner's test connection."""


@event.listens_for(AppRoleSession, "after_begin")
def _as_the_app(_session: Session, _transaction: SessionTransaction, conn: Connection) -> None:
    conn.exec_driver_sql(f"SET LOCAL ROLE {APP_ROLE}")


@event.listens_for(AppRoleSession, "after_transaction_end")
def _back_to_the_owner(session: Session, transaction: SessionTransaction) -> None:
    shared = session.bind
    if transaction.parent is None and isinstance(shared, Connection) and shared.in_transaction():
        shared.exec_driver_sql("RESET ROLE")


def app_session_factory(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(
        connection, session_class=AppRoleSession, join_transaction_mode="create_savepoint"
    )


def operator_session_factory(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(
        connection, session_class=OperatorSession, join_transaction_mode="create_savepoint"
    )


@asynccontextmanager
async def shop_session(db: AsyncSession, shop: Shop) -> AsyncIterator[AsyncSession]:
    """A session of the app role bound to ``shop`` on ``db``'s connection, as a request or
    a job of that shop would have one (it sees ``db``'s rows; ``db`` sees what it writes)."""
    connection: Any = await db.connection()
    async with unit_of_work(app_session_factory(connection), shop_id=shop.id) as session:
        yield session
