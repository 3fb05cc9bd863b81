"""integrations, the idempotency store, and the inbox's bodies and answers

``integrations``: a shop's connections to providers (Twilio, Vapi, Lilli, Chatwoot,
Zendesk), secrets sealed with AES-256-GCM (the key's id beside them), a voice number unique
across shops. ``idempotency_keys``: one row per shop and ``Idempotency-Key`` (the request's
hash, the answer given, an expiry); its unique constraint makes concurrent duplicates one
effect. ``webhook_deliveries`` keeps the raw body and the answer of each delivery until
the retention purge.

Both new tables are shop-owned: row-level security enabled and forced, as every other.
Before a shop is known, an inbound webhook finds its integration (by id, by the called
number, by the provider's account id) through SECURITY DEFINER functions; the retention
purge, which spans shops, is two more (docs/database.md).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from bloomer_ai.db.roles import grant_app_role, shop_isolation

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHOP_OWNED = ("integrations", "idempotency_keys")

FUNCTIONS = """
-- With its sealed secrets (opened by the service, which holds the key, never here): an
-- inbound URL names the integration, and the integration names the secret and the shop.
CREATE FUNCTION webhook_integration(p_id uuid)
RETURNS TABLE (id uuid, shop_id uuid, provider text, kind text, status text,
               secrets_key_id text, secrets_ciphertext bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT i.id, i.shop_id, i.provider::text, i.kind::text, i.status::text,
           i.secrets_key_id::text, i.secrets_ciphertext
    FROM public.integrations i WHERE i.id = p_id
$$;

CREATE FUNCTION webhook_integration_by_number(p_phone_number text)
RETURNS TABLE (id uuid, shop_id uuid, provider text, kind text, status text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT i.id, i.shop_id, i.provider::text, i.kind::text, i.status::text
    FROM public.integrations i WHERE i.phone_number = p_phone_number
$$;

-- At most two rows: one is an answer, two say the account is not enough to know the shop.
CREATE FUNCTION webhook_integrations_by_account(p_provider text, p_account text)
RETURNS TABLE (id uuid, shop_id uuid, provider text, kind text, status text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT i.id, i.shop_id, i.provider::text, i.kind::text, i.status::text
    FROM public.integrations i
    WHERE i.external_account_id = p_account AND i.provider = p_provider
    LIMIT 2
$$;

CREATE FUNCTION purge_webhook_bodies(p_before timestamptz) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    WITH purged AS (
        UPDATE public.webhook_deliveries
        SET raw_body = NULL, response_body = NULL, purged_at = now()
        WHERE purged_at IS NULL AND received_at < p_before
        RETURNING 1
    )
    SELECT count(*) FROM purged
$$;

CREATE FUNCTION purge_idempotency_keys(p_now timestamptz) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    WITH gone AS (
        DELETE FROM public.idempotency_keys WHERE expires_at <= p_now RETURNING 1
    )
    SELECT count(*) FROM gone
$$;
"""

DEFINER_FUNCTIONS = (
    "webhook_integration(uuid)",
    "webhook_integration_by_number(text)",
    "webhook_integrations_by_account(text, text)",
    "purge_webhook_bodies(timestamptz)",
    "purge_idempotency_keys(timestamptz)",
)


def upgrade() -> None:
    op.create_table(
        "integrations",
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("external_account_id", sa.String(length=200), nullable=True),
        sa.Column("phone_number", sa.String(length=16), nullable=True),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("secrets_key_id", sa.String(length=32), nullable=True),
        sa.Column("secrets_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column(
            "secret_names",
            postgresql.ARRAY(sa.String(length=40)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), nullable=False),
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
        sa.Column("shop_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "provider in ('twilio', 'vapi', 'lilli', 'chatwoot', 'zendesk')",
            name=op.f("ck_integrations_provider_known"),
        ),
        sa.CheckConstraint("kind in ('voice', 'support')", name=op.f("ck_integrations_kind_known")),
        sa.CheckConstraint(
            "status in ('active', 'disabled')", name=op.f("ck_integrations_status_known")
        ),
        sa.CheckConstraint(
            "phone_number IS NULL OR (kind = 'voice' AND phone_number ~ '^\\+[1-9][0-9]{6,14}$')",
            name=op.f("ck_integrations_phone_number_e164"),
        ),
        sa.CheckConstraint(
            "(secrets_ciphertext IS NULL) = (secrets_key_id IS NULL)",
            name=op.f("ck_integrations_secrets_sealed"),
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_integrations_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrations")),
        sa.UniqueConstraint("phone_number", name=op.f("uq_integrations_phone_number")),
        sa.UniqueConstraint("shop_id", "id", name=op.f("uq_integrations_shop_id_id")),
    )
    op.create_index(op.f("ix_integrations_shop_id"), "integrations", ["shop_id"], unique=False)
    op.create_index(
        op.f("ix_integrations_external_account_id"),
        "integrations",
        ["external_account_id"],
        unique=False,
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("response_content_type", sa.String(length=100), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("shop_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_idempotency_keys_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("shop_id", "key", name=op.f("uq_idempotency_keys_shop_id_key")),
    )
    op.create_index(
        op.f("ix_idempotency_keys_expires_at"), "idempotency_keys", ["expires_at"], unique=False
    )
    op.create_index(
        op.f("ix_idempotency_keys_shop_id"), "idempotency_keys", ["shop_id"], unique=False
    )

    for column in (
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("integration_id", sa.UUID(), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("raw_body", sa.LargeBinary(), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("response_content_type", sa.String(length=100), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
    ):
        op.add_column("webhook_deliveries", column)
    op.create_index(
        "ix_webhook_deliveries_kept_received_at",
        "webhook_deliveries",
        ["received_at"],
        unique=False,
        postgresql_where=sa.text("purged_at IS NULL"),
    )

    for table in SHOP_OWNED:
        for statement in shop_isolation(table):
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
    op.drop_index(
        "ix_webhook_deliveries_kept_received_at",
        table_name="webhook_deliveries",
        postgresql_where=sa.text("purged_at IS NULL"),
    )
    for column in (
        "purged_at",
        "response_content_type",
        "response_body",
        "response_status",
        "raw_body",
        "content_type",
        "integration_id",
        "kind",
    ):
        op.drop_column("webhook_deliveries", column)
    op.drop_index(op.f("ix_idempotency_keys_shop_id"), table_name="idempotency_keys")
    op.drop_index(op.f("ix_idempotency_keys_expires_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index(op.f("ix_integrations_external_account_id"), table_name="integrations")
    op.drop_index(op.f("ix_integrations_shop_id"), table_name="integrations")
    op.drop_table("integrations")
