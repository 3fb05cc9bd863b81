"""Operations: liveness, readiness, metrics. Unauthenticated and outside /api/ai."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from bloomer_ai.errors import ServiceUnavailable
from bloomer_ai.jobs.worker import worker_seen_recently
from bloomer_ai.web.metrics import render_metrics

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    """Liveness: answers while the process runs, without touching the database."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database answers (and whether a job worker was seen lately)",
    responses={503: {"description": "The database cannot be reached"}},
)
async def readyz(request: Request) -> dict[str, str | bool]:
    """Ready when the database answers. ``workerSeenRecently`` tells whether any job
    worker beat its heartbeat within JOB_STALLED_AFTER_SECONDS: a fact for the operator,
    not a reason to take this process out of a load balancer."""
    state = request.app.state
    try:
        # Autocommit: one round trip, no BEGIN and ROLLBACK around the probe's query.
        async with state.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            seen = await worker_seen_recently(
                connection, state.settings.jobs.job_stalled_after_seconds
            )
    except Exception:
        raise ServiceUnavailable("The database cannot be reached.") from None
    return {"status": "ready", "database": "ok", "workerSeenRecently": seen}


# Hidden from the document on purpose: Prometheus text for the scraper, not part of the API
# the web app and Lilli use.
@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Response:
    body, content_type = render_metrics()
    return Response(body, media_type=content_type)
