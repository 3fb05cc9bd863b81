"""voice: calls and their events

``voice_calls``: one row per provider call (Twilio, Vapi, Lilli voice) with its numbers in
E.164, status, times, summary, transcript (purged after VOICE_TRANSCRIPT_RETENTION_DAYS),
the customer matched by phone and the order taken. ``voice_call_events``: every accepted
delivery about a call, its payload reduced. Both are shop-owned: row-level security enabled
and forced, as every other. The transcript purge spans shops: one SECURITY DEFINER function.
A tool call made during a call (``tool_calls.voice_call_id``) now refers to it, in its shop,
and goes with it when the call is erased.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from bloomer_ai.db.roles import grant_app_role, shop_isolation

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHOP_OWNED = ("voice_calls", "voice_call_events")
E164 = "^\\+[1-9][0-9]{6,14}$"

PURGE = """
CREATE FUNCTION purge_voice_transcripts(p_before timestamptz) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    WITH purged AS (
        UPDATE public.voice_calls
        SET transcript = NULL, transcript_purged_at = now()
        WHERE transcript IS NOT NULL AND created_at < p_before
        RETURNING 1
    )
    SELECT count(*) FROM purged
$$;
REVOKE ALL ON FUNCTION purge_voice_transcripts(timestamptz) FROM PUBLIC;

-- The integration's settings come with its sealed secrets: a Vapi integration may describe
-- its credential (settings.vapiAuth), and the voice handler answers by the settings (mode,
-- greeting) without reading the row again.
DROP FUNCTION webhook_integration(uuid);
CREATE FUNCTION webhook_integration(p_id uuid)
RETURNS TABLE (id uuid, shop_id uuid, provider text, kind text, status text,
               secrets_key_id text, secrets_ciphertext bytea, settings jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT i.id, i.shop_id, i.provider::text, i.kind::text, i.status::text,
           i.secrets_key_id::text, i.secrets_ciphertext, i.settings
    FROM public.integrations i WHERE i.id = p_id
$$;
REVOKE ALL ON FUNCTION webhook_integration(uuid) FROM PUBLIC;
"""

RESTORE = """
DROP FUNCTION webhook_integration(uuid);
CREATE FUNCTION webhook_integration(p_id uuid)
RETURNS TABLE (id uuid, shop_id uuid, provider text, kind text, status text,
               secrets_key_id text, secrets_ciphertext bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT i.id, i.shop_id, i.provider::text, i.kind::text, i.status::text,
           i.secrets_key_id::text, i.secrets_ciphertext
    FROM public.integrations i WHERE i.id = p_id
$$;
REVOKE ALL ON FUNCTION webhook_integration(uuid) FROM PUBLIC;
"""


def _now(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _shop_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["shop_id"], ["shops.id"], name=op.f(f"fk_{table}_shop_id_shops"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "voice_calls",
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_call_id", sa.String(length=200), nullable=False),
        sa.Column("direction", sa.String(length=16), server_default="inbound", nullable=False),
        sa.Column("from_number", sa.String(length=16), nullable=True),
        sa.Column("to_number", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="ringing", nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("ended_reason", sa.String(length=100), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("transcript_purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("order_id", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.Column("shop_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "provider in ('twilio', 'vapi', 'lilli')", name=op.f("ck_voice_calls_provider_known")
        ),
        sa.CheckConstraint(
            "direction in ('inbound', 'outbound')", name=op.f("ck_voice_calls_direction_known")
        ),
        sa.CheckConstraint(
            "status in ('ringing', 'in_progress', 'forwarding', 'ended', 'failed')",
            name=op.f("ck_voice_calls_status_known"),
        ),
        sa.CheckConstraint(
            f"from_number IS NULL OR from_number ~ '{E164}'", name=op.f("ck_voice_calls_from_e164")
        ),
        sa.CheckConstraint(
            f"to_number IS NULL OR to_number ~ '{E164}'", name=op.f("ck_voice_calls_to_e164")
        ),
        sa.CheckConstraint(
            "duration_seconds IS NULL OR duration_seconds >= 0",
            name=op.f("ck_voice_calls_duration"),
        ),
        sa.ForeignKeyConstraint(
            ["shop_id", "customer_id"],
            ["customers.shop_id", "customers.id"],
            name="fk_voice_calls_shop_customer",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id", "order_id"],
            ["orders.shop_id", "orders.id"],
            name="fk_voice_calls_shop_order",
            ondelete="RESTRICT",
        ),
        _shop_fk("voice_calls"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_calls")),
        sa.UniqueConstraint("shop_id", "id", name="uq_voice_calls_shop_id_id"),
        sa.UniqueConstraint(
            "shop_id", "provider", "provider_call_id", name="uq_voice_calls_shop_provider_call"
        ),
    )
    op.create_index(op.f("ix_voice_calls_shop_id"), "voice_calls", ["shop_id"])
    op.create_index("ix_voice_calls_shop_id_id", "voice_calls", ["shop_id", "id"])
    op.create_index("ix_voice_calls_shop_status_id", "voice_calls", ["shop_id", "status", "id"])
    op.create_index(
        "ix_voice_calls_shop_direction_id", "voice_calls", ["shop_id", "direction", "id"]
    )
    op.create_index(
        "ix_voice_calls_shop_customer_id", "voice_calls", ["shop_id", "customer_id", "id"]
    )
    op.create_index(
        "ix_voice_calls_transcript_kept",
        "voice_calls",
        ["created_at"],
        postgresql_where=sa.text("transcript IS NOT NULL"),
    )

    op.create_table(
        "voice_call_events",
        sa.Column("call_id", sa.UUID(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("delivery_id", sa.String(length=300), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _now("created_at"),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("shop_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id", "call_id"],
            ["voice_calls.shop_id", "voice_calls.id"],
            name="fk_voice_call_events_shop_call",
            ondelete="CASCADE",
        ),
        _shop_fk("voice_call_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_call_events")),
    )
    op.create_index(op.f("ix_voice_call_events_shop_id"), "voice_call_events", ["shop_id"])
    op.create_index("ix_voice_call_events_shop_id_id", "voice_call_events", ["shop_id", "id"])
    op.create_index(
        "ix_voice_call_events_shop_call_id", "voice_call_events", ["shop_id", "call_id", "id"]
    )
    op.create_index(
        "ix_voice_call_events_shop_type_id", "voice_call_events", ["shop_id", "type", "id"]
    )

    for table in SHOP_OWNED:
        for statement in shop_isolation(table):
            op.execute(statement)
    op.create_foreign_key(
        "fk_tool_calls_shop_voice_call",
        "tool_calls",
        "voice_calls",
        ["shop_id", "voice_call_id"],
        ["shop_id", "id"],
        ondelete="CASCADE",
    )
    op.execute(PURGE)
    role = context.config.attributes.get("app_role")
    if role:
        grant_app_role(op.get_bind(), role)


def downgrade() -> None:
    op.drop_constraint("fk_tool_calls_shop_voice_call", "tool_calls", type_="foreignkey")
    op.execute(RESTORE)
    op.execute("DROP FUNCTION IF EXISTS purge_voice_transcripts(timestamptz)")
    op.drop_table("voice_call_events")
    op.drop_table("voice_calls")
    role = context.config.attributes.get("app_role")
    if role:
        grant_app_role(op.get_bind(), role)
