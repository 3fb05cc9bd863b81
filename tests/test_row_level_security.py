"""Shop isolation enforced by PostgreSQL (migration 0006), proven on real engine connections
of the app role with committed rows — not on the tests' shared savepoint connection, whose
one transaction would hide what a pooled connection carries from one user to the next.

The ORM hook (``test_tenancy_db.py``) gives the readable error first; here every way
around it is tried, and the database refuses each.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bloomer_ai.config import DatabaseSettings
from bloomer_ai.db.engine import DatabaseTarget, create_engine
from bloomer_ai.db.roles import role_protection
from bloomer_ai.db.session import make_operator_session_factory, make_session_factory, unit_of_work
from bloomer_ai.db.tenancy import TenancyViolation, bind_shop
from bloomer_ai.main import create_app
from bloomer_ai.models import ApiKey, Customer, Order, Shop
from conftest import make_settings
from factories.core import add_member, create_customer, create_order, create_shop, create_user
from support.auth import bearer, database_session, issue_key, key_headers
from support.routing import BIG_ORDERS, EVALUATE, ORDER, RULES


@dataclass
class World:
    a: uuid.UUID
    b: uuid.UUID
    a_customers: int
    b_customers: int


@pytest.fixture
async def world(engine: AsyncEngine) -> AsyncIterator[World]:
    """Two committed shops with customers and orders, deleted afterwards."""
    factory = make_operator_session_factory(engine)
    async with unit_of_work(factory) as session:
        a, b = await create_shop(session, name="RLS A"), await create_shop(session, name="RLS B")
        for shop, count in ((a, 2), (b, 3)):
            for _ in range(count):
                customer = await create_customer(session, shop)
                await create_order(session, shop, customer_id=customer.id)
    try:
        yield World(a.id, b.id, 2, 3)
    finally:
        async with unit_of_work(factory) as session:
            await session.execute(delete(Shop).where(Shop.id.in_([a.id, b.id])))


@pytest.fixture
def sessions(app_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The service's own sessions on the app role's pool."""
    return make_session_factory(app_engine)


async def count(session: AsyncSession, sql: str) -> int:
    return int((await session.execute(text(sql))).scalar_one())


# --- the schema --------------------------------------------------------------------------------


async def test_every_shop_owned_table_is_isolated_enabled_and_forced(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        tables = {
            row.table_name
            for row in await connection.execute(
                text(
                    "SELECT table_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND column_name = 'shop_id'"
                )
            )
        } | {"shops"}
        flags = {
            row.relname: (row.relrowsecurity, row.relforcerowsecurity)
            for row in await connection.execute(
                text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
                )
            )
        }
        policies = {
            (row.tablename, row.policyname): (row.qual, row.with_check, row.roles)
            for row in await connection.execute(
                text("SELECT tablename, policyname, qual, with_check, roles FROM pg_policies")
            )
        }
    assert len(tables) >= 11
    for table in tables:
        assert flags[table] == (True, True), f"{table}: row-level security not enabled and forced"
        using, check, roles = policies[(table, "shop_isolation")]
        column = "id" if table == "shops" else "shop_id"
        for clause in (using, check):
            assert f"{column} = (NULLIF(current_setting('app.shop_id'::text, true)" in clause
        assert roles == ["public"]
        assert (table, "operator_access") in policies


async def test_the_service_role_is_held_by_row_level_security(
    app_engine: AsyncEngine, engine: AsyncEngine
) -> None:
    app = await role_protection(app_engine)
    assert app.protected, app.reasons()
    owner = await role_protection(engine)
    assert not owner.protected and owner.reasons() == ["owns the tables"]


# --- one shop bound: only its rows, whatever the statement ----------------------------------


