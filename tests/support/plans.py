"""EXPLAIN the statements a service sends, as the service's role with the shop set."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bloomer_ai.db.session import unit_of_work


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


async def explained_statements(
    session_factory: async_sessionmaker[AsyncSession],
    shop_id: uuid.UUID,
    action: Callable[[AsyncSession], Awaitable[Any]],
    *,
    marker: str,
) -> list[tuple[str, list[dict[str, Any]]]]:
    """Every statement ``action`` sent that contains ``marker``, with the nodes of its
    plan (``EXPLAIN ANALYZE``, run in the same shop-bound transaction)."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        if marker in statement:
            captured.append((statement, parameters))

    async with unit_of_work(session_factory, shop_id=shop_id) as session:
        connection = (await session.connection()).sync_connection
        event.listen(connection, "before_cursor_execute", capture)
        try:
            await action(session)
        finally:
            event.remove(connection, "before_cursor_execute", capture)
        assert captured, f"no statement with {marker!r}"
        explained = []
        for statement, parameters in captured:
            result = await (await session.connection()).exec_driver_sql(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
            )
            explained.append((statement, list(plan_nodes(result.scalar_one()[0]["Plan"]))))
        return explained
