"""Shop scoping that fails closed.

Every ORM statement runs through ``do_orm_execute``. With a shop bound to the session
(``bind_shop``), statements get ``with_loader_criteria(ShopScoped, shop_id == bound)``,
joins and relationship loads included. With none bound, a statement touching a shop-owned
table raises, unless it was marked ``execution_options(unscoped=True)`` (a named
``unscoped_…`` repository method, with a comment saying why). New shop-owned rows are
checked at flush time: they must belong to the bound shop.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.util import find_tables

from bloomer_ai.models.base import Base, ShopScoped

SHOP_ID_KEY = "bloomer_shop_id"
UNSCOPED_OPTION = "unscoped"


class TenancyViolation(RuntimeError):
    """A query or write that would cross shops or ignore scoping: a bug, never user error."""


def bind_shop(session: Session, shop_id: uuid.UUID) -> None:
    bound = session.info.get(SHOP_ID_KEY)
    if bound is not None and bound != shop_id:
        raise TenancyViolation("session is already bound to another shop")
    session.info[SHOP_ID_KEY] = shop_id


def bound_shop_id(session: Session) -> uuid.UUID | None:
    value = session.info.get(SHOP_ID_KEY)
    return value if isinstance(value, uuid.UUID) else None


def _touches_shop_scoped(state: ORMExecuteState) -> bool:
    if any(
        mapper.class_ is not None and issubclass(mapper.class_, ShopScoped)
        for mapper in state.all_mappers
    ):
        return True
    # all_mappers holds only the top-level entities: look into joins, subqueries and CTEs too.
    scoped_tables = {
        mapper.local_table
        for mapper in Base.registry.mappers
        if mapper.class_ is not None and issubclass(mapper.class_, ShopScoped)
    }
    tables = find_tables(
        cast(ClauseElement, state.statement),
        check_columns=True,
        include_aliases=True,
        include_joins=True,
        include_selects=True,
        include_crud=True,
    )
    return any(table in scoped_tables for table in tables)


def _inserted_shop_ids(state: ORMExecuteState) -> list[Any]:
    """The shop_id of every row an ORM-enabled INSERT writes (MISSING when absent)."""
    found: list[Any] = []
    values = getattr(state.statement, "_values", None) or {}
    for column, value in values.items():
        if getattr(column, "key", column) == "shop_id":
            found.append(getattr(value, "value", value))
    parameters = state.parameters
    rows: list[Mapping[str, Any]] = (
        list(parameters)
        if isinstance(parameters, list)
        else [parameters]
        if isinstance(parameters, Mapping) and parameters
        else []
    )
    for row in rows:
        found.append(row.get("shop_id", _MISSING))
    if not found:
        found.append(_MISSING)
    return found


_MISSING = object()


def _check_insert(state: ORMExecuteState) -> None:
    if state.execution_options.get(UNSCOPED_OPTION, False):
        return
    if not _touches_shop_scoped(state):
        return
    shop_id = bound_shop_id(state.session)
    if shop_id is None:
        if state.session.info.get(UNSCOPED_OPTION):
            return
        raise TenancyViolation("insert into a shop-owned table without a bound shop")
    if any(value != shop_id for value in _inserted_shop_ids(state)):
        raise TenancyViolation("insert of a row belonging to another shop")


@event.listens_for(Session, "do_orm_execute")
def _scope_orm_statements(state: ORMExecuteState) -> None:
    if state.is_insert:
        _check_insert(state)
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get(UNSCOPED_OPTION, False):
        return
    if state.session.info.get(UNSCOPED_OPTION) and bound_shop_id(state.session) is None:
        return  # an operator or job session that acts across shops on purpose
    shop_id = bound_shop_id(state.session)
    if shop_id is None:
        if _touches_shop_scoped(state):
            raise TenancyViolation(
                "query of a shop-owned table without a bound shop; bind the request's shop "
                "or use a named unscoped_ repository method"
            )
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            ShopScoped,
            lambda cls: cls.shop_id == shop_id,
            include_aliases=True,
            track_closure_variables=False,
        )
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
            if not session.info.get(UNSCOPED_OPTION):
                raise TenancyViolation("write of a shop-owned row without a bound shop")
            continue
        if obj.shop_id is None:
            obj.shop_id = shop_id
        elif obj.shop_id != shop_id:
            raise TenancyViolation("write of a row belonging to another shop")
