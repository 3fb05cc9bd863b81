"""Workers on committed rows (a database of their own, ``conftest.py``): a job runs with
its shop set as a request's is; a failing job is retried with backoff and ends ``failed``;
a worker SIGKILLed mid-job is noticed by its stale heartbeat and its job is run again by
another worker, its effect once; SIGTERM lets the running job finish; ``serve``'s
in-process worker runs jobs and /readyz says a worker was seen."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bloomer_ai.db.engine import DatabaseTarget
from bloomer_ai.db.session import make_operator_session_factory, unit_of_work
from bloomer_ai.jobs.worker import WorkerOptions, WorkerSupervisor, run_worker
from bloomer_ai.main import create_app, task_modules
from bloomer_ai.models import Shop
from factories.core import create_shop
from support.job_tasks import always_fails, record_effect
from support.sessions import APP_ROLE
from support.workers import SUPPORT_WORKER, worker_environment, worker_process

TEST_TASKS = [*task_modules(), "support.job_tasks"]


@pytest.fixture
async def shop(worker_owner_engine: AsyncEngine) -> AsyncIterator[Shop]:
    factory = make_operator_session_factory(worker_owner_engine)
    async with unit_of_work(factory) as session:
        shop = await create_shop(session)
    yield shop
    async with unit_of_work(factory) as session:
        await session.execute(delete(Shop).where(Shop.id == shop.id))


async def defer(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, task: Any, **arguments: Any
) -> int:
    """Defer as a request would, and commit."""
    async with unit_of_work(sessions, shop_id=shop.id) as session:
        job_id: int = await task.defer(session, **arguments)
    return job_id


async def rows(engine: AsyncEngine, sql: str, **values: Any) -> list[Any]:
    async with engine.connect() as connection:
        return list(await connection.execute(text(sql), values))


async def effects(engine: AsyncEngine, key: str) -> list[Any]:
    return await rows(engine, "SELECT * FROM job_effects WHERE key = :key ORDER BY at", key=key)


async def status(engine: AsyncEngine, job_id: int) -> str:
    (row,) = await rows(engine, "SELECT status FROM procrastinate_jobs WHERE id = :id", id=job_id)
    return str(row.status)


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        await asyncio.sleep(0.1)


async def work_until(
    settings: Any, target: DatabaseTarget, check: Callable[[], Awaitable[bool]], what: str
) -> None:
    """A worker in this process (no periodic tasks) until ``check`` holds."""
    worker = WorkerSupervisor(
        settings,
        target,
        options=WorkerOptions(concurrency=2, periodic=False),
        task_modules=TEST_TASKS,
    )
    worker.start()
    try:
        await eventually(check, 30, what)
    finally:
        await worker.stop()


def has_status(engine: AsyncEngine, job_id: int, wanted: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await status(engine, job_id) == wanted

    return check


async def test_a_job_runs_for_its_shop_as_the_service(
    worker_settings, worker_database, worker_sessions, worker_owner_engine, shop
) -> None:
    key = uuid.uuid4().hex
    job_id = await defer(worker_sessions, shop, record_effect, key=key)
    await run_worker(
        worker_settings,
        worker_database,
        options=WorkerOptions(concurrency=2, wait=False, periodic=False),
        task_modules=TEST_TASKS,
    )
    ran = await effects(worker_owner_engine, key)
    assert [row.kind for row in ran] == ["start", "effect"]
    # Set exactly as a request's transaction is: the job's shop, the service's own role.
    assert {(row.shop_setting, row.role) for row in ran} == {(str(shop.id), APP_ROLE)}
    assert await status(worker_owner_engine, job_id) == "succeeded"


async def test_a_failing_job_is_retried_then_ends_failed(
    worker_settings, worker_database, worker_sessions, worker_owner_engine, shop
) -> None:
    key = uuid.uuid4().hex
    job_id = await defer(worker_sessions, shop, always_fails, key=key)
    await work_until(
        worker_settings,
        worker_database,
        has_status(worker_owner_engine, job_id, "failed"),
        "the job fails for good",
    )
    assert len(await effects(worker_owner_engine, key)) == 3  # the first run and two retries
    events = await rows(
        worker_owner_engine,
        "SELECT type FROM procrastinate_events WHERE job_id = :id ORDER BY id",
        id=job_id,
    )
    # (Each retry is also recorded as "scheduled", for when it falls due.)
    assert [str(event.type) for event in events if event.type != "scheduled"] == [
        "deferred",
        "started",
        "deferred_for_retry",
        "started",
        "deferred_for_retry",
        "started",
        "failed",
    ]


async def test_a_sigkilled_workers_job_is_run_by_another_and_sigterm_lets_a_job_finish(
    worker_database, worker_sessions, worker_owner_engine, shop
) -> None:
    """Two worker processes (started together: a process start is the slow part). The one
    that takes a long job is SIGKILLed mid-job; the other notices the stale heartbeat and
    runs the job again, its effect once. Then it takes a short job and is sent SIGTERM:
    it finishes the job, leaves the workers' table and exits 0."""
    env = worker_environment(worker_database)
    with worker_process(SUPPORT_WORKER, env) as one, worker_process(SUPPORT_WORKER, env) as two:
        processes = {one.pid: one, two.pid: two}
        long_key = uuid.uuid4().hex
        long_job = await defer(
            worker_sessions, shop, record_effect, key=long_key, hold_seconds=120.0
        )

        async def started(key: str, runs: int) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                for process in processes.values():
                    assert process.poll() is None, process.stdout.read() if process.stdout else ""
                return len(await effects(worker_owner_engine, key)) == runs

            return check

        await eventually(await started(long_key, 1), 60, "a worker starts the long job")
        (first_run,) = await effects(worker_owner_engine, long_key)
        killed = processes.pop(first_run.pid)
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
        killed_at = time.monotonic()
        (survivor,) = processes.values()

        # Noticed through the heartbeat (2 s here) by the periodic check (every second).
        succeeded = has_status(worker_owner_engine, long_job, "succeeded")
        await eventually(succeeded, 20, "the stalled job is run again by the other worker")
        assert time.monotonic() - killed_at < 15
        ran = await effects(worker_owner_engine, long_key)
        assert [row.kind for row in ran] == ["start", "start", "effect"]
        assert ran[1].pid == ran[2].pid == survivor.pid

        short_key = uuid.uuid4().hex
        short_job = await defer(
            worker_sessions, shop, record_effect, key=short_key, hold_seconds=1.5
        )
        await eventually(await started(short_key, 1), 15, "the survivor starts the job")
        survivor.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(survivor.wait, 15) == 0
    assert [row.kind for row in await effects(worker_owner_engine, short_key)] == [
        "start",
        "effect",
    ]
    assert await status(worker_owner_engine, short_job) == "succeeded"
    # The survivor left the workers' table on its way out; the killed one was pruned.
    assert await rows(worker_owner_engine, "SELECT id FROM procrastinate_workers") == []


async def test_serve_runs_a_worker_in_process_when_asked(
    worker_settings, worker_database, worker_sessions, worker_owner_engine, shop
) -> None:
    app = create_app(worker_settings, database=worker_database, run_worker=True)
    key = uuid.uuid4().hex
    async with app.router.lifespan_context(app):
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:

            async def seen() -> bool:
                return bool((await client.get("/readyz")).json()["workerSeenRecently"])

            await eventually(seen, 15, "the in-process worker registers")
            job_id = await defer(worker_sessions, shop, record_effect, key=key)
            succeeded = has_status(worker_owner_engine, job_id, "succeeded")
            await eventually(succeeded, 15, "the in-process worker runs the job")
    # Stopped with the app, before its engine was disposed.
    assert await rows(worker_owner_engine, "SELECT id FROM procrastinate_workers") == []
