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

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import context, op

from bloomer_ai.db.roles import grant_app_role

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


def upgrade() -> None:
    bind = op.get_bind()
    bind.exec_driver_sql(PROCRASTINATE_SCHEMA.read_text().replace("%", "%%"))
    role = context.config.attributes.get("app_role")
    if role:
        grant_app_role(bind, role)


def downgrade() -> None:
    op.get_bind().exec_driver_sql(DROP_PROCRASTINATE.replace("%", "%%"))
