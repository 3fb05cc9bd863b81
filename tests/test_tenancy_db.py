"""Tenancy in the ORM layer (DESIGN.md §2, STYLE "Tenancy that fails closed"): the hook's
readable errors and filters, in front of row-level security.

Sessions come from the test's ``session_factory`` (the app role, in a real PostgreSQL
transaction that is rolled back afterwards); rows are created by the operator session
``db`` (the owner). ``test_row_level_security.py`` proves what the database refuses on
its own, on real engine connections.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bloomer_ai.db.tenancy import TenancyViolation, bind_shop
from bloomer_ai.models import Customer, Order, OrderItem, Shop
from factories.core import create_customer, create_order, create_shop
from support.sessions import operator_session_factory

SHARED_NAME = "Same Name"


@dataclass
class TwoShops:
    a: Shop
    b: Shop
    a_customers: list[Customer]
    b_customers: list[Customer]
    a_order: Order
    b_order: Order


@pytest.fixture
async def shops(db: AsyncSession) -> TwoShops:
    a, b = await create_shop(db, name="Shop A"), await create_shop(db, name="Shop B")
    a_customers = [
        await create_customer(db, a, name=SHARED_NAME),
        await create_customer(db, a, name="Only in A"),
    ]
    b_customers = [
        await create_customer(db, b, name=SHARED_NAME),
        await create_customer(db, b, name="Only in B"),
        await create_customer(db, b, name="Also in B"),
    ]
    a_order = await create_order(db, a, customer_id=a_customers[0].id, number="A-1")
    b_order = await create_order(db, b, customer_id=b_customers[0].id, number="B-1")
    return TwoShops(a, b, a_customers, b_customers, a_order, b_order)


@asynccontextmanager
async def session_for(
    factory: async_sessionmaker[AsyncSession], shop_id: uuid.UUID | None = None
) -> AsyncIterator[AsyncSession]:
    async with factory() as session:
        if shop_id is not None:
            bind_shop(session.sync_session, shop_id)
        # Closing without a commit rolls the session's savepoint back; loaded rows stay
        # readable. Assertions through ``db`` come after the block (the connection runs
        # as the app role while an app session is open).
        yield session


async def names_in(db: AsyncSession, shop: Shop) -> set[str]:
    result = await db.execute(
        text("select name from customers where shop_id = :shop_id"), {"shop_id": shop.id}
    )
    return {row[0] for row in result}


# --- no bound shop: fail closed -----------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(lambda: select(Customer), id="entity"),
        pytest.param(lambda: select(Customer.name), id="column"),
        pytest.param(lambda: select(func.count(Customer.id)), id="aggregate"),
        pytest.param(
            lambda: select(Shop).join(Order, Order.shop_id == Shop.id), id="join-from-unscoped"
        ),
        pytest.param(
            lambda: select(Shop).where(Shop.id.in_(select(Customer.shop_id))), id="subquery"
        ),
        pytest.param(
            lambda: select(Shop.name).where(
                select(Order.id).where(Order.shop_id == Shop.id).exists()
            ),
            id="exists",
        ),
        pytest.param(
            lambda: select(Shop).where(Shop.id.in_(select(Order.shop_id).cte().select())),
            id="cte",
        ),
        pytest.param(lambda: update(Customer).values(name="x"), id="update"),
        pytest.param(lambda: delete(Customer), id="delete"),
    ],
)
async def test_shop_owned_query_without_a_bound_shop_raises(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession], statement: object
) -> None:
    async with session_for(session_factory) as session:
        with pytest.raises(TenancyViolation):
            await session.execute(statement())  # type: ignore[operator]


async def test_get_by_id_without_a_bound_shop_raises(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_for(session_factory) as session:
        with pytest.raises(TenancyViolation):
            await session.get(Customer, shops.a_customers[0].id)


async def test_the_shops_table_shows_only_the_bound_shop(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """``shops`` is not shop-scoped for the ORM (no shop_id), so the hook lets it through;
    row-level security isolates it by its id."""
    wanted = Shop.id.in_([shops.a.id, shops.b.id])
    async with session_for(session_factory) as session:
        unbound = set(await session.scalars(select(Shop.name).where(wanted)))
    async with session_for(session_factory, shops.b.id) as session:
        bound = set(await session.scalars(select(Shop.name).where(wanted)))
    assert unbound == set()
    assert bound == {"Shop B"}


async def test_binding_a_second_shop_is_refused(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_for(session_factory, shops.a.id) as session:
        bind_shop(session.sync_session, shops.a.id)  # the same shop again is fine
        with pytest.raises(TenancyViolation):
            bind_shop(session.sync_session, shops.b.id)


# --- bound shop: filtered reads -----------------------------------------------------------


async def test_bound_select_sees_only_its_shop(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_for(session_factory, shops.a.id) as session:
        customers = list(await session.scalars(select(Customer)))
        count = await session.scalar(select(func.count()).select_from(Customer))
        names = set(await session.scalars(select(Customer.name)))
    assert {c.id for c in customers} == {c.id for c in shops.a_customers}
    assert count == 2
    assert names == {SHARED_NAME, "Only in A"}


async def test_bound_get_of_another_shops_row_finds_nothing(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_for(session_factory, shops.a.id) as session:
        assert await session.get(Customer, shops.b_customers[0].id) is None
        assert await session.get(Order, shops.b_order.id) is None
        own = await session.get(Customer, shops.a_customers[0].id)
    assert own is not None and own.shop_id == shops.a.id


async def test_bound_select_ignores_an_explicit_filter_on_another_shop(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_for(session_factory, shops.a.id) as session:
        rows = list(await session.scalars(select(Customer).where(Customer.shop_id == shops.b.id)))
    assert rows == []


async def test_bound_join_filters_both_sides(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_for(session_factory, shops.b.id) as session:
        pairs = (
            await session.execute(
                select(Order.number, Customer.name).join(Customer, Customer.id == Order.customer_id)
            )
        ).all()
        # A join on a condition that crosses shops: the other side is filtered too.
        other = aliased(Customer)
        crossed = (
            await session.execute(
                select(Customer.id, other.id).join(other, other.name == Customer.name)
            )
        ).all()
        order_ids = set(
            await session.scalars(select(Order.id).join(Customer, Customer.id == Order.customer_id))
        )
    assert pairs == [("B-1", SHARED_NAME)]
    b_ids = {c.id for c in shops.b_customers}
    assert crossed and all(left in b_ids and right in b_ids for left, right in crossed)
    # Each B customer matches only itself by name: A's namesake is invisible.
    assert len(crossed) == 3
    assert order_ids == {shops.b_order.id}


async def test_bound_join_from_a_shared_table_is_filtered(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_for(session_factory, shops.a.id) as session:
        names = set(
            await session.scalars(
                select(Shop.name).join(Order, Order.shop_id == Shop.id).distinct()
            )
        )
    assert names == {"Shop A"}


async def test_bound_subquery_is_filtered(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_for(session_factory, shops.a.id) as session:
        # The outer table is not shop-owned; the subquery over customers still is.
        shop_names = set(
            await session.scalars(
                select(Shop.name).where(
                    Shop.id.in_([shops.a.id, shops.b.id]),
                    Shop.id.in_(select(Customer.shop_id)),
                )
            )
        )
    assert shop_names == {"Shop A"}


# --- bound shop: writes -------------------------------------------------------------------


async def test_bound_update_touches_only_its_shop(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    async with session_for(session_factory, shops.a.id) as session:
        result = await session.execute(
            update(Customer).where(Customer.name == SHARED_NAME).values(name="Renamed")
        )
        assert result.rowcount == 1  # type: ignore[attr-defined]
        everyone = await session.execute(update(Customer).values(email=None))
        assert everyone.rowcount == 2  # type: ignore[attr-defined]
        await session.commit()
    assert await names_in(db, shops.a) == {"Renamed", "Only in A"}
    assert await names_in(db, shops.b) == {SHARED_NAME, "Only in B", "Also in B"}
    b_emails = await db.scalar(
        text("select count(email) from customers where shop_id = :s"), {"s": shops.b.id}
    )
    assert b_emails == 3


async def test_bound_delete_touches_only_its_shop(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    async with session_for(session_factory, shops.b.id) as session:
        result = await session.execute(delete(Customer).where(Customer.name.like("Only in %")))
        assert result.rowcount == 1  # type: ignore[attr-defined]
        await session.commit()
    assert await names_in(db, shops.a) == {SHARED_NAME, "Only in A"}
    assert await names_in(db, shops.b) == {SHARED_NAME, "Also in B"}


async def test_bound_orm_update_of_a_loaded_row_works(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    async with session_for(session_factory, shops.a.id) as session:
        customer = await session.scalar(select(Customer).where(Customer.name == "Only in A"))
        assert customer is not None
        customer.name = "Changed in A"
        await session.commit()
    assert await names_in(db, shops.a) == {SHARED_NAME, "Changed in A"}


# --- no way around it from an app session -------------------------------------------------


async def test_an_execution_option_does_not_unscope_a_statement(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """``execution_options(unscoped=True)`` once skipped the hook; it is a free string any
    code could pass, so it means nothing now."""
    statement = select(Customer.id).execution_options(unscoped=True)
    async with session_for(session_factory) as unbound:
        with pytest.raises(TenancyViolation):
            await unbound.scalars(statement)
    async with session_for(session_factory, shops.a.id) as bound:
        seen = set(await bound.scalars(statement))
    assert seen == {c.id for c in shops.a_customers}


async def test_the_operator_session_acts_across_shops(shops: TwoShops, db: AsyncSession) -> None:
    ours = {c.id for c in shops.a_customers + shops.b_customers}
    assert set(await db.scalars(select(Customer.id))) & ours == ours


# --- writes at flush ----------------------------------------------------------------------


async def test_adding_a_row_of_another_shop_raises_at_flush(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    async with session_for(session_factory, shops.a.id) as session:
        session.add(Customer(shop_id=shops.b.id, name="Smuggled"))
        with pytest.raises(TenancyViolation):
            await session.flush()
    assert "Smuggled" not in await names_in(db, shops.b)


async def test_moving_a_row_to_another_shop_raises_at_flush(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_for(session_factory, shops.a.id) as session:
        customer = await session.get(Customer, shops.a_customers[1].id)
        assert customer is not None
        customer.shop_id = shops.b.id
        with pytest.raises(TenancyViolation):
            await session.flush()


async def test_adding_a_shop_owned_row_without_a_bound_shop_raises(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_for(session_factory) as session:
        session.add(Customer(shop_id=shops.a.id, name="Nobody bound"))
        with pytest.raises(TenancyViolation):
            await session.flush()


async def test_a_new_row_without_a_shop_gets_the_bound_shop(
    shops: TwoShops, session_factory: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    async with session_for(session_factory, shops.b.id) as session:
        customer = Customer(name="Walk-in")
        order = Order(number="B-2", customer_id=shops.b_customers[1].id)
        session.add_all([customer, order])
        await session.flush()
        assert customer.shop_id == shops.b.id
        assert order.shop_id == shops.b.id
        await session.commit()
    assert "Walk-in" in await names_in(db, shops.b)
    assert "Walk-in" not in await names_in(db, shops.a)


# --- the database itself refuses cross-shop links -----------------------------------------


def constraint_of(error: IntegrityError) -> str | None:
    return getattr(getattr(error.orig, "diag", None), "constraint_name", None)


async def operator(db: AsyncSession) -> AsyncSession:
    connection: Any = await db.connection()
    return operator_session_factory(connection)()


async def test_composite_fk_refuses_an_order_pointing_at_another_shops_customer(
    shops: TwoShops, db: AsyncSession
) -> None:
    async with await operator(db) as session:
        session.add(Order(shop_id=shops.a.id, number="A-X", customer_id=shops.b_customers[0].id))
        with pytest.raises(IntegrityError) as caught:
            await session.flush()
    assert constraint_of(caught.value) == "fk_orders_shop_customer"


async def test_composite_fk_refuses_a_raw_sql_cross_shop_link(
    shops: TwoShops, db: AsyncSession
) -> None:
    async with await operator(db) as session:
        with pytest.raises(IntegrityError) as caught:
            await session.execute(
                text("update orders set customer_id = :customer where id = :order"),
                {"customer": shops.b_customers[1].id, "order": shops.a_order.id},
            )
    assert constraint_of(caught.value) == "fk_orders_shop_customer"


async def test_composite_fk_refuses_an_item_of_another_shops_order(
    shops: TwoShops, db: AsyncSession
) -> None:
    async with await operator(db) as session:
        session.add(
            OrderItem(
                shop_id=shops.b.id, order_id=shops.a_order.id, product_type="bouquet", name="X"
            )
        )
        with pytest.raises(IntegrityError) as caught:
            await session.flush()
    assert constraint_of(caught.value) == "fk_order_items_shop_order"


async def test_same_shop_link_is_accepted(shops: TwoShops, db: AsyncSession) -> None:
    async with await operator(db) as session:
        order = Order(shop_id=shops.a.id, number="A-2", customer_id=shops.a_customers[1].id)
        session.add(order)
        await session.flush()
        assert order.id is not None


async def test_orm_insert_statements_are_checked_too(session_factory, db):
    """Rows given as parameters are refused by the hook; values written into the statement
    by the database (the policy's WITH CHECK)."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.exc import ProgrammingError

    mine = await create_shop(db)
    theirs = await create_shop(db)
    async with session_factory() as session:
        bind_shop(session.sync_session, mine.id)
        await session.execute(pg_insert(Customer).values(shop_id=mine.id, name="Mine"))
        with pytest.raises(TenancyViolation):
            await session.execute(
                pg_insert(Customer),
                [{"shop_id": mine.id, "name": "a"}, {"shop_id": theirs.id, "name": "b"}],
            )
        with pytest.raises(ProgrammingError) as refused:
            async with session.begin_nested():
                await session.execute(pg_insert(Customer).values(shop_id=theirs.id, name="B"))
        assert refused.value.orig.sqlstate == "42501"  # row-level security policy
        await session.rollback()
    async with session_factory() as session:
        with pytest.raises(TenancyViolation):
            await session.execute(pg_insert(Customer).values(shop_id=mine.id, name="Nobody's"))
        await session.rollback()
