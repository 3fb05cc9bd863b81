"""Database URLs: accepted spellings, the driver we use, and a password-free description."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

_ACCEPTED_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg_async"}


def normalise_database_url(raw: str) -> URL:
    """Parse a PostgreSQL URL and pin the psycopg 3 driver; ValueError names the fault."""
    try:
        url = make_url(raw.strip())
    except ArgumentError:
        raise ValueError(
            "DATABASE_URL is not a valid URL (expected postgresql://user:pass@host:port/db)"
        ) from None
    scheme = url.drivername
    if scheme not in _ACCEPTED_SCHEMES:
        raise ValueError(
            f"DATABASE_URL has scheme {scheme!r}; only PostgreSQL (postgresql://) is supported"
        )
    if not url.database:
        raise ValueError("DATABASE_URL names no database (postgresql://host:port/DATABASE)")
    return url.set(drivername="postgresql+psycopg")


def describe_url(url: URL) -> str:
    """host:port/database for messages: never the password."""
    host = url.host or url.query.get("host") or "localhost"
    if isinstance(host, tuple):
        host = host[0]
    port = url.port or 5432
    return f"{host}:{port}/{url.database}"


def libpq_url(url: URL) -> str:
    """A plain libpq connection string (for psycopg and procrastinate)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def connect_arguments(url: URL) -> dict[str, Any]:
    """psycopg's arguments for a connection of our own (outside an engine's pool)."""
    host = url.host or url.query.get("host")  # the embedded server's socket folder
    return {
        "host": host if isinstance(host, str) else None,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }
