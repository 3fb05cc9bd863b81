"""The generation's jobs: a run per request (``campaigns.generate``), and the deadline of
requests Lilli accepted for later (``campaigns.expire_generations`` every
CAMPAIGN_GENERATION_EXPIRY_CHECK_SECONDS, one ``campaigns.expire_generation`` per request
it finds)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.agent.providers.base import ProviderError
from bloomer_ai.campaign_generation.providers import (
    Accepted,
    Generator,
    Variant,
    generator_from_settings,
    usable_variants,
)
from bloomer_ai.campaign_generation.repository import (
    unscoped_expired_requests,
    unscoped_lost_requests,
)
from bloomer_ai.campaign_generation.worker import runs
from bloomer_ai.config import Settings
from bloomer_ai.jobs.retry import Backoff, RetryLater
from bloomer_ai.jobs.tasks import CrossShopJob, ShopJob, periodic_task, shop_task
from bloomer_ai.kit.time import utcnow

log = structlog.get_logger("bloomer_ai.campaign_generation")

GENERATOR = "campaign_generation.generator"
EXPIRED_PER_TICK = 500
# Provider failures are retried at the request's own pace (RetryLater, counted in its
# attempts); an unexpected error (the database away) gets a few retries of its own.
UNEXPECTED_RETRY = Backoff(max_attempts=5, first_seconds=5.0)


class UnusableCopy(ProviderError):
    code = "provider_unusable_copy"


def _generator(job: ShopJob) -> Generator:
    settings = job.settings
    return job.resources.shared(GENERATOR, lambda: generator_from_settings(settings))


@shop_task("campaigns.generate", retry=UNEXPECTED_RETRY)
async def generate(job: ShopJob, *, request_id: str) -> None:
    """Run the provider for one request and write its result (``run_generation``)."""
    await run_generation(job, request_id=request_id)


async def run_generation(job: ShopJob, *, request_id: str) -> None:
    """One run of ``campaigns.generate``: the provider for one request, its result written.

    A remote provider is asked outside any transaction (a run marks the request
    ``processing`` in one, waits, and writes in another); the builtin one, which waits on
    nothing, runs inside the one transaction that marks and writes.

    A second run (a killed worker's job run again, or a retry) is harmless: a run starts
    only while the request is ``pending`` or ``processing``, and writes only while it is
    still ``processing``, on the locked row: whichever run (or callback) finishes it first
    writes the output and records the event, once; the others find it finished."""
    generator = _generator(job)
    if generator.remote:
        async with job.transaction() as session:
            run = await runs.start_run(session, request_id, job.settings, utcnow())
        if run is None:
            return
        outcome = await _attempt(generator, run)
        async with job.transaction() as session:
            retry_in = await _record(job, session, request_id, generator, outcome)
    else:
        async with job.transaction() as session:
            run = await runs.start_run(session, request_id, job.settings, utcnow())
            if run is None:
                return
            outcome = await _attempt(generator, run)
            retry_in = await _record(job, session, request_id, generator, outcome)
    if retry_in is not None:
        raise RetryLater(retry_in, f"{generator.name} failed")


Outcome = Sequence[Variant] | Accepted | ProviderError


async def _attempt(generator: Generator, run: runs.Run) -> Outcome:
    """What the provider gave, checked; its failure as a value."""
    try:
        result = await generator.generate(run.brief)
        if isinstance(result, Accepted):
            return result
        variants, problems = usable_variants(result, run.brief.variants, run.brief.shop.name)
        if not variants:
            raise UnusableCopy(f"{generator.name} sent no variants", provider=generator.name)
        if problems:
            index, field, reason = problems[0]
            raise UnusableCopy(
                f"{generator.name} sent copy that cannot be used: variant {index + 1}'s "
                f"{field} {reason}",
                provider=generator.name,
            )
        return variants
    except ProviderError as exc:
        log.warning(
            "campaign_generation_provider_failed",
            request_id=run.brief.request_id,
            provider=generator.name,
            error_code=exc.code,
            attempt=run.attempts,
        )
        return exc


async def _record(
    job: ShopJob, session: AsyncSession, request_id: str, generator: Generator, outcome: Outcome
) -> float | None:
    """Write the outcome; the seconds until the next run when it failed and may be retried."""
    if isinstance(outcome, ProviderError):
        return await runs.record_run_failure(
            session, request_id, outcome.code, str(outcome), job.settings, utcnow()
        )
    await runs.finish_run(
        session, request_id, outcome, provider=generator.name, settings=job.settings, now=utcnow()
    )
    return None


@shop_task("campaigns.expire_generation")
async def expire_generation(job: ShopJob, *, request_id: str) -> None:
    """Fail one request still waiting for Lilli after its deadline. A second run (or a
    second tick's job) finds it failed already, or answered, and does nothing."""
    await run_expiry(job, request_id=request_id)


async def run_expiry(job: ShopJob, *, request_id: str) -> None:
    """One run of ``campaigns.expire_generation``."""
    now = utcnow()
    lost_before = now - timedelta(seconds=job.settings.ai.campaign_generation_lost_seconds)
    async with job.transaction() as session:
        await runs.expire_if_due(session, request_id, now, lost_before=lost_before)


def _expiry_every(settings: Settings) -> int:
    return settings.ai.campaign_generation_expiry_check_seconds


@periodic_task("campaigns.expire_generations", every=_expiry_every)
async def expire_generations(job: CrossShopJob) -> None:
    """Find the requests past their callback deadline (every shop, through the
    ``expired_campaign_generations`` SECURITY DEFINER function) and defer one
    ``campaigns.expire_generation`` per request, which checks again under its shop's
    row-level security. A second run defers jobs that find nothing left to do."""
    await defer_expiries(job)


async def defer_expiries(job: CrossShopJob) -> None:
    """One tick of ``campaigns.expire_generations``."""
    now = utcnow()
    lost_before = now - timedelta(seconds=job.settings.ai.campaign_generation_lost_seconds)
    async with job.transaction() as session:
        expired = await unscoped_expired_requests(session, now, EXPIRED_PER_TICK)
        lost = await unscoped_lost_requests(session, lost_before, EXPIRED_PER_TICK)
        found = [*expired, *(pair for pair in lost if pair not in expired)]
        await expire_generation.defer_across_shops(
            session, [(shop_id, {"request_id": str(request_id)}) for shop_id, request_id in found]
        )
    if expired:
        log.info("campaign_generations_expiring", count=len(expired))
    if lost:
        log.warning("campaign_generations_lost", count=len(lost))
