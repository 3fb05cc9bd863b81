"""The bench's own PostgreSQL database, and the helper that setup hooks use to reach it.

Server: ``BENCH_DATABASE_URL``, else ``DATABASE_URL``, else an embedded PostgreSQL in a
temporary folder (``bench_database("embedded")`` asks for the embedded one whatever is
set: ``make bench`` measures both when a server is given). On that server a fresh
database with a random name is created, migrated with the real migrations, and dropped at
the end, so a bench never touches real data and two runs never see each other's rows.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import psycopg
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bloomer_ai.config import Settings
from bloomer_ai.db import migrate
from bloomer_ai.db.engine import DatabaseTarget, create_engine
from bloomer_ai.db.roles import ensure_login_role
from bloomer_ai.db.session import make_operator_session_factory, unit_of_work
from bloomer_ai.kit.database_urls import describe_url, libpq_url, normalise_database_url

T = TypeVar("T")


# The secret and API-key pepper the bench gives the service (never a real one).
BENCH_SECRET = "bench-only-secret-0123456789abcdef0123456789abcdef"
APP_ROLE = "bloomer_app"


@dataclass(frozen=True)
class BenchDatabase:
    url: URL
    """The bench run's own database (created for this run, dropped after it), as the
    server's maintenance role: it owns the tables (migrations, setup hooks)."""
    source: str
    """Where the server came from: BENCH_DATABASE_URL, DATABASE_URL or embedded."""
    server_version: str

    @property
    def app_url(self) -> URL:
        """The service's own role (DB_APP_ROLE's default), held by row-level security."""
        return self.url.set(username=APP_ROLE, password=None)

    @property
    def description(self) -> str:
        if self.source == "embedded":
            where = "embedded PostgreSQL (temporary folder, Unix socket)"
        else:
            where = f"server PostgreSQL at {describe_url(self.url)} (from {self.source})"
        return f"{where}, version {self.server_version}, database {self.url.database}"


def server_from_environment() -> tuple[URL, str] | None:
    """The server PostgreSQL the environment names, and the variable that named it."""
    for variable in ("BENCH_DATABASE_URL", "DATABASE_URL"):
        raw = os.environ.get(variable, "").strip()
        if raw:
            return normalise_database_url(raw), variable
    return None


def _server_url(embedded: bool) -> tuple[URL, str, str | None]:
    """The server's maintenance URL, where it came from, and a temp folder to remove."""
    named = None if embedded else server_from_environment()
    if named is not None:
        return named[0], named[1], None
    from bloomer_ai.db.embedded import start_embedded_postgres

    folder = tempfile.mkdtemp(prefix="bloomer-bench-")
    os.chmod(folder, 0o755)  # the embedded server runs as its own system user when we are root
    # Registered before the server starts: atexit runs last-in first-out, so the wheel's own
    # exit hook stops PostgreSQL first and the folder goes after it.
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return start_embedded_postgres(Path(folder) / "pgdata"), "embedded", folder


@contextmanager
def bench_database(kind: Literal["server", "embedded"] | None = None) -> Iterator[BenchDatabase]:
    """A fresh, migrated database for one run: on the server the environment names (or
    the embedded one when none is named), or on the embedded one with ``"embedded"``."""
    server, source, _folder = _server_url(embedded=kind == "embedded")
    name = f"bloomer_bench_{secrets.token_hex(6)}"
    with psycopg.connect(libpq_url(server), autocommit=True, connect_timeout=10) as admin:
        version = str(admin.execute("show server_version").fetchone()[0])  # type: ignore[index]
        admin.execute(f'CREATE DATABASE "{name}"')
    url = server.set(database=name)
    ensure_login_role(server, APP_ROLE)
    try:
        migrate.upgrade(url, app_role=APP_ROLE)
        yield BenchDatabase(url=url, source=source, server_version=version.split()[0])
    finally:
        with psycopg.connect(libpq_url(server), autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class BenchContext:
    """What a scenario's setup hook receives: async database access to the bench database.

    ``await ctx.run(fn)`` calls ``fn(session)`` in one committed unit of work (an operator
    session on the owner's connection, across shops; pass ``shop_id=`` to bind a shop).
    ``ctx.settings`` are the settings the service under test runs with (same secrets and
    pepper), so credentials made here are accepted by the server.
    """

    def __init__(self, database: BenchDatabase, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self._engine: AsyncEngine | None = None
        self._factory: async_sessionmaker[AsyncSession] | None = None

    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        if self._factory is None:
            target = DatabaseTarget(self.database.url, embedded=False)
            self._engine = create_engine(target, self.settings.db)
            self._factory = make_operator_session_factory(self._engine)
        return self._factory

    async def run(
        self, action: Callable[[AsyncSession], Awaitable[T]], *, shop_id: uuid.UUID | None = None
    ) -> T:
        async with unit_of_work(self.session_factory, shop_id=shop_id) as session:
            return await action(session)

    async def aclose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
            self._factory = None