async def test_every_kind_of_read_sees_only_the_bound_shop(world: World, sessions) -> None:
    async with unit_of_work(sessions, shop_id=world.a) as session:
        # Core on the table itself: the ORM hook never sees it.
        orders = Order.__table__
        core = (await session.execute(select(orders.c.shop_id))).scalars().all()
        from_table = await session.scalar(select(func.count()).select_from(orders))
        raw_text = await count(session, "select count(*) from customers")
        cte = await count(
            session, "with every as (select * from orders) select count(*) from every"
        )
        joined = await count(
            session, "select count(*) from orders o join customers c on c.id = o.customer_id"
        )
        shops = await count(session, "select count(*) from shops")
        # A raw psycopg cursor on the very connection the session uses.
        connection = await session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        async with raw.cursor() as cursor:
            await cursor.execute("select count(*), min(shop_id::text) from customers")
            raw_count, raw_shop = await cursor.fetchone()
    assert set(core) == {world.a}
    assert from_table == world.a_customers
    assert raw_text == cte == joined == raw_count == world.a_customers
    assert shops == 1
    assert raw_shop == str(world.a)


async def test_writes_cannot_reach_or_move_rows_of_another_shop(
    world: World, sessions, engine: AsyncEngine
) -> None:
    async with unit_of_work(sessions, shop_id=world.a) as session:
        touched = await session.execute(
            text("update customers set name = 'hijacked' where shop_id = :b"), {"b": world.b}
        )
        deleted = await session.execute(
            text("delete from orders where shop_id = :b"), {"b": world.b}
        )
        assert touched.rowcount == 0  # type: ignore[attr-defined]
        assert deleted.rowcount == 0  # type: ignore[attr-defined]
    for statement, parameters in (
        # Moving A's rows to B (the review's update(Customer).values(shop_id=B)).
        (update(Customer).values(shop_id=world.b), None),
        (text("update customers set shop_id = :b"), {"b": world.b}),
        (
            text("insert into customers (id, shop_id, name) values (:id, :b, 'x')"),
            {"id": uuid.uuid4(), "b": world.b},
        ),
    ):
        with pytest.raises(ProgrammingError) as refused:
            async with unit_of_work(sessions, shop_id=world.a) as session:
                await session.execute(statement, parameters)
        assert refused.value.orig.sqlstate == "42501"
    async with unit_of_work(make_operator_session_factory(engine)) as owner:
        b_names = set(await owner.scalars(select(Customer.name).where(Customer.shop_id == world.b)))
        b_count = await owner.scalar(
            select(func.count()).select_from(Customer).where(Customer.shop_id == world.b)
        )
    assert "hijacked" not in b_names and "x" not in b_names
    assert b_count == world.b_customers


async def test_no_shop_set_shows_nothing_and_accepts_nothing(world: World, sessions) -> None:
    async with unit_of_work(sessions) as session:
        assert await count(session, "select count(*) from customers") == 0
        assert await count(session, "select count(*) from shops") == 0
    with pytest.raises(ProgrammingError):
        async with unit_of_work(sessions) as session:
            await session.execute(
                text("insert into customers (id, shop_id, name) values (:id, :a, 'x')"),
                {"id": uuid.uuid4(), "a": world.a},
            )


async def test_the_orm_hook_gives_its_readable_error_first(world: World, sessions) -> None:
    async with unit_of_work(sessions) as session:
        with pytest.raises(TenancyViolation):
            await session.execute(select(Customer))


async def test_a_pooled_connection_carries_no_shop_to_its_next_user(
    world: World, database_target: DatabaseTarget
) -> None:
    engine = create_engine(
        database_target, DatabaseSettings(db_pool_size=1, db_max_overflow=0, _env_file=None)
    )
    factory = make_session_factory(engine)
    try:
        pids = set()
        for ending in ("commit", "rollback", "error", "close"):
            async with factory() as session:
                bind_shop(session.sync_session, world.a)
                pids.add(await session.scalar(text("select pg_backend_pid()")))
                assert await count(session, "select count(*) from customers") == world.a_customers
                if ending == "commit":
                    await session.commit()
                elif ending == "rollback":
                    await session.rollback()
                elif ending == "error":
                    with pytest.raises(DBAPIError):
                        await session.execute(text("select 1/0"))
            async with factory() as after:
                pids.add(await after.scalar(text("select pg_backend_pid()")))
                setting = await after.scalar(text("select current_setting('app.shop_id', true)"))
                assert setting == ""
                assert await count(after, "select count(*) from customers") == 0
        assert len(pids) == 1  # one and the same pooled connection throughout
    finally:
        await engine.dispose()


