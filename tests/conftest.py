"""Test set-up: one fresh PostgreSQL database per run, one rolled-back transaction per test.

The server is the one named by TEST_DATABASE_URL, else an embedded PostgreSQL in a
temporary folder. The run's database is created with a random name, migrated with the real
migrations, and dropped at the end, so runs never see each other's rows.
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
from bloomer_ai.db.session import unit_of_work
from bloomer_ai.kit.database_urls import libpq_url, normalise_database_url

TEST_AUTH_SECRET = "test-only-secret-0123456789abcdef0123456789abcdef"


def _server_url() -> tuple[URL, str | None]:
    """The server's maintenance URL, and the temp folder of an embedded one (to remove)."""
    if os.environ.get("TEST_DATABASE_URL"):
        return normalise_database_url(os.environ["TEST_DATABASE_URL"]), None
    folder = tempfile.mkdtemp(prefix="bloomer-test-")
    os.chmod(folder, 0o755)
    return start_embedded_postgres(Path(folder) / "pgdata"), folder


@pytest.fixture(scope="session")
def database_url() -> Iterator[URL]:
    server, folder = _server_url()
    name = f"bloomer_test_{secrets.token_hex(6)}"
    with psycopg.connect(libpq_url(server), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = server.set(database=name)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with psycopg.connect(libpq_url(server), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    return os.environ.get("TEST_REDIS_URL")


def make_settings(database_url: URL, **sections: Any) -> Settings:
    """Settings for an app under test: the run's database, test secrets, no .env file."""
    defaults: dict[str, Any] = {
        "server": ServerSettings(environment="test", _env_file=None),
        "db": DatabaseSettings(database_url=libpq_url(database_url), _env_file=None),
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
async def engine(database_url: URL) -> AsyncIterator[AsyncEngine]:
    target = DatabaseTarget(database_url, embedded=False)
    engine = create_engine(target, DatabaseSettings(_env_file=None))
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
    # Code that commits only releases a savepoint: the outer transaction still rolls back.
    return async_sessionmaker(
        bind=connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
async def db(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """An operator (unscoped) session for factories and assertions."""
    async with unit_of_work(session_factory, unscoped=True) as session:
        yield session


@pytest.fixture
def settings(database_url: URL) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def app(
    settings: Settings, database_url: URL, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Any]:
    from bloomer_ai.main import create_app

    application = create_app(
        settings,
        database=DatabaseTarget(database_url, embedded=False),
        session_factory=session_factory,
    )
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as c:
        yield c
