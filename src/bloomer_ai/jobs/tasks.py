"""Declaring tasks, and deferring them in the request's own transaction.

Two kinds of task, and no third (docs/jobs.md):

* **A shop's task** (``@shop_task("webhooks.deliver")``): its job carries the shop, and it
  runs through one wrapper that gives it ``ShopJob.transaction()`` — a unit of work bound
  to that shop exactly as a request's session is (``bind_shop`` before the first
  statement; ``TenantSession`` sets ``app.shop_id`` for row-level security). It is
  deferred with ``await task.defer(session, **arguments)`` on the session of the change it
  belongs to: the job row is written on that session's connection, inside its
  transaction (procrastinate's ``configure(connection=…)``), and the shop is the one the
  session is bound to. A rolled-back request leaves no job; a committed one has its job.
* **Periodic cross-shop maintenance** (``@periodic_task("jobs.retry_stalled", every=…)``):
  it gets ``CrossShopJob.transaction()``, a unit of work with *no* shop bound, where
  row-level security shows no shop's rows. Work across shops goes through a
  ``SECURITY DEFINER`` function named for what it does, created by a migration (the one
  cross-shop path, docs/database.md), never by binding shops one by one in a task.

Jobs run at least once: a worker killed mid-job leaves it to be run again from the
start. Every task says in its docstring why a second run is harmless.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, ParamSpec, cast

import psycopg
import structlog
from procrastinate import BaseRetryStrategy, JobContext
from procrastinate.manager import JobManager
from procrastinate.tasks import Task
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.config import Settings
from bloomer_ai.db.session import unit_of_work
from bloomer_ai.db.tenancy import TenancyViolation, bound_shop_id
from bloomer_ai.jobs.queue import RESOURCES_KEY, JobResources, job_queue

P = ParamSpec("P")
DEFAULT_QUEUE = "default"


def resources_of(context: JobContext) -> JobResources:
    resources = context.additional_context.get(RESOURCES_KEY)
    if not isinstance(resources, JobResources):
        raise RuntimeError("the worker was started without resources: use jobs.worker")
    return resources


async def driver_connection(session: AsyncSession) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection under ``session``, in its transaction (begun if need be)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, psycopg.AsyncConnection)
    return driver


# --- a shop's task ------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopJob:
    """What a shop's task gets: its shop, and units of work bound to it."""

    shop_id: uuid.UUID
    resources: JobResources
    job_id: int
    attempts: int
    """Earlier runs of this job (0 on the first)."""

    @property
    def settings(self) -> Settings:
        return self.resources.settings

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        """One transaction for the job's shop (committed when the block ends cleanly).
        Keep it short: a task that waits on the network (a webhook delivery) reads in
        one transaction, waits outside any, and records in another."""
        return unit_of_work(self.resources.sessions, shop_id=self.shop_id)


class ShopTask(Generic[P]):
    """A task about one shop, deferred in the transaction of the change it belongs to."""

    def __init__(self, task: Task[Any, Any, Any]) -> None:
        self.task = task
        self.name: str = task.name

    def __repr__(self) -> str:
        return f"ShopTask({self.name})"

    async def defer(self, session: AsyncSession, *args: P.args, **arguments: P.kwargs) -> int:
        """Defer a job for the session's shop on the session's own connection, inside
        its transaction; the job id (visible to workers once that transaction commits)."""
        if args:
            raise TypeError("task arguments are keyword arguments")
        (job_id,) = await self.defer_many(session, [arguments])
        return job_id

    async def defer_many(
        self, session: AsyncSession, arguments: Sequence[Mapping[str, Any]]
    ) -> list[int]:
        """One job per mapping of arguments, in one statement, as ``defer``."""
        if not arguments:
            return []
        shop_id = bound_shop_id(session.sync_session)
        if shop_id is None:
            raise TenancyViolation("a shop's job is deferred on a session bound to its shop")
        connection = await driver_connection(session)
        deferrer = self.task.configure(connection=connection)
        return list(
            await deferrer.batch_defer_async(
                *({**item, "shop_id": str(shop_id)} for item in arguments)
            )
        )

    async def defer_across_shops(
        self, session: AsyncSession, jobs: Sequence[tuple[uuid.UUID, Mapping[str, Any]]]
    ) -> list[int]:
        """For periodic maintenance only: one job per (shop, arguments), on a session bound
        to no shop, in its transaction. The shops must come from the ``SECURITY DEFINER``
        function made for the task (the one cross-shop path); each job then runs bound to
        its shop, under row-level security, and checks what it was sent for."""
        if not jobs:
            return []
        if bound_shop_id(session.sync_session) is not None:
            raise TenancyViolation("jobs across shops are deferred by cross-shop maintenance")
        connection = await driver_connection(session)
        deferrer = self.task.configure(connection=connection)
        return list(
            await deferrer.batch_defer_async(
                *({**arguments, "shop_id": str(shop_id)} for shop_id, arguments in jobs)
            )
        )


