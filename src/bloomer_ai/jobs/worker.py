"""Running a worker: ``bloomer-ai worker``, the in-process worker of ``serve``, tests and
the bench all go through ``run_worker``.

A worker imports the task modules it is given (``main.task_modules()``), schedules every
periodic task, opens a procrastinate pool of its own on the service's role, and runs jobs
with ``JobResources`` (the service's sessions, the settings) handed to each task. It
beats its heartbeat every third of ``JOB_STALLED_AFTER_SECONDS``; a worker whose
heartbeat is older is taken for dead, and ``jobs.retry_stalled`` (every
``JOB_STALLED_CHECK_SECONDS``, on any worker) puts its running jobs back in the queue.

``WorkerSupervisor`` keeps one worker running in the current event loop: restarted after
a failure (the database restarting ends procrastinate's listener, and with it the worker),
stopped gracefully on ``stop()`` (no new job; running ones get ``JOB_SHUTDOWN_SECONDS``,
then are aborted and retried later by another run).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import structlog
from procrastinate.periodic import PeriodicRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from bloomer_ai.config import Settings
from bloomer_ai.db.engine import DatabaseTarget, create_engine
from bloomer_ai.db.session import make_session_factory
from bloomer_ai.jobs.queue import RESOURCES_KEY, JobResources, job_queue, new_connector
from bloomer_ai.jobs.tasks import PERIODIC, CrossShopJob, periodic_task
from bloomer_ai.kit.database_urls import libpq_url
from bloomer_ai.kit.time import cron_every

log = structlog.get_logger("bloomer_ai.jobs")

RESTART_FIRST_SECONDS = 1.0
RESTART_MAX_SECONDS = 30.0


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int
    name: str = ""
    """Shown in logs; host and process id when empty."""
    wait: bool = True
    """False: return once no job is left (tests, the bench)."""
    periodic: bool = True
    """Schedule the periodic tasks (False: run only what is queued)."""
    install_signal_handlers: bool = False
    """procrastinate's own SIGINT/SIGTERM handling; ``WorkerSupervisor`` has its own."""


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def import_task_modules(modules: Sequence[str]) -> None:
    """Import every module that declares tasks: a job of a task the worker does not
    know would fail (``TaskNotFound``)."""
    for module in modules:
        importlib.import_module(module)


@contextlib.contextmanager
def periodic_schedule(settings: Settings, enabled: bool) -> Iterator[None]:
    """The periodic tasks on the queue's registry, at the periods the settings give, for
    one run (a fresh registry: periods may differ between runs in one process)."""
    registry = PeriodicRegistry()  # type: ignore[no-untyped-call]
    if enabled:
        for periodic in PERIODIC.values():
            registry.register_task(
                task=periodic.task,
                cron=cron_every(periodic.seconds(settings)),
                periodic_id="",
                configure_kwargs={},
            )
    saved, job_queue.periodic_registry = job_queue.periodic_registry, registry
    try:
        yield
    finally:
        job_queue.periodic_registry = saved


async def run_worker(
    settings: Settings,
    target: DatabaseTarget,
    *,
    options: WorkerOptions,
    task_modules: Sequence[str],
    sessions: async_sessionmaker[AsyncSession] | None = None,
) -> None:
    """Run one worker until it is cancelled (gracefully: see the module's docstring), or
    with ``wait=False`` until the queue is empty. ``sessions``: the service's sessions
    for the tasks (an engine of its own is made, and disposed, when None)."""
    import_task_modules(task_modules)
    engine = None
    if sessions is None:
        engine = create_engine(target, settings.db)
        sessions = make_session_factory(engine)
    jobs = settings.jobs
    resources = JobResources(settings, sessions)
    # Fetching, heartbeats, outcomes and LISTEN: a few connections beyond one per job.
    connector = new_connector(libpq_url(target.url), max_size=options.concurrency + 3)
    try:
        with job_queue.replace_connector(connector), periodic_schedule(settings, options.periodic):
            async with job_queue.open_async():
                await job_queue.run_worker_async(
                    name=options.name or default_name(),
                    concurrency=options.concurrency,
                    wait=options.wait,
                    install_signal_handlers=options.install_signal_handlers,
                    fetch_job_polling_interval=jobs.job_poll_seconds,
                    abort_job_polling_interval=max(jobs.job_poll_seconds, 5.0),
                    shutdown_graceful_timeout=jobs.job_shutdown_seconds,
                    update_heartbeat_interval=jobs.job_stalled_after_seconds / 3,
                    stalled_worker_timeout=jobs.job_stalled_after_seconds,
                    additional_context={RESOURCES_KEY: resources},
                )
    finally:
        await resources.aclose()
        if engine is not None:
            await engine.dispose()


