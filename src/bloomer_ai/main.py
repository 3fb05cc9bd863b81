"""create_app(): lifespan, middleware order, routers, error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from fastapi_offline import FastAPIOffline

from bloomer_ai import __version__
from bloomer_ai.config import Settings, get_settings
from bloomer_ai.db.engine import DatabaseTarget, create_engine, resolve_database
from bloomer_ai.db.session import make_session_factory
from bloomer_ai.kit.direct import DirectRoutes
from bloomer_ai.kit.http import JsonRoute, install_exception_handlers
from bloomer_ai.kit.middleware import RequestContextMiddleware
from bloomer_ai.ops.endpoints import router as ops_router

log = structlog.get_logger("bloomer_ai")

TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(
    settings: Settings | None = None, *, database: DatabaseTarget | None = None
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        from bloomer_ai.app_state import open_resources

        async with open_resources(app, settings, database) as state:
            yield state

    app = FastAPIOffline(
        title="Bloomer AI backend",
        version=__version__,
        description=(
            "Authenticated, shop-scoped APIs for Bloomer's web app and the Lilli AI service. "
            'Every error has the shape {"error": {"code", "message", "details"}}.'
        ),
        lifespan=lifespan,
        telemetry=None if settings.server.otel_enabled else TELEMETRY_OFF,
    )
    app.router.route_class = JsonRoute
    app.state.settings = settings

    install_exception_handlers(app)
    _include_routers(app)

    # Added first = innermost: learned static routes skip FastAPI's router and solver.
    app.add_middleware(DirectRoutes, fastapi_app=app)
    # Added last = outermost: request id, size limit, access log, metrics and CORS.
    cors_options: dict[str, Any] = dict(
        allow_origins=settings.auth.allowed_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "X-API-Key",
            "X-Shop-Id",
            "X-Request-ID",
            "Idempotency-Key",
        ],
        expose_headers=[
            "X-Conversation-Id",
            "X-Message-Id",
            "X-Request-ID",
            "RateLimit",
            "RateLimit-Policy",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            "Retry-After",
        ],
    )
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.server.max_request_bytes,
        log_requests=settings.server.log_level in {"DEBUG", "INFO"},
        cors_options=cors_options,
    )
    return app


def _include_routers(app: FastAPI) -> None:
    from bloomer_ai.routers import ROUTERS

    app.include_router(ops_router)
    for router in ROUTERS:
        app.include_router(router)


__all__ = [
    "DatabaseTarget",
    "create_app",
    "create_engine",
    "make_session_factory",
    "resolve_database",
]
