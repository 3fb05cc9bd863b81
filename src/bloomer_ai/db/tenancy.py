"""Shop scoping in the ORM: the early, readable error in front of row-level security.

PostgreSQL enforces shop isolation (row-level security on every shop-owned table, the
shop set per transaction by ``TenantSession``; migration ``0006``). This hook makes the
mistakes readable before the database refuses them:

* Every ORM statement runs through ``do_orm_execute``. With a shop bound to the session
  (``bind_shop``), statements get ``with_loader_criteria(ShopScoped, shop_id == bound)``,
  joins and relationship loads included. With none bound, a statement touching a
  shop-owned table raises ``TenancyViolation`` — unless the session is an
  ``OperatorSession`` (the owner's connection: CLI, demo seeder, migrations), the one
  place that acts across shops on purpose.
* New and changed shop-owned rows are checked at flush time: they must belong to the
  bound shop (a new row without one gets it).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.util import find_tables

from bloomer_ai.models.base import Base, ShopScoped

SHOP_ID_KEY = "bloomer_shop_id"


class TenancyViolation(RuntimeError):
    """A query or write that would cross shops or ignore scoping: a bug, never user error."""


class OperatorSession(Session):
    """A session on the owner's connection (operator commands, the demo seeder): it may
    act across shops, and row-level security lets its role (the tables' owner) do so."""


def bind_shop(session: Session, shop_id: uuid.UUID) -> None:
    bound = session.info.get(SHOP_ID_KEY)
    if bound is not None and bound != shop_id:
        raise TenancyViolation("session is already bound to another shop")
    if bound is None and session.in_transaction() and not isinstance(session, OperatorSession):
        # The shop is set in the database when a transaction begins: bind first.
        raise TenancyViolation("bind the shop before the session's first statement")
    session.info[SHOP_ID_KEY] = shop_id


def bound_shop_id(session: Session) -> uuid.UUID | None:
    value = session.info.get(SHOP_ID_KEY)
    return value if isinstance(value, uuid.UUID) else None


def _scoped_tables() -> set[Any]:
    return {
        mapper.local_table
        for mapper in Base.registry.mappers
        if mapper.class_ is not None and issubclass(mapper.class_, ShopScoped)
    }


def _touches_shop_scoped(state: ORMExecuteState) -> bool:
    if any(
        mapper.class_ is not None and issubclass(mapper.class_, ShopScoped)
        for mapper in state.all_mappers
    ):
        return True
    # all_mappers holds only the top-level entities: look into joins, subqueries and CTEs too.
    tables = find_tables(
        cast(ClauseElement, state.statement),
        check_columns=True,
        include_aliases=True,
        include_joins=True,
        include_selects=True,
        include_crud=True,
    )
    scoped = _scoped_tables()
    return any(table in scoped for table in tables)


def _check_insert(state: ORMExecuteState) -> None:
    if isinstance(state.session, OperatorSession) or not _touches_shop_scoped(state):
        return
    shop_id = bound_shop_id(state.session)
    if shop_id is None:
        raise TenancyViolation("insert into a shop-owned table without a bound shop")
    parameters = state.parameters
    rows: list[Mapping[str, Any]] = (
        list(parameters)
        if isinstance(parameters, list)
        else [parameters]
        if isinstance(parameters, Mapping) and parameters
        else []
    )
    # Rows given as parameters are checked here; values written into the statement are
    # checked by the database (the row-level security policy's WITH CHECK).
    if any("shop_id" in row and row["shop_id"] != shop_id for row in rows):
        raise TenancyViolation("insert of a row belonging to another shop")


@event.listens_for(Session, "do_orm_execute")
def _scope_orm_statements(state: ORMExecuteState) -> None:
    # Core statements (tables, text()) are not the ORM's to filter: row-level security
    # holds them, and the repositories that write them name shop_id themselves.
    if not state.is_orm_statement:
        return
    if state.is_insert:
        _check_insert(state)
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    shop_id = bound_shop_id(state.session)
    if shop_id is None:
        if isinstance(state.session, OperatorSession):
            return  # an operator session that acts across shops on purpose
        if _touches_shop_scoped(state):
            raise TenancyViolation(
                "query of a shop-owned table without a bound shop; bind the request's shop "
                "(lookups before a shop is known go through the auth_… functions)"
            )
        return
    state.statement = state.statement.options(_criteria_for(shop_id))


@functools.lru_cache(maxsize=4096)
def _criteria_for(shop_id: uuid.UUID) -> Any:
    """The loader criteria of one shop, built once (building it analyses a lambda)."""
    return with_loader_criteria(
        ShopScoped,
        lambda cls: cls.shop_id == shop_id,
        include_aliases=True,
        track_closure_variables=False,
    )


@event.listens_for(Session, "before_flush")
def _check_new_rows_belong_to_bound_shop(
    session: Session, _flush_context: Any, _instances: Any
) -> None:
    shop_id = bound_shop_id(session)
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, ShopScoped):
            continue
        if shop_id is None:
            if not isinstance(session, OperatorSession):
                raise TenancyViolation("write of a shop-owned row without a bound shop")
            continue
        if obj.shop_id is None:
            obj.shop_id = shop_id
        elif obj.shop_id != shop_id:
            raise TenancyViolation("write of a row belonging to another shop")
