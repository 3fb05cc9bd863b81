"""order lookups, and orders created by this service

Indexes so that every order and customer lookup is an index scan: the list filters
(source, status with the list's newest-first order; delivery dates; created range), a
customer by e-mail in any case and by the start of the name, and the highest numeric
order number of a shop. E-mail and name are searched through lower-case generated
columns: under row-level security a condition that calls a function which is not
leakproof (``lower``, ``LIKE``) is applied after the policy, where no index can serve it;
an equality or ``starts_with`` on a column can. They are built ``CONCURRENTLY`` (outside a transaction): on a
shop database with millions of orders a plain ``CREATE INDEX`` would block writes for as
long as it runs.

Orders created here (``orders.create_order``: voice, the shop tools) carry
``needs_confirmation`` and the ``routing_suggestion`` the shop's rules made; their
numbers come from ``order_number_counters``, one row per shop, isolated like every
shop-owned table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from bloomer_ai.db.roles import grant_app_role, shop_isolation

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NUMERIC_NUMBER = "number ~ '^[0-9]{1,18}$'"

# (name, table, columns or expressions, WHERE)
INDEXES: tuple[tuple[str, str, list[str], str | None], ...] = (
    ("ix_orders_shop_source_id", "orders", ["shop_id", "source", "id"], None),
    ("ix_orders_shop_status_id", "orders", ["shop_id", "status", "id"], None),
    ("ix_orders_shop_delivery_date", "orders", ["shop_id", "delivery_date"], None),
    ("ix_orders_shop_created_at", "orders", ["shop_id", "created_at"], None),
    (
        "ix_orders_shop_numeric_number",
        "orders",
        ["shop_id", "(number::bigint)"],
        NUMERIC_NUMBER,
    ),
    ("ix_customers_shop_email_lower", "customers", ["shop_id", "email_lower"], None),
    (
        "ix_customers_shop_name_prefix",
        "customers",
        ["shop_id", "name_lower text_pattern_ops"],
        None,
    ),
)


def upgrade() -> None:
    op.add_column(
        "orders",
        sa.Column("needs_confirmation", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("orders", sa.Column("routing_suggestion", postgresql.JSONB(), nullable=True))
    op.add_column(
        "customers",
        sa.Column("email_lower", sa.Text(), sa.Computed("lower(email)", persisted=True)),
    )
    op.add_column(
        "customers",
        sa.Column(
            "name_lower", sa.Text(), sa.Computed("lower(name)", persisted=True), nullable=False
        ),
    )
    op.create_table(
        "order_number_counters",
        sa.Column("shop_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name="fk_order_number_counters_shop_id_shops",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("shop_id", name="pk_order_number_counters"),
    )
    for statement in shop_isolation("order_number_counters"):
        op.execute(statement)
    role = context.config.attributes.get("app_role")
    if role:
        grant_app_role(op.get_bind(), role)

    # Replaced: the list orders by id, so the source index carries the id.
    op.drop_index("ix_orders_shop_source_placed", table_name="orders")
    with op.get_context().autocommit_block():
        for name, table, columns, where in INDEXES:
            op.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} "
                f"({', '.join(columns)})" + (f" WHERE {where}" if where else "")
            )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name, _table, _columns, _where in reversed(INDEXES):
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    op.create_index(
        "ix_orders_shop_source_placed",
        "orders",
        ["shop_id", "source", sa.text("placed_at DESC")],
    )
    op.drop_table("order_number_counters")
    op.drop_column("customers", "name_lower")
    op.drop_column("customers", "email_lower")
    op.drop_column("orders", "routing_suggestion")
    op.drop_column("orders", "needs_confirmation")
