"""Engine creation: the one place that turns settings into a database connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bloomer_ai.config import DatabaseSettings
from bloomer_ai.db.embedded import start_embedded_postgres
from bloomer_ai.kit.database_urls import describe_url, normalise_database_url


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the message is one line without the password."""


@dataclass(frozen=True)
class DatabaseTarget:
    url: URL
    embedded: bool

    @property
    def description(self) -> str:
        where = "embedded PostgreSQL" if self.embedded else "PostgreSQL"
        return f"{where} at {describe_url(self.url)}"


def resolve_database(settings: DatabaseSettings) -> DatabaseTarget:
    """DATABASE_URL when set, else the embedded server of the data folder (started on demand)."""
    if settings.database_url:
        return DatabaseTarget(normalise_database_url(settings.database_url), embedded=False)
    return DatabaseTarget(start_embedded_postgres(settings.pgdata_dir), embedded=True)


def connect_arguments(url: URL) -> dict[str, Any]:
    """psycopg's arguments for a connection of our own (outside the engine's pool)."""
    host = url.host or url.query.get("host")  # the embedded server's socket folder
    return {
        "host": host if isinstance(host, str) else None,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }


def check_connection(target: DatabaseTarget, timeout_seconds: int = 5) -> None:
    """Connect once, synchronously; raise DatabaseUnavailable with a one-line reason."""
    url = target.url
    try:
        with psycopg.connect(
            **connect_arguments(url), connect_timeout=timeout_seconds
        ) as connection:
            connection.execute("select 1")
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if url.password:
            reason = reason.replace(url.password, "***")
        raise DatabaseUnavailable(f"cannot connect to {target.description}: {reason}") from None


def create_engine(target: DatabaseTarget, settings: DatabaseSettings) -> AsyncEngine:
    return create_async_engine(
        target.url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=False,
        connect_args={
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
            "connect_timeout": 5,
        },
    )
