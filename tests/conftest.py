"""Test set-up: one fresh PostgreSQL database per run, one rolled-back transaction per test.

The server is the one named by TEST_DATABASE_URL, else an embedded PostgreSQL in a
temporary folder. The run's database is created with a random name, owned by a role that
is not a superuser (as on a managed server), migrated as that owner with the real
migrations (which grant the service's role its rights), and dropped at the end, so runs
never see each other's rows.

Two roles, as in production: the **owner** writes the factories' rows (the ``db``
fixture, an operator session) and the **app role** runs the app under test (row-level
security applies to it). Both share each test's connection and its one transaction:
an app session switches to the app role when it begins and back when it ends
(``support.sessions``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from httpx import ASGITransport, AsyncClient
from psycopg import sql
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bloomer_ai.config import (
    AuthSettings,
    DatabaseSettings,
    RateLimitSettings,
    ServerSettings,
    Settings,
)
from bloomer_ai.db import migrate
from bloomer_ai.db.embedded import start_embedded_postgres
from bloomer_ai.db.engine import DatabaseTarget, create_engine
from bloomer_ai.db.roles import ensure_login_role
from bloomer_ai.db.session import unit_of_work
from bloomer_ai.kit.database_urls import libpq_url, normalise_database_url
from support.sessions import APP_ROLE, OWNER_ROLE, app_session_factory, operator_session_factory

TEST_AUTH_SECRET = "test-only-secret-0123456789abcdef0123456789abcdef"


def _server_url() -> tuple[URL, str | None]:
    """The server's maintenance URL, and the temp folder of an embedded one (to remove)."""
    if os.environ.get("TEST_DATABASE_URL"):
        return normalise_database_url(os.environ["TEST_DATABASE_URL"]), None
    folder = tempfile.mkdtemp(prefix="bloomer-test-")
    os.chmod(folder, 0o755)
    return start_embedded_postgres(Path(folder) / "pgdata"), folder


