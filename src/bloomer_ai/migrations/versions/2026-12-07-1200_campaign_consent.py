"""campaign consent per channel, and the indexes of campaign suggestions

Customers get a marketing consent per channel (``email_consent``, ``sms_consent``:
``true`` given, ``false`` refused, ``NULL`` never asked — every existing customer), each
with the time it was recorded. A recorded answer has a time (check constraints).

Campaign suggestions (``docs/campaigns.md``) read all of a shop's orders that were not
cancelled: per customer (segments) and by the time they were placed (send time, and the
weeks before an occasion). Two partial indexes hold exactly those rows, so the queries
are index ranges starting at ``shop_id`` with only leakproof operators in their
conditions (row-level security keeps other conditions away from an index):

* ``ix_orders_shop_customer_live (shop_id, customer_id, placed_at)`` — a customer's
  count, last order and recent orders, in index order;
* ``ix_orders_shop_placed_live (shop_id, placed_at) INCLUDE (customer_id)`` — orders in
  a time window, with their customer.

Built ``CONCURRENTLY``: on a shop database with millions of orders a plain ``CREATE
INDEX`` would block writes while it runs.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "status <> 'cancelled'"

# (name, columns, INCLUDE, WHERE)
INDEXES: tuple[tuple[str, str, str | None, str], ...] = (
    (
        "ix_orders_shop_customer_live",
        "shop_id, customer_id, placed_at",
        None,
        f"{LIVE} AND customer_id IS NOT NULL",
    ),
    ("ix_orders_shop_placed_live", "shop_id, placed_at", "customer_id", LIVE),
)


def upgrade() -> None:
    for channel in ("email", "sms"):
        op.add_column("customers", sa.Column(f"{channel}_consent", sa.Boolean(), nullable=True))
        op.add_column(
            "customers",
            sa.Column(f"{channel}_consent_at", sa.DateTime(timezone=True), nullable=True),
        )
        op.create_check_constraint(
            op.f(f"ck_customers_{channel}_consent_dated"),
            "customers",
            f"{channel}_consent IS NULL OR {channel}_consent_at IS NOT NULL",
        )
    with op.get_context().autocommit_block():
        for name, columns, include, where in INDEXES:
            op.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON orders ({columns})"
                + (f" INCLUDE ({include})" if include else "")
                + f" WHERE {where}"
            )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name, _columns, _include, _where in reversed(INDEXES):
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    for channel in ("sms", "email"):
        op.drop_constraint(op.f(f"ck_customers_{channel}_consent_dated"), "customers")
        op.drop_column("customers", f"{channel}_consent_at")
        op.drop_column("customers", f"{channel}_consent")
