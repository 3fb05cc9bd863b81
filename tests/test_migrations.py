"""Migrations: one head, a clean round trip on a fresh database, and no drift from the models."""

from __future__ import annotations

import re

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import URL

from bloomer_ai.db.migrate import (
    MIGRATIONS_DIR,
    MigrationError,
    alembic_config,
    downgrade,
    include_name,
    upgrade,
)
from bloomer_ai.kit.database_urls import libpq_url
from bloomer_ai.models import Base
from support.sessions import APP_ROLE


@pytest.fixture
def fresh_database(empty_database: URL) -> URL:
    return empty_database


def public_tables(url: URL) -> set[str]:
    with psycopg.connect(libpq_url(url)) as connection:
        rows = connection.execute(
            "select table_name from information_schema.tables where table_schema = 'public'"
        ).fetchall()
    return {row[0] for row in rows}


def current_revision(url: URL) -> str | None:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


# procrastinate's tables, from its vendored schema (migration 0008), not from models.
PROCRASTINATE_TABLES = {
    "procrastinate_jobs",
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_workers",
}


def model_tables() -> set[str]:
    return set(Base.metadata.tables) | PROCRASTINATE_TABLES


def test_there_is_a_single_head() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    assert len(heads) == 1, f"several heads: {heads}; merge them"
    # Every revision is reachable from the head (no orphaned branch).
    revisions = list(script.walk_revisions())
    assert revisions
    assert revisions[-1].down_revision is None


def test_migration_files_are_named_by_date_and_slug() -> None:
    files = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py"))
    assert files
    for name in files:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}-\d{4}_[a-z0-9_]+\.py", name), name


def test_upgrade_downgrade_upgrade_on_a_fresh_database(fresh_database: URL) -> None:
    assert public_tables(fresh_database) == set()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()

    upgrade(fresh_database, app_role=APP_ROLE)
    assert current_revision(fresh_database) == head
    assert public_tables(fresh_database) == model_tables() | {"alembic_version"}

    downgrade(fresh_database, "base", app_role=APP_ROLE)
    assert current_revision(fresh_database) is None
    assert public_tables(fresh_database) <= {"alembic_version"}
    with psycopg.connect(libpq_url(fresh_database)) as connection:
        types = connection.execute(
            "select typname from pg_type t join pg_namespace n on n.oid = t.typnamespace "
            "where n.nspname = 'public' and t.typtype = 'e'"
        ).fetchall()
    assert types == []  # no enum type left behind to break the next upgrade
    with psycopg.connect(libpq_url(fresh_database)) as connection:
        functions = connection.execute(
            "select proname from pg_proc where pronamespace = 'public'::regnamespace"
        ).fetchall()
    assert functions == []

    upgrade(fresh_database, app_role=APP_ROLE)
    assert current_revision(fresh_database) == head
    assert public_tables(fresh_database) == model_tables() | {"alembic_version"}


def test_upgrade_twice_is_a_no_op(fresh_database: URL) -> None:
    upgrade(fresh_database, app_role=APP_ROLE)
    upgrade(fresh_database, app_role=APP_ROLE)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert current_revision(fresh_database) == head


def test_models_and_migrations_do_not_drift(fresh_database: URL) -> None:
    upgrade(fresh_database, app_role=APP_ROLE)
    engine = create_engine(fresh_database, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "target_metadata": Base.metadata,
                    "include_name": include_name,  # as env.py (and `alembic check`)
                },
            )
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], "models differ from migrations; autogenerate a migration:\n" + "\n".join(
        map(str, diff)
    )


def test_the_run_database_is_at_head(database_url: URL) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert current_revision(database_url) == head


def test_procrastinate_is_hidden_from_autogenerate_only() -> None:
    assert include_name("procrastinate_jobs", "table", {}) is False
    assert include_name("webhook_events", "table", {}) is True
    assert include_name("procrastinate_job_status", "type", {}) is True


def test_a_database_of_the_earlier_chain_is_refused_with_what_to_do(fresh_database: URL) -> None:
    """0010 once followed 0007; a database made then (at 0010, without 0008's tables) must
    not be upgraded past the two migrations put under it since: a clear refusal instead
    of a missing table several migrations later."""
    upgrade(fresh_database, "0007", app_role=APP_ROLE)
    with psycopg.connect(libpq_url(fresh_database), autocommit=True) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0010'")
    with pytest.raises(MigrationError, match="0008 and 0009 now come before it"):
        upgrade(fresh_database, app_role=APP_ROLE)
    assert current_revision(fresh_database) == "0010"  # nothing was run
