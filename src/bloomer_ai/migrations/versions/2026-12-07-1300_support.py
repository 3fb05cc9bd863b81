"""support automation: events, rules, tasks and context reads

``support_events``: what support platforms (Lilli, Chatwoot, Zendesk) told us, one row per
delivery, personal data reduced. ``support_rules``: a shop's JsonLogic automation rules.
``support_tasks``: work for the shop's staff, created by rules from events.
``support_context_reads``: every read of a customer's support context (who, when, which
customer; no personal data). All four are shop-owned: row-level security enabled and
forced, as every other.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from bloomer_ai.db.roles import grant_app_role, shop_isolation

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHOP_OWNED = ("support_events", "support_rules", "support_tasks", "support_context_reads")


def _shop_column() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("shop_id", sa.UUID(), nullable=False)


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
        "support_events",
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("delivery_id", sa.String(length=300), nullable=False),
        sa.Column("external_conversation_id", sa.String(length=200), nullable=True),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _now("created_at"),
        sa.Column("id", sa.UUID(), nullable=False),
        _shop_column(),
        sa.CheckConstraint(
            "channel IS NULL OR channel in ('chat', 'email', 'sms', 'whatsapp', 'voice', 'social')",
            name=op.f("ck_support_events_channel_known"),
        ),
        sa.ForeignKeyConstraint(
            ["shop_id", "customer_id"],
            ["customers.shop_id", "customers.id"],
            name="fk_support_events_shop_customer",
            ondelete="RESTRICT",
        ),
        _shop_fk("support_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_events")),
        sa.UniqueConstraint("shop_id", "id", name="uq_support_events_shop_id_id"),
    )
    op.create_index(op.f("ix_support_events_shop_id"), "support_events", ["shop_id"])
    op.create_index("ix_support_events_shop_id_id", "support_events", ["shop_id", "id"])
    op.create_index("ix_support_events_shop_type_id", "support_events", ["shop_id", "type", "id"])
    op.create_index(
        "ix_support_events_shop_channel_id", "support_events", ["shop_id", "channel", "id"]
    )
    op.create_index(
        "ix_support_events_shop_customer_id", "support_events", ["shop_id", "customer_id", "id"]
    )
    op.create_index(
        "ix_support_events_shop_conversation_id",
        "support_events",
        ["shop_id", "external_conversation_id", "id"],
    )

    op.create_table(
        "support_rules",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="100", nullable=False),
        sa.Column("conditions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("actions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("stop_on_match", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        _shop_column(),
        _shop_fk("support_rules"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_rules")),
    )
    op.create_index(op.f("ix_support_rules_shop_id"), "support_rules", ["shop_id"])
    op.create_index(
        "ix_support_rules_shop_order", "support_rules", ["shop_id", "priority", "created_at"]
    )

    op.create_table(
        "support_tasks",
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("priority", sa.String(length=16), server_default="normal", nullable=False),
        sa.Column("assignee_role", sa.String(length=16), nullable=True),
        sa.Column("assignee_user_id", sa.UUID(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("event_id", sa.UUID(), nullable=True),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("rule_id", sa.String(length=64), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        _shop_column(),
        sa.CheckConstraint(
            "status in ('open', 'in_progress', 'done')", name=op.f("ck_support_tasks_status_known")
        ),
        sa.CheckConstraint(
            "priority in ('low', 'normal', 'high', 'urgent')",
            name=op.f("ck_support_tasks_priority_known"),
        ),
        sa.CheckConstraint(
            "assignee_role IS NULL OR assignee_role in ('owner', 'admin', 'staff')",
            name=op.f("ck_support_tasks_assignee_role_known"),
        ),
        sa.ForeignKeyConstraint(
            ["shop_id", "event_id"],
            ["support_events.shop_id", "support_events.id"],
            name="fk_support_tasks_shop_event",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id", "customer_id"],
            ["customers.shop_id", "customers.id"],
            name="fk_support_tasks_shop_customer",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_user_id"],
            ["users.id"],
            name=op.f("fk_support_tasks_assignee_user_id_users"),
            ondelete="SET NULL",
        ),
        _shop_fk("support_tasks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_tasks")),
    )
    op.create_index(op.f("ix_support_tasks_shop_id"), "support_tasks", ["shop_id"])
    op.create_index("ix_support_tasks_shop_id_id", "support_tasks", ["shop_id", "id"])
    op.create_index("ix_support_tasks_shop_status_id", "support_tasks", ["shop_id", "status", "id"])
    op.create_index("ix_support_tasks_shop_event", "support_tasks", ["shop_id", "event_id"])

    op.create_table(
        "support_context_reads",
        sa.Column("principal_kind", sa.String(length=16), nullable=False),
        sa.Column("api_key_id", sa.UUID(), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("lookup", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        _now("read_at"),
        sa.Column("id", sa.UUID(), nullable=False),
        _shop_column(),
        sa.CheckConstraint(
            "lookup in ('customerId', 'phone', 'email')",
            name=op.f("ck_support_context_reads_lookup_known"),
        ),
        _shop_fk("support_context_reads"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_context_reads")),
    )
    op.create_index(op.f("ix_support_context_reads_shop_id"), "support_context_reads", ["shop_id"])
    op.create_index(
        "ix_support_context_reads_shop_id_id", "support_context_reads", ["shop_id", "id"]
    )

    for table in SHOP_OWNED:
        for statement in shop_isolation(table):
            op.execute(statement)
    role = context.config.attributes.get("app_role")
    if role:
        grant_app_role(op.get_bind(), role)


def downgrade() -> None:
    op.drop_table("support_context_reads")
    op.drop_table("support_tasks")
    op.drop_table("support_rules")
    op.drop_table("support_events")
