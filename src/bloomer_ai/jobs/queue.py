"""The service's one procrastinate ``App`` and what a running task gets from its worker.

Tasks are declared on ``job_queue`` through ``jobs.tasks`` (never with ``job_queue.task``
directly: a shop's job must run through the shop wrapper). The App is never opened by the
web process: a request defers on its own connection (``ShopTask.defer``), which needs no
pool of procrastinate's. A worker (``jobs.worker``) gives it a connector for the run.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from procrastinate import App, PsycopgConnector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bloomer_ai.config import Settings

T = TypeVar("T")

job_queue = App(connector=PsycopgConnector())
"""Every task of the service. Deferring on an outside connection needs no open pool."""

RESOURCES_KEY = "bloomer_resources"
"""Where a worker puts its ``JobResources`` in procrastinate's job context."""


@dataclass
class JobResources:
    """Process-wide objects of a worker, handed to every task it runs (as the app's
    lifespan resources are to endpoints): the settings, the service's sessions (its own
    role: row-level security holds every job), and objects a task module shares between
    its jobs (an HTTP client), made on first use and closed with the worker."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    _shared: dict[str, Any] = field(default_factory=dict)

    def shared(self, key: str, factory: Callable[[], T]) -> T:
        """The worker's one ``key`` object, made by ``factory`` on first use."""
        if key not in self._shared:
            self._shared[key] = factory()
        value: T = self._shared[key]
        return value

    async def aclose(self) -> None:
        shared, self._shared = self._shared, {}
        for value in shared.values():
            close = getattr(value, "aclose", None)
            if close is not None and inspect.iscoroutinefunction(close):
                await close()


def new_connector(conninfo: str, *, max_size: int) -> PsycopgConnector:
    """A connector of procrastinate's own for one worker run (its pool: fetching jobs,
    recording outcomes, heartbeats, LISTEN)."""
    return PsycopgConnector(
        conninfo=conninfo,
        min_size=1,
        max_size=max_size,
        kwargs={"connect_timeout": 5},
    )
