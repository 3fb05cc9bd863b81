"""announce routing rule-set changes

Every change of a shop's routing rule-set version is announced on the channel
``routing_rule_sets`` (payload ``<shop id>:<version>``), so API processes can keep
compiled rules without asking the database on each evaluation. A change of a shop's time
zone or currency, which evaluation also reads, bumps that version too.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 19:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION announce_routing_rule_set() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            -- Delivered at commit, to every session listening; never for a rolled-back change.
            PERFORM pg_notify('routing_rule_sets', NEW.shop_id::text || ':' || NEW.version::text);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER routing_rule_set_versions_announce
        AFTER INSERT OR UPDATE ON routing_rule_set_versions
        FOR EACH ROW EXECUTE FUNCTION announce_routing_rule_set()
        """
    )
    op.execute(
        """
        CREATE FUNCTION bump_routing_version_of_shop() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO routing_rule_set_versions (shop_id, version) VALUES (NEW.id, 1)
            ON CONFLICT (shop_id)
            DO UPDATE SET version = routing_rule_set_versions.version + 1;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER shops_bump_routing_version
        AFTER UPDATE OF timezone, currency ON shops
        FOR EACH ROW
        WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone
              OR OLD.currency IS DISTINCT FROM NEW.currency)
        EXECUTE FUNCTION bump_routing_version_of_shop()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER shops_bump_routing_version ON shops")
    op.execute("DROP FUNCTION bump_routing_version_of_shop()")
    op.execute("DROP TRIGGER routing_rule_set_versions_announce ON routing_rule_set_versions")
    op.execute("DROP FUNCTION announce_routing_rule_set()")
