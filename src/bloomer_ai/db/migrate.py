"""Alembic, driven from code: ``bloomer-ai db upgrade``, ``serve`` and the tests use it.

Migrations run on the owner's connection and grant the service's role (DB_APP_ROLE)
what it needs; the grants are applied again after every upgrade, so a role created after
the schema still gets them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, create_engine, inspect, pool
from sqlalchemy.engine import URL

from bloomer_ai.db.roles import grant_app_role

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
PROCRASTINATE_PREFIX = "procrastinate_"


def include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    """What Alembic compares with the models: not procrastinate's tables (its schema is
    applied from a vendored copy of its SQL, migration 0008, not from models)."""
    return not (type_ == "table" and (name or "").startswith(PROCRASTINATE_PREFIX))


class MigrationError(Exception):
    """A migration command that cannot run; the message is one line."""


@dataclass(frozen=True)
class Upgraded:
    """Where an upgrade found the database and where it left it (None: no schema)."""

    before: str | None
    after: str | None


class _ContextChatter(logging.Filter):
    """Alembic says which dialect it uses on every run; only migrations run are news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Context impl", "Will assume"))


logging.getLogger("alembic.runtime.migration").addFilter(_ContextChatter())


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


def known_revisions() -> list[str]:
    """The code's revisions, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [script_revision.revision for script_revision in script.walk_revisions()][::-1]


def _check_revision(revision: str) -> None:
    """Refuse a revision this code does not have before touching the database."""
    if revision[:1] in "+-" or "@" in revision:
        return  # relative to the database's revision: Alembic resolves it, or says why not
    try:
        ScriptDirectory.from_config(alembic_config()).get_revisions(revision)
    except CommandError:
        known = known_revisions()
        raise MigrationError(
            f"unknown revision {revision} (known: {known[0]}…{known[-1]}, head)"
        ) from None


def _current(connection: Connection) -> str | None:
    current = MigrationContext.configure(connection).get_current_revision()
    connection.commit()  # end the read's transaction: Alembic begins one per migration
    return current


# Before migrations 0008 (jobs, webhooks) and 0009 (integrations, idempotency) were put
# under it, 0010 (campaign consent) followed 0007: a database made then says 0010 and has
# neither. Upgrading it would skip both, and fail later on a missing table.
EARLIER_CHAIN = "0010"
MADE_BY_0008 = "webhook_endpoints"


def _refuse_the_earlier_chain(connection: Connection, current: str | None) -> None:
    if current != EARLIER_CHAIN or inspect(connection).has_table(MADE_BY_0008):
        return
    connection.commit()
    raise MigrationError(
        "this database was made when migration 0010 came right after 0007; 0008 and 0009 "
        "now come before it and would be skipped: make the database again (for make run: "
        "remove the data folder, BLOOMER_DATA_DIR, .bloomer by default)"
    )


def _run(url: URL, action: str, revision: str, app_role: str | None) -> Upgraded:
    _check_revision(revision)
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        # No transaction around the run: Alembic begins one per migration.
        with engine.connect() as connection:
            before = _current(connection)
            if action == "upgrade":
                _refuse_the_earlier_chain(connection, before)
            config = alembic_config(url)
            config.attributes["connection"] = connection
            config.attributes["app_role"] = app_role
            try:
                getattr(command, action)(config, revision)
            except CommandError as exc:
                raise MigrationError(str(exc).strip().splitlines()[0]) from None
            if action == "upgrade" and app_role:
                grant_app_role(connection, app_role)
            connection.commit()  # the grants, or what Alembic read when it had nothing to do
            return Upgraded(before=before, after=_current(connection))
    finally:
        engine.dispose()


def upgrade(url: URL, revision: str = "head", *, app_role: str | None = None) -> Upgraded:
    """Upgrade as the tables' owner (``url``), granting ``app_role`` its rights. Never goes
    back: a revision older than the database's leaves it where it is (``after`` says so).
    An unknown revision is a MigrationError, before anything is run."""
    return _run(url, "upgrade", revision, app_role)


def downgrade(url: URL, revision: str, *, app_role: str | None = None) -> Upgraded:
    return _run(url, "downgrade", revision, app_role)


def schema_revisions(url: URL) -> tuple[str | None, str]:
    """The database's current revision (None: no schema) and the code's head revision."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    return current, head
