"""Alembic environment: runs on the connection or URL handed over by bloomer_ai.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from bloomer_ai.db.migrate import include_name
from bloomer_ai.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            include_name=include_name,
            # One transaction per migration: a migration may step out of it for
            # CREATE INDEX CONCURRENTLY (autocommit_block), and a failed one leaves the
            # ones before it applied and stamped.
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        # The plain `alembic` command: the owner's connection from the settings.
        from bloomer_ai.config import get_settings
        from bloomer_ai.db.engine import resolve_database
        from bloomer_ai.kit.database_urls import libpq_url

        settings = get_settings().db
        config.attributes.setdefault("app_role", settings.db_app_role)
        url = libpq_url(resolve_database(settings).operator_url).replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(
            connection=conn,
            target_metadata=target_metadata,
            compare_type=True,
            include_name=include_name,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
