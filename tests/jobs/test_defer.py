"""A job is deferred on the request's own connection, inside its transaction: a committed
request has its job, a rolled-back one has none. The negative control shows why: a plain
defer (procrastinate's own pool) commits its job whatever becomes of the request.

Committed rows on the run's database (a shop of the test's own, deleted afterwards): the
rolled-back test transaction would hide what a commit does.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bloomer_ai.db.engine import DatabaseTarget
from bloomer_ai.db.session import make_session_factory, unit_of_work
from bloomer_ai.db.tenancy import TenancyViolation
from bloomer_ai.jobs.queue import job_queue, new_connector
from bloomer_ai.kit.database_urls import libpq_url
from bloomer_ai.models import Customer, Shop
from factories.core import create_shop
from support.committed import committed_shop
from support.job_tasks import record_effect
from support.sessions import shop_session

JOBS_OF_KEY = text(
    "SELECT id, status, task_name, args FROM procrastinate_jobs WHERE args->>'key' = :key"
)


class Abandoned(Exception):
    """The request fails after its writes: everything it did must go."""


@pytest.fixture
async def shop(engine: AsyncEngine) -> AsyncIterator[Shop]:
    async with committed_shop(engine) as (shop, _secret):
        yield shop


@pytest.fixture
def sessions(app_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The service's sessions on its own role's pool, as a request has them."""
    return make_session_factory(app_engine)


@pytest.fixture
async def key(engine: AsyncEngine) -> AsyncIterator[str]:
    """A key naming this test's jobs; they are deleted afterwards."""
    value = uuid.uuid4().hex
    yield value
    async with engine.begin() as connection:
        await connection.execute(
            text("DELETE FROM procrastinate_jobs WHERE args->>'key' = :key"), {"key": value}
        )


async def jobs_of(engine: AsyncEngine, key: str) -> list[Any]:
    async with engine.connect() as connection:
        return list(await connection.execute(JOBS_OF_KEY, {"key": key}))


async def customers_named(engine: AsyncEngine, name: str) -> int:
    async with engine.connect() as connection:
        found = await connection.execute(select(Customer.id).where(Customer.name == name))
        return len(found.all())


def new_customer(shop: Shop, name: str) -> Customer:
    return Customer(shop_id=shop.id, name=name, phone="+31612345678")


async def test_a_committed_request_always_has_its_job(engine, sessions, shop, key) -> None:
    async with unit_of_work(sessions, shop_id=shop.id) as session:
        session.add(new_customer(shop, key))
        await session.flush()
        job_id = await record_effect.defer(session, key=key)
        # Until the request commits, no other connection sees the row or the job.
        assert await jobs_of(engine, key) == []
        assert await customers_named(engine, key) == 0
    (job,) = await jobs_of(engine, key)
    assert job.id == job_id
    assert (job.status, job.task_name) == ("todo", "tests.record_effect")
    # The job carries the shop the request's session was bound to.
    assert job.args == {"key": key, "shop_id": str(shop.id)}
    assert await customers_named(engine, key) == 1


async def test_a_rolled_back_request_leaves_no_job(engine, sessions, shop, key) -> None:
    with pytest.raises(Abandoned):
        async with unit_of_work(sessions, shop_id=shop.id) as session:
            session.add(new_customer(shop, key))
            await session.flush()
            await record_effect.defer(session, key=key)
            raise Abandoned
    assert await jobs_of(engine, key) == []
    assert await customers_named(engine, key) == 0


async def test_negative_control_a_plain_defer_survives_the_rollback(
    engine, sessions, shop, key, database_target: DatabaseTarget
) -> None:
    connector = new_connector(libpq_url(database_target.url), max_size=2)
    with job_queue.replace_connector(connector):
        async with job_queue.open_async():
            with pytest.raises(Abandoned):
                async with unit_of_work(sessions, shop_id=shop.id) as session:
                    session.add(new_customer(shop, key))
                    await session.flush()
                    # procrastinate's own pool: committed at once, outside the request.
                    await record_effect.task.defer_async(shop_id=str(shop.id), key=key)
                    raise Abandoned
    # An orphan: a job about a change that never happened. Hence ShopTask.defer.
    assert len(await jobs_of(engine, key)) == 1
    assert await customers_named(engine, key) == 0


async def test_a_shops_job_is_deferred_on_a_session_bound_to_the_shop(session_factory) -> None:
    async with session_factory() as session:
        with pytest.raises(TenancyViolation):
            await record_effect.defer(session, key="no shop")
    with pytest.raises(TypeError):
        await record_effect.defer(session, "positional")  # type: ignore[call-arg]


async def test_defer_many_is_one_job_each_for_the_sessions_shop(db) -> None:
    shop = await create_shop(db)
    key = uuid.uuid4().hex
    async with shop_session(db, shop) as session:
        ids = await record_effect.defer_many(
            session, [{"key": key, "hold_seconds": n} for n in (1, 2, 3)]
        )
        assert await record_effect.defer_many(session, []) == []
    rows = (await db.execute(JOBS_OF_KEY, {"key": key})).all()
    assert sorted(row.id for row in rows) == sorted(ids) and len(ids) == 3
    assert {row.args["shop_id"] for row in rows} == {str(shop.id)}
    assert sorted(row.args["hold_seconds"] for row in rows) == [1, 2, 3]


async def test_the_shop_is_taken_from_the_session_not_from_the_arguments(db) -> None:
    shop, other = await create_shop(db), await create_shop(db)
    key = uuid.uuid4().hex
    async with shop_session(db, shop) as session:
        await record_effect.defer_many(session, [{"key": key, "shop_id": str(other.id)}])
    (row,) = (await db.execute(JOBS_OF_KEY, {"key": key})).all()
    assert row.args["shop_id"] == str(shop.id)
