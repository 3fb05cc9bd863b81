"""shop tools: the product catalogue and the record of tool calls

``products``: a shop's small catalogue (name, price, availability) that the
``search_products`` and ``place_order`` tools read. ``tool_calls``: one row per call of a
shop tool (tool, arguments hash, outcome, duration), on the conversation it belongs to
(composite foreign key) or a voice call (a plain column: the voice migration adds its
foreign key). Both are shop-owned: row-level security enabled and forced, as every other.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from bloomer_ai.db.roles import grant_app_role, shop_isolation

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHOP_OWNED = ("products", "tool_calls")


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
        "products",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("product_type", sa.String(length=64), server_default="product", nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("price_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("available", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.Column("shop_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("price_minor >= 0", name=op.f("ck_products_price_not_negative")),
        _shop_fk("products"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("shop_id", "id", name="uq_products_shop_id_id"),
    )
    op.create_index(op.f("ix_products_shop_id"), "products", ["shop_id"])
    op.create_index("ix_products_shop_id_id", "products", ["shop_id", "id"])
    op.create_index("ix_products_shop_lower_name", "products", ["shop_id", sa.text("lower(name)")])

    op.create_table(
        "tool_calls",
        sa.Column("tool", sa.String(length=64), nullable=False),
        sa.Column("arguments_hash", sa.String(length=64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("principal_kind", sa.String(length=16), nullable=False),
        sa.Column("api_key_id", sa.UUID(), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("conversation_id", sa.UUID(), nullable=True),
        sa.Column("voice_call_id", sa.UUID(), nullable=True),
        _now("created_at"),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("shop_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id", "conversation_id"],
            ["agent_conversations.shop_id", "agent_conversations.id"],
            name="fk_tool_calls_shop_conversation",
            ondelete="CASCADE",
        ),
        _shop_fk("tool_calls"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tool_calls")),
    )
    op.create_index(op.f("ix_tool_calls_shop_id"), "tool_calls", ["shop_id"])
    op.create_index("ix_tool_calls_shop_id_id", "tool_calls", ["shop_id", "id"])
    op.create_index("ix_tool_calls_shop_conversation", "tool_calls", ["shop_id", "conversation_id"])
    op.create_index("ix_tool_calls_shop_voice_call", "tool_calls", ["shop_id", "voice_call_id"])

    for table in SHOP_OWNED:
        for statement in shop_isolation(table):
            op.execute(statement)
    role = context.config.attributes.get("app_role")
    if role:
        grant_app_role(op.get_bind(), role)


def downgrade() -> None:
    op.drop_table("tool_calls")
    op.drop_table("products")
