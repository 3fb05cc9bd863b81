"""Engines: the one place that turns settings into database connections.

A ``DatabaseTarget`` names two connections: the service's own role (``url``: requests,
jobs, the change feed) and the tables' owner (``owner_url``: migrations and operator
commands). On a server they are DATABASE_URL and MIGRATION_DATABASE_URL (the same when
the latter is unset); on the embedded default, the embedded superuser and DB_APP_ROLE.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bloomer_ai.config import DatabaseSettings
from bloomer_ai.db.embedded import start_embedded_postgres
from bloomer_ai.kit.database_urls import connect_arguments, describe_url, normalise_database_url


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the message is one line without the password."""


@dataclass(frozen=True)
class DatabaseTarget:
    url: URL
    embedded: bool
    owner_url: URL | None = None
    """None: the owner is the service's own role (a single-role set-up)."""
    pgdata: Path | None = None
    """The embedded server's data folder (None on a server): the app restarts it if it dies."""

    @property
    def operator_url(self) -> URL:
        return self.owner_url or self.url

    @property
    def description(self) -> str:
        where = "embedded PostgreSQL" if self.embedded else "PostgreSQL"
        return f"{where} at {describe_url(self.url)}"


def resolve_database(settings: DatabaseSettings) -> DatabaseTarget:
    """DATABASE_URL when set, else the embedded server of the data folder (started on
    demand, its app role created when missing)."""
    if settings.database_url:
        owner = settings.migration_database_url
        return DatabaseTarget(
            normalise_database_url(settings.database_url),
            embedded=False,
            owner_url=normalise_database_url(owner) if owner else None,
        )
    superuser = start_embedded_postgres(settings.pgdata_dir)
    from bloomer_ai.db.roles import ensure_login_role

    ensure_login_role(superuser, settings.db_app_role)
    return DatabaseTarget(
        superuser.set(username=settings.db_app_role),
        embedded=True,
        owner_url=superuser,
        pgdata=settings.pgdata_dir,
    )


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


def create_engine(
    target: DatabaseTarget, settings: DatabaseSettings, *, as_owner: bool = False
) -> AsyncEngine:
    """The service's pool (``as_owner``: the owner's, for operator commands)."""
    return create_async_engine(
        target.operator_url if as_owner else target.url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=False,
        # Statement parameters are user content: never in an exception's text (or a log).
        hide_parameters=True,
        connect_args={
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
            "connect_timeout": 5,
        },
    )