# --- lookups before the shop is known --------------------------------------------------------


async def test_the_service_reads_keys_sessions_and_users_only_through_the_functions(
    world: World, sessions, engine: AsyncEngine
) -> None:
    factory = make_operator_session_factory(engine)
    async with unit_of_work(factory) as owner:
        shop = await owner.get(Shop, world.a)
        assert shop is not None
        _, secret = await issue_key(owner, shop)
        prefix = secret.split("_")[1]
    async with unit_of_work(sessions) as session:
        assert await count(session, "select count(*) from api_keys") == 0
        found = (
            await session.execute(text("select shop_id from auth_api_key(:p)"), {"p": prefix})
        ).all()
        assert [row.shop_id for row in found] == [world.a]
    for table in ("sessions", "users"):
        with pytest.raises(ProgrammingError) as denied:
            async with unit_of_work(sessions) as session:
                await session.execute(text(f"select count(*) from {table}"))
        assert denied.value.orig.sqlstate == "42501"  # permission denied


# --- the app as deployed: the app role, the real pool ------------------------------------------


@pytest.fixture
async def served(world: World, database_target: DatabaseTarget, engine: AsyncEngine):
    factory = make_operator_session_factory(engine)
    async with unit_of_work(factory) as owner:
        shop = await owner.get(Shop, world.a)
        assert shop is not None
        _, secret = await issue_key(owner, shop)
        user = await create_user(owner)
        await add_member(owner, shop, user)
        token = await database_session(owner, user.id)
    app = create_app(make_settings(database_target.operator_url), database=database_target)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://rls") as client,
    ):
        yield app, client, key_headers(secret), bearer(token)


async def test_api_keys_and_sessions_authenticate_and_evaluate_matches_on_a_cold_cache(
    served,
) -> None:
    _app, client, key, session = served
    for headers in (key, session):
        me = await client.get("/api/ai/me", headers=headers)
        assert me.status_code == 200, me.text
        assert me.json()["shop"]["name"] == "RLS A"
    rule = (await client.post(RULES, json=BIG_ORDERS, headers=key)).json()
    # A fresh app: its cache is cold, the rule set is read under the request's shop.
    result = (await client.post(EVALUATE, json=ORDER, headers=key)).json()
    assert result["matchedRuleIds"] == [rule["id"]]
    assert (await client.get("/api/ai/orders", headers=key)).json()["items"]


async def eventually(check: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():  # type: ignore[misc]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_key_revoked_elsewhere_is_refused_at_once(served, engine: AsyncEngine) -> None:
    """Revoked by an operator command (another process): the change feed evicts the cached
    key long before PRINCIPAL_CACHE_SECONDS."""
    app, client, key, _session = served
    assert (await client.get("/api/ai/me", headers=key)).status_code == 200  # cached now
    secret = key["Authorization"].removeprefix("Bearer ")
    async with unit_of_work(make_operator_session_factory(engine)) as owner:
        await owner.execute(
            update(ApiKey)
            .where(ApiKey.prefix == secret.split("_")[1])
            .values(revoked_at=func.now())
        )
    assert app.state.settings.auth.principal_cache_seconds >= 30

    async def refused() -> bool:
        return (await client.get("/api/ai/me", headers=key)).status_code == 401

    await eventually(refused, timeout=5)


async def test_a_removed_membership_is_refused_at_once(served, engine: AsyncEngine, world) -> None:
    _app, client, _key, session = served
    assert (await client.get("/api/ai/me", headers=session)).status_code == 200
    from bloomer_ai.models import ShopMember

    async with unit_of_work(make_operator_session_factory(engine)) as owner:
        await owner.execute(delete(ShopMember).where(ShopMember.shop_id == world.a))

    async def refused() -> bool:
        return (await client.get("/api/ai/me", headers=session)).status_code == 403

    await eventually(refused, timeout=5)
