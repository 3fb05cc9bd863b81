"""Alembic, driven from code: ``bloomer-ai db upgrade``, ``serve`` and the tests use it.

Migrations run on the owner's connection and grant the service's role (DB_APP_ROLE)
what it needs; the grants are applied again after every upgrade, so a role created after
the schema still gets them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import URL

from bloomer_ai.db.roles import grant_app_role

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
PROCRASTINATE_PREFIX = "procrastinate_"


def include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    """What Alembic compares with the models: not procrastinate's tables (its schema is
    applied from a vendored copy of its SQL, migration 0008, not from models)."""
    return not (type_ == "table" and (name or "").startswith(PROCRASTINATE_PREFIX))


def alembic_config(url: URL | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "file_template", "%%(year)d-%%(month).2d-%%(day).2d-%%(hour).2d%%(minute).2d_%%(slug)s"
    )
    if url is not None:
        config.set_main_option(
            "sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return config


def _run(url: URL, action: str, revision: str, app_role: str | None) -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        # No transaction around the run: Alembic begins one per migration.
        with engine.connect() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            config.attributes["app_role"] = app_role
            getattr(command, action)(config, revision)
            if action == "upgrade" and app_role:
                grant_app_role(connection, app_role)
            connection.commit()  # the grants, or what Alembic read when it had nothing to do
    finally:
        engine.dispose()


def upgrade(url: URL, revision: str = "head", *, app_role: str | None = None) -> None:
    """Upgrade as the tables' owner (``url``), granting ``app_role`` its rights."""
    _run(url, "upgrade", revision, app_role)


def downgrade(url: URL, revision: str, *, app_role: str | None = None) -> None:
    _run(url, "downgrade", revision, app_role)


def schema_revisions(url: URL) -> tuple[str | None, str]:
    """The database's current revision (None: no schema) and the code's head revision."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    engine = create_engine(url, poolclass=pool.NullPool)
    migration_log = logging.getLogger("alembic.runtime.migration")
    level = migration_log.level
    migration_log.setLevel(logging.WARNING)  # a read-only check: no "Context impl" chatter
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        migration_log.setLevel(level)
        engine.dispose()
    return current, head
