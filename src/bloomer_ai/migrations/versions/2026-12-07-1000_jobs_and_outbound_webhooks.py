"""jobs and outbound webhooks

procrastinate's schema (its tables, types, functions and triggers, all named
``procrastinate_…``), applied from a vendored copy of the SQL that procrastinate 3.10.0
ships (``migrations/sql/``): procrastinate has no Alembic integration, and a job is
deferred on the request's own connection, so its tables live next to ours in ``public``.
``%`` is escaped because the driver reads the script for placeholders. A later
procrastinate schema change is one more migration applying its migration file. The
tables are hidden from autogenerate (``db.migrate.include_name``), so ``alembic check``
stays clean. The service's role gets its rights on them from the default privileges
(``db.roles.grant_app_role``): procrastinate's tables hold no shop data and have no
row-level security; jobs about one shop carry it in their arguments and run with it set
(``jobs.tasks.shop_task``).

Outbound webhooks: a shop's endpoints (``whsec_…`` secret, the previous one during a
rotation), the events recorded in the transaction of their change, and every delivery
attempt; all three isolated per shop like every shop-owned table (row-level security,
enabled and forced), attempts tied to their event and endpoint by composite foreign keys.
``purge_webhook_events(interval)`` is the cross-shop path of the periodic retention job:
a ``SECURITY DEFINER`` function owned by the owner, executable by the service's role only.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from bloomer_ai.db.roles import grant_app_role, shop_isolation

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROCRASTINATE_SCHEMA = (
    Path(__file__).resolve().parents[1] / "sql" / "procrastinate_3_10_0_schema.sql"
)

# Functions first (some return a table's row type), their triggers with them.
DROP_PROCRASTINATE = """
DO $$
DECLARE
    fn regprocedure;
BEGIN
    FOR fn IN SELECT p.oid::regprocedure FROM pg_proc p
              WHERE p.pronamespace = 'public'::regnamespace
                AND p.proname LIKE 'procrastinate\\_%'
    LOOP
        EXECUTE 'DROP FUNCTION ' || fn || ' CASCADE';
    END LOOP;
END
$$;
DROP TABLE procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs,
           procrastinate_workers;
DROP TYPE procrastinate_job_to_defer_v1, procrastinate_job_event_type, procrastinate_job_status;
"""


SHOP_OWNED = ("webhook_endpoints", "webhook_events", "webhook_attempts")

PURGE_FUNCTION = """
CREATE FUNCTION purge_webhook_events(p_older_than interval) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    WITH purged AS (
        DELETE FROM public.webhook_events WHERE created_at < now() - p_older_than RETURNING 1
    )
    SELECT count(*) FROM purged
$$;
REVOKE ALL ON FUNCTION purge_webhook_events(interval) FROM PUBLIC;
"""


def upgrade() -> None:
    bind = op.get_bind()
    bind.exec_driver_sql(PROCRASTINATE_SCHEMA.read_text().replace("%", "%%"))
    _create_webhook_tables()
    for table in SHOP_OWNED:
        for statement in shop_isolation(table):
            op.execute(statement)
    op.execute(PURGE_FUNCTION)
    role = context.config.attributes.get("app_role")
    if role:
        grant_app_role(bind, role)


def _create_webhook_tables() -> None:
    def shop_and_id() -> list[sa.Column[object]]:
        return [
            sa.Column("id", sa.UUID(), nullable=False),
            sa.Column("shop_id", sa.UUID(), nullable=False),
        ]

    op.create_table(
        "webhook_endpoints",
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column(
            "event_types",
            postgresql.ARRAY(sa.String(length=64)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("disabled_reason", sa.String(length=32), nullable=True),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("previous_secret", sa.String(length=100), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        *shop_and_id(),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_webhook_endpoints_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
        sa.UniqueConstraint("shop_id", "id", name="uq_webhook_endpoints_shop_id_id"),
    )
    op.create_index(
        op.f("ix_webhook_endpoints_shop_id"), "webhook_endpoints", ["shop_id"], unique=False
    )
    op.create_table(
        "webhook_events",
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        *shop_and_id(),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_webhook_events_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("shop_id", "id", name="uq_webhook_events_shop_id_id"),
    )
    op.create_index("ix_webhook_events_created_at", "webhook_events", ["created_at"], unique=False)
    op.create_index(op.f("ix_webhook_events_shop_id"), "webhook_events", ["shop_id"], unique=False)
    op.create_table(
        "webhook_attempts",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("endpoint_id", sa.UUID(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column(
            "attempted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        *shop_and_id(),
        sa.CheckConstraint(
            "outcome in ('succeeded', 'failed', 'gone', 'refused')",
            name=op.f("ck_webhook_attempts_outcome_known"),
        ),
        sa.ForeignKeyConstraint(
            ["shop_id", "endpoint_id"],
            ["webhook_endpoints.shop_id", "webhook_endpoints.id"],
            name="fk_webhook_attempts_shop_endpoint",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id", "event_id"],
            ["webhook_events.shop_id", "webhook_events.id"],
            name="fk_webhook_attempts_shop_event",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_webhook_attempts_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index(
        "ix_webhook_attempts_shop_endpoint",
        "webhook_attempts",
        ["shop_id", "endpoint_id"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_attempts_shop_event", "webhook_attempts", ["shop_id", "event_id"], unique=False
    )
    op.create_index(
        op.f("ix_webhook_attempts_shop_id"), "webhook_attempts", ["shop_id"], unique=False
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION purge_webhook_events(interval)")
    op.drop_table("webhook_attempts")  # its policies and indexes with it
    op.drop_table("webhook_events")
    op.drop_table("webhook_endpoints")
    op.get_bind().exec_driver_sql(DROP_PROCRASTINATE.replace("%", "%%"))