class WorkerSupervisor:
    """One worker in this event loop, restarted when it fails, stopped on request."""

    def __init__(
        self,
        settings: Settings,
        target: DatabaseTarget,
        *,
        options: WorkerOptions,
        task_modules: Sequence[str],
        sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.settings = settings
        self.target = target
        self.options = options
        self.task_modules = list(task_modules)
        self.sessions = sessions
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._supervise(), name="job-worker")

    async def wait(self) -> None:
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        """Stop gracefully: running jobs get JOB_SHUTDOWN_SECONDS to finish."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _supervise(self) -> None:
        delay = RESTART_FIRST_SECONDS
        while True:
            log.info("worker_starting", concurrency=self.options.concurrency)
            try:
                await run_worker(
                    self.settings,
                    self.target,
                    options=self.options,
                    task_modules=self.task_modules,
                    sessions=self.sessions,
                )
                reason = None
            except asyncio.CancelledError:
                log.info("worker_stopped")
                raise
            except Exception as exc:
                reason = type(exc).__name__
            if not self.options.wait and reason is None:
                return  # the queue is empty, as asked
            # procrastinate ends a worker whose listener or heartbeat failed (the database
            # went away): start another one once it may be back.
            log.warning("worker_ended", error_type=reason, restart_seconds=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESTART_MAX_SECONDS)


async def serve_worker(
    settings: Settings,
    target: DatabaseTarget,
    *,
    concurrency: int,
    task_modules: Sequence[str],
) -> None:
    """``bloomer-ai worker``: run jobs until SIGTERM or SIGINT, then stop gracefully (no
    new job; running ones get JOB_SHUTDOWN_SECONDS to finish, then are aborted and run
    again later). A second signal changes nothing: the first one's bound holds."""
    supervisor = WorkerSupervisor(
        settings,
        target,
        options=WorkerOptions(concurrency=concurrency),
        task_modules=task_modules,
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    supervisor.start()
    try:
        await stopping.wait()
        log.info("worker_stopping", shutdown_seconds=settings.jobs.job_shutdown_seconds)
    finally:
        await supervisor.stop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


WORKER_SEEN = text(
    "SELECT EXISTS (SELECT 1 FROM procrastinate_workers "
    "WHERE last_heartbeat > now() - make_interval(secs => :seconds))"
)


async def worker_seen_recently(connection: AsyncConnection, within_seconds: float) -> bool:
    """Whether any worker beat its heartbeat within ``within_seconds``."""
    seen = await connection.scalar(WORKER_SEEN, {"seconds": within_seconds})
    return bool(seen)


# --- the queue's own maintenance ------------------------------------------------------------


@periodic_task("jobs.retry_stalled", every=lambda settings: settings.jobs.job_stalled_check_seconds)
async def retry_stalled(job: CrossShopJob) -> None:
    """Put the running jobs of dead workers (no heartbeat for JOB_STALLED_AFTER_SECONDS)
    back in the queue, to be run again from the start (at least once: every task is
    idempotent), then forget those workers. A second run finds nothing left to do."""
    seconds = job.settings.jobs.job_stalled_after_seconds
    for stalled_job in await job.manager.get_stalled_jobs(seconds_since_heartbeat=seconds):
        log.warning("job_stalled_retried", job_id=stalled_job.id, task=stalled_job.task_name)
        await job.manager.retry_job(stalled_job)
    await job.manager.prune_stalled_workers(seconds)


@periodic_task("jobs.remove_old", every=3600)
async def remove_old(job: CrossShopJob) -> None:
    """Delete jobs finished more than JOB_RETENTION_HOURS ago (failed ones too). A second
    run deletes what became old since."""
    await job.manager.delete_old_jobs(
        nb_hours=job.settings.jobs.job_retention_hours,
        include_failed=True,
        include_cancelled=True,
        include_aborted=True,
    )
