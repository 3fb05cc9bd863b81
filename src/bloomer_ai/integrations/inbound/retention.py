"""Periodic maintenance of integrations: the inbox's raw bodies and the idempotency store
past their retention, every shop's, through the documented cross-shop path."""

from __future__ import annotations

from datetime import timedelta

from bloomer_ai.integrations.service import purge_expired
from bloomer_ai.jobs.tasks import CrossShopJob, periodic_task


@periodic_task("integrations.purge_expired", every=3600)
async def purge_expired_deliveries(job: CrossShopJob) -> None:
    """Bodies and answers of deliveries older than WEBHOOK_RETENTION_DAYS, and expired
    idempotency keys. A second run finds nothing more to do."""
    retention = timedelta(days=job.settings.webhooks.webhook_retention_days)
    async with job.transaction() as session:
        await purge_expired(session, webhook_retention=retention)
