"""Tasks for the job tests, declared through the service's own wrapper (``shop_task``).

Each run writes what it saw into ``job_effects`` (a table the worker tests create in
their own database): the shop the transaction was set to and the role it ran as, which
worker process ran it. ``record_effect`` is idempotent the way real tasks are: its
effect row is unique per key, so a second run adds a start but no second effect.
"""

from __future__ import annotations

import asyncio
import os

from sqlalchemy import text

from bloomer_ai.jobs.retry import Backoff
from bloomer_ai.jobs.tasks import ShopJob, shop_task

EFFECTS_TABLE = """
CREATE TABLE IF NOT EXISTS job_effects (
    key text NOT NULL,
    kind text NOT NULL,
    shop_setting text,
    role text NOT NULL,
    pid integer NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX IF NOT EXISTS job_effects_once ON job_effects (key) WHERE kind = 'effect';
"""

RECORD = text(
    "INSERT INTO job_effects (key, kind, shop_setting, role, pid) "
    "VALUES (:key, :kind, current_setting('app.shop_id', true), current_user, :pid) "
    "ON CONFLICT DO NOTHING"
)


async def _record(job: ShopJob, key: str, kind: str) -> int:
    """Record a row; the number of starts of ``key`` so far."""
    async with job.transaction() as session:
        await session.execute(RECORD, {"key": key, "kind": kind, "pid": os.getpid()})
        starts = await session.scalar(
            text("SELECT count(*) FROM job_effects WHERE key = :key AND kind = 'start'"),
            {"key": key},
        )
    return int(starts or 0)


@shop_task("tests.record_effect")
async def record_effect(job: ShopJob, *, key: str, hold_seconds: float = 0.0) -> None:
    """Start, (on the first run only) hold, then the effect, once per key."""
    starts = await _record(job, key, "start")
    if hold_seconds and starts == 1:
        await asyncio.sleep(hold_seconds)
    await _record(job, key, "effect")


@shop_task("tests.always_fails", retry=Backoff(max_attempts=2, first_seconds=0.0))
async def always_fails(job: ShopJob, *, key: str) -> None:
    await _record(job, key, "start")
    raise RuntimeError("this task always fails")
