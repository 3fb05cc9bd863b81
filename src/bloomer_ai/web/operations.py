"""Operations: liveness, readiness, metrics. Unauthenticated and outside /api/ai."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from bloomer_ai.errors import ServiceUnavailable
from bloomer_ai.web.metrics import render_metrics

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    """Liveness: answers while the process runs, without touching the database."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database answers",
    responses={503: {"description": "The database cannot be reached"}},
)
async def readyz(request: Request) -> dict[str, str]:
    """Readiness: 200 when the database answers a query, else 503 with `Retry-After`."""
    engine = request.app.state.engine
    try:
        # Autocommit: one round trip, no BEGIN and ROLLBACK around the probe's `select 1`.
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("select 1")
    except Exception:
        raise ServiceUnavailable("The database cannot be reached.") from None
    return {"status": "ready", "database": "ok"}


# Hidden from the document on purpose: Prometheus text for the scraper, not part of the API
# the web app and Lilli use.
@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Response:
    body, content_type = render_metrics()
    return Response(body, media_type=content_type)
