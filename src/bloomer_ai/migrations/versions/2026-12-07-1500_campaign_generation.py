"""campaign generation requests

``campaign_generation_requests``: a shop's requests for AI campaign copy, their status,
attempts, error and result. Shop-owned: row-level security enabled and forced, as every
other. Two SECURITY DEFINER look-ups cross shops on purpose: the shop of a request named
by a signed callback (before any shop is known), and the requests whose callback deadline
has passed (the periodic expiry job).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from bloomer_ai.db.roles import grant_app_role, shop_isolation

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "campaign_generation_requests"

FUNCTIONS = """
-- A signed callback names a request; its shop decides which secrets may sign it.
CREATE FUNCTION campaign_generation_shop(p_id uuid) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT r.shop_id FROM public.campaign_generation_requests r WHERE r.id = p_id
$$;

-- Requests still waiting for Lilli after their deadline, oldest deadline first.
CREATE FUNCTION expired_campaign_generations(p_now timestamptz, p_limit integer)
RETURNS TABLE (shop_id uuid, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT r.shop_id, r.id FROM public.campaign_generation_requests r
    WHERE r.status = 'awaiting_callback' AND r.callback_deadline_at <= p_now
    ORDER BY r.callback_deadline_at
    LIMIT p_limit
$$;
"""

DEFINER_FUNCTIONS = (
    "campaign_generation_shop(uuid)",
    "expired_campaign_generations(timestamptz, integer)",
)


def _now(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _at(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("campaign_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=24), server_default="pending", nullable=False),
        sa.Column("input", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("brief", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("output", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.String(length=300), nullable=True),
        sa.Column("completed_by", sa.String(length=16), nullable=True),
        sa.Column("callback_id", sa.String(length=300), nullable=True),
        _at("started_at"),
        _at("awaiting_callback_at"),
        _at("callback_deadline_at"),
        _at("completed_at"),
        _at("failed_at"),
        _at("cancelled_at"),
        sa.Column("id", sa.UUID(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.Column("shop_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "status in ('pending', 'processing', 'awaiting_callback', 'completed', 'failed', "
            "'cancelled')",
            name=op.f("ck_campaign_generation_requests_status_known"),
        ),
        sa.CheckConstraint(
            "status <> 'completed' OR output IS NOT NULL",
            name=op.f("ck_campaign_generation_requests_completed_has_output"),
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_campaign_generation_requests_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_generation_requests")),
    )
    op.create_index(op.f("ix_campaign_generation_requests_shop_id"), TABLE, ["shop_id"])
    op.create_index("ix_campaign_generation_requests_shop_id_id", TABLE, ["shop_id", "id"])
    op.create_index(
        "ix_campaign_generation_requests_shop_status_id", TABLE, ["shop_id", "status", "id"]
    )
    op.create_index(
        "ix_campaign_generation_requests_shop_campaign_id",
        TABLE,
        ["shop_id", "campaign_id", "id"],
    )
    op.create_index(
        "ix_campaign_generation_requests_callback_deadline",
        TABLE,
        ["callback_deadline_at"],
        postgresql_where=sa.text("status = 'awaiting_callback'"),
    )

    for statement in shop_isolation(TABLE):
        op.execute(statement)
    op.execute(FUNCTIONS)
    for function in DEFINER_FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    role = context.config.attributes.get("app_role")
    if role:
        grant_app_role(op.get_bind(), role)


def downgrade() -> None:
    for function in DEFINER_FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
    op.drop_table(TABLE)
