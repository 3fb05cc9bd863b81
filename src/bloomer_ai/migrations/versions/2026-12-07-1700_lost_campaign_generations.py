"""campaign generations whose job is gone: found by the periodic expiry

A request is ``pending`` or ``processing`` while a ``campaigns.generate`` job will run it.
When that job is gone — it failed for a reason other than the provider's (the database
away through all its retries) or was deleted — nothing would ever finish the request.
``lost_campaign_generations`` finds such requests (unchanged since ``p_before``, and no
job of theirs waiting or running), across shops, for the periodic expiry job, which fails
each under its shop's row-level security. A partial index on ``updated_at`` of the
unfinished requests keeps the once-a-minute look-up off the whole (ever growing) table.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from bloomer_ai.db.roles import grant_app_role

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE FUNCTION lost_campaign_generations(p_before timestamptz, p_limit integer)
RETURNS TABLE (shop_id uuid, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT r.shop_id, r.id FROM public.campaign_generation_requests r
    WHERE r.status IN ('pending', 'processing') AND r.updated_at <= p_before
      AND NOT EXISTS (
          SELECT 1 FROM public.procrastinate_jobs j
          WHERE j.task_name = 'campaigns.generate'
            AND j.status IN ('todo', 'doing')
            AND j.args ->> 'request_id' = r.id::text
      )
    ORDER BY r.updated_at
    LIMIT p_limit
$$;
"""
SIGNATURE = "lost_campaign_generations(timestamptz, integer)"


def upgrade() -> None:
    op.create_index(
        "ix_campaign_generation_requests_unfinished",
        "campaign_generation_requests",
        ["updated_at"],
        postgresql_where=sa.text("status IN ('pending', 'processing')"),
    )
    op.execute(FUNCTION)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    role = context.config.attributes.get("app_role")
    if role:
        grant_app_role(op.get_bind(), role)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    op.drop_index("ix_campaign_generation_requests_unfinished", "campaign_generation_requests")