ShopTaskFunction = Callable[Concatenate[ShopJob, P], Awaitable[None]]


def shop_task(
    name: str, *, retry: BaseRetryStrategy | None = None, queue: str = DEFAULT_QUEUE
) -> Callable[[ShopTaskFunction[P]], ShopTask[P]]:
    """Declare a shop's task: ``async def deliver(job: ShopJob, *, event_id: str)``.
    Arguments are keyword-only and JSON values; the wrapper adds the shop."""

    def declare(function: ShopTaskFunction[P]) -> ShopTask[P]:
        call = cast(Callable[..., Awaitable[None]], function)

        async def run(context: JobContext, /, *, shop_id: str, **arguments: Any) -> None:
            job = ShopJob(
                shop_id=uuid.UUID(shop_id),
                resources=resources_of(context),
                job_id=context.job.id or 0,
                attempts=context.job.attempts,
            )
            with structlog.contextvars.bound_contextvars(
                shop_id=shop_id, job_id=job.job_id, task=name
            ):
                await call(job, **arguments)

        run.__name__ = run.__qualname__ = function.__name__
        run.__module__ = function.__module__
        task = job_queue.task(name=name, retry=retry or False, pass_context=True, queue=queue)(run)
        return ShopTask(task)

    return declare


# --- periodic cross-shop maintenance --------------------------------------------------------


@dataclass(frozen=True)
class CrossShopJob:
    """What a periodic maintenance task gets: no shop, the queue's manager."""

    resources: JobResources
    manager: JobManager

    @property
    def settings(self) -> Settings:
        return self.resources.settings

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        """One transaction with no shop bound: no shop's row is visible in it. Call the
        ``SECURITY DEFINER`` function made for the job (docs/jobs.md)."""
        return unit_of_work(self.resources.sessions)


Every = int | Callable[[Settings], int]


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    task: Task[Any, Any, Any]
    every: Every

    def seconds(self, settings: Settings) -> int:
        return self.every(settings) if callable(self.every) else self.every


PERIODIC: dict[str, PeriodicTask] = {}
"""Every periodic task; a worker schedules them all when it starts (``jobs.worker``)."""


def periodic_task(
    name: str, *, every: Every
) -> Callable[[Callable[[CrossShopJob], Awaitable[None]]], PeriodicTask]:
    """Declare periodic cross-shop maintenance, run every ``every`` seconds (or a
    function of the settings giving them; a regular tick of a day, ``kit.time.cron_every``).
    One job per tick however many workers run (procrastinate records each tick), and none
    while the last one still waits (a queueing lock named after the task)."""

    def declare(function: Callable[[CrossShopJob], Awaitable[None]]) -> PeriodicTask:
        async def run(context: JobContext, /, *, timestamp: int) -> None:
            job = CrossShopJob(resources_of(context), context.app.job_manager)
            with structlog.contextvars.bound_contextvars(task=name, tick=timestamp):
                await function(job)

        run.__name__ = run.__qualname__ = function.__name__
        run.__module__ = function.__module__
        task = job_queue.task(name=name, pass_context=True, queueing_lock=name)(run)
        PERIODIC[name] = periodic = PeriodicTask(name, task, every)
        return periodic

    return declare