def _ensure_roles(server: URL) -> None:
    """The owner and the app role (cluster-wide, shared by concurrent runs, kept)."""
    for role in (OWNER_ROLE, APP_ROLE):
        ensure_login_role(server, role)
    with psycopg.connect(libpq_url(server), autocommit=True) as admin:
        # Lets the owner's test connection act as the app role (SET LOCAL ROLE).
        admin.execute(
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(APP_ROLE), sql.Identifier(OWNER_ROLE))
        )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[URL]:
    server, folder = _server_url()
    try:
        yield server
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def database_target(postgres_server: URL) -> Iterator[DatabaseTarget]:
    """The run's database: ``url`` the app role's, ``owner_url`` the owner's."""
    name = f"bloomer_test_{secrets.token_hex(6)}"
    _ensure_roles(postgres_server)
    with psycopg.connect(libpq_url(postgres_server), autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(OWNER_ROLE)
            )
        )
    owner = postgres_server.set(database=name, username=OWNER_ROLE, password=None)
    try:
        migrate.upgrade(owner, app_role=APP_ROLE)
        yield DatabaseTarget(owner.set(username=APP_ROLE), embedded=False, owner_url=owner)
    finally:
        with psycopg.connect(libpq_url(postgres_server), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def empty_database(postgres_server: URL) -> Iterator[URL]:
    """An empty database of its own (owned by the owner role; its URL is the owner's),
    dropped afterwards."""
    name = f"bloomer_empty_{secrets.token_hex(6)}"
    _ensure_roles(postgres_server)
    with psycopg.connect(libpq_url(postgres_server), autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(OWNER_ROLE)
            )
        )
    try:
        yield postgres_server.set(database=name, username=OWNER_ROLE, password=None)
    finally:
        with psycopg.connect(libpq_url(postgres_server), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def database_url(database_target: DatabaseTarget) -> URL:
    """The owner's URL (migrations, committed rows made by tests as an operator would)."""
    return database_target.operator_url


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    return os.environ.get("TEST_REDIS_URL")


def make_settings(database_url: URL, **sections: Any) -> Settings:
    """Settings for an app under test: the run's database, test secrets, no .env file."""
    defaults: dict[str, Any] = {
        "server": ServerSettings(environment="test", _env_file=None),
        "db": DatabaseSettings(
            database_url=libpq_url(database_url.set(username=APP_ROLE)),
            migration_database_url=libpq_url(database_url),
            db_app_role=APP_ROLE,
            _env_file=None,
        ),
        "auth": AuthSettings(
            nextauth_secret=TEST_AUTH_SECRET,
            allowed_origins=["http://localhost:3000"],
            _env_file=None,
        ),
        "ratelimit": RateLimitSettings(_env_file=None),
    }
    defaults.update(sections)
    return Settings(_env_file=None, **defaults)


@pytest.fixture(scope="session")
async def engine(database_target: DatabaseTarget) -> AsyncIterator[AsyncEngine]:
    """The owner's engine: the tests' connections, and committed rows of a test's own."""
    engine = create_engine(database_target, DatabaseSettings(_env_file=None), as_owner=True)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def app_engine(database_target: DatabaseTarget) -> AsyncIterator[AsyncEngine]:
    """The app role's engine: a real pool, as the service has (row-level security holds)."""
    engine = create_engine(database_target, DatabaseSettings(_env_file=None))
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest.fixture
def session_factory(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """The app's sessions: the app role, on the test's connection; code that commits only
    releases a savepoint, so the outer transaction still rolls back."""
    return app_session_factory(connection)


@pytest.fixture
async def db(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """An operator session (the owner, across shops) for factories and assertions."""
    async with unit_of_work(operator_session_factory(connection)) as session:
        yield session


@pytest.fixture
def settings(database_url: URL) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def app(
    settings: Settings,
    database_target: DatabaseTarget,
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[Any]:
    from bloomer_ai.main import create_app

    application = create_app(settings, database=database_target, session_factory=session_factory)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put structlog and the standard library's logging back as they were after a test
    that configures them (to capture lines in a stream)."""
    import logging

    import structlog

    saved_structlog = structlog.get_config()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    noisy = {
        name: logging.getLogger(name).level
        for name in ("uvicorn.access", "httpx", "httpcore", "procrastinate")
    }
    try:
        yield
    finally:
        structlog.configure(**saved_structlog)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, level in noisy.items():
            logging.getLogger(name).setLevel(level)


# --- workers ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def worker_database(postgres_server: URL) -> Iterator[DatabaseTarget]:
    """A database for worker tests (made on first use, migrated, dropped at the end):
    a worker reads committed rows, which the rolled-back test transaction would hide,
    and jobs left on the run's database must not be run by a test's worker."""
    from support.job_tasks import EFFECTS_TABLE

    name = f"bloomer_worker_{secrets.token_hex(6)}"
    _ensure_roles(postgres_server)
    with psycopg.connect(libpq_url(postgres_server), autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(OWNER_ROLE)
            )
        )
    owner = postgres_server.set(database=name, username=OWNER_ROLE, password=None)
    try:
        migrate.upgrade(owner, app_role=APP_ROLE)
        with psycopg.connect(libpq_url(owner), autocommit=True) as connection:
            connection.execute(EFFECTS_TABLE)  # the app role's by default privileges
        yield DatabaseTarget(owner.set(username=APP_ROLE), embedded=False, owner_url=owner)
    finally:
        with psycopg.connect(libpq_url(postgres_server), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def worker_settings(worker_database: DatabaseTarget) -> Settings:
    """Settings on the worker database, with a dead worker noticed within seconds."""
    from bloomer_ai.config import JobSettings
    from support.workers import FAST_JOBS

    return make_settings(
        worker_database.operator_url, jobs=JobSettings(_env_file=None, **FAST_JOBS)
    )


@pytest.fixture
async def worker_owner_engine(worker_database: DatabaseTarget) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(worker_database, DatabaseSettings(_env_file=None), as_owner=True)
    yield engine
    await engine.dispose()


@pytest.fixture
async def worker_sessions(
    worker_database: DatabaseTarget,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The service's sessions on the worker database (its own role's pool)."""
    from bloomer_ai.db.session import make_session_factory

    engine = create_engine(worker_database, DatabaseSettings(_env_file=None))
    yield make_session_factory(engine)
    await engine.dispose()
