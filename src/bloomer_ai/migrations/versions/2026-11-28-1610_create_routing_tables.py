"""create routing tables

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_routing_rules",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="100", nullable=False),
        sa.Column("conditions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("action", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("stop_on_match", sa.Boolean(), server_default=sa.text("false"), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_order_routing_rules_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_routing_rules")),
    )
    op.create_index(
        op.f("ix_order_routing_rules_shop_id"), "order_routing_rules", ["shop_id"], unique=False
    )
    op.create_index(
        "ix_order_routing_rules_shop_order",
        "order_routing_rules",
        ["shop_id", "priority", "created_at"],
        unique=False,
    )
    op.create_table(
        "routing_rule_set_versions",
        sa.Column("shop_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_routing_rule_set_versions_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("shop_id", name=op.f("pk_routing_rule_set_versions")),
    )


def downgrade() -> None:
    op.drop_table("routing_rule_set_versions")
    op.drop_index("ix_order_routing_rules_shop_order", table_name="order_routing_rules")
    op.drop_index(op.f("ix_order_routing_rules_shop_id"), table_name="order_routing_rules")
    op.drop_table("order_routing_rules")
