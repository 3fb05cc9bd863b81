"""Periodic maintenance of the voice agent: transcripts past their retention."""

from __future__ import annotations

from datetime import timedelta

from bloomer_ai.jobs.tasks import CrossShopJob, periodic_task
from bloomer_ai.voice.service import purge_expired_transcripts


@periodic_task("voice.purge_transcripts", every=3600)
async def purge_transcripts(job: CrossShopJob) -> None:
    """Transcripts of calls older than VOICE_TRANSCRIPT_RETENTION_DAYS, every shop's. A
    second run finds nothing more to do."""
    retention = timedelta(days=job.settings.webhooks.voice_transcript_retention_days)
    async with job.transaction() as session:
        await purge_expired_transcripts(session, retention=retention)
