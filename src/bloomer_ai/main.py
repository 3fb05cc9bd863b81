"""create_app(): lifespan, middleware order, routers, error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from fastapi_offline import FastAPIOffline
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.routing import Mount, Route

from bloomer_ai import __version__
from bloomer_ai.config import Settings, get_settings
from bloomer_ai.db.engine import DatabaseTarget
from bloomer_ai.logging import configure_logging
from bloomer_ai.web.errors import install_exception_handlers
from bloomer_ai.web.middleware import RequestContextMiddleware
from bloomer_ai.web.openapi import install_openapi
from bloomer_ai.web.routes import JsonRoute

log = structlog.get_logger("bloomer_ai")

TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

CORS_OPTIONS: dict[str, Any] = dict(
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
        "Idempotent-Replayed",
        "RateLimit",
        "RateLimit-Policy",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
        "Retry-After",
    ],
)


def create_app(
    settings: Settings | None = None,
    *,
    database: DatabaseTarget | None = None,
    session_factory: async_sessionmaker[AsyncSession] | None = None,
    run_worker: bool | None = None,
) -> FastAPI:
    """The application. ``database`` defaults to the settings' (or the embedded server);
    ``session_factory`` replaces the engine's sessions (tests join their own transaction).
    ``run_worker``: run a job worker in the process (None: on the embedded default, per
    JOB_WORKER_IN_PROCESS, and never with a ``session_factory``)."""
    settings = settings or get_settings()
    # Here, not only in the CLI: `uvicorn --factory bloomer_ai.main:create_app` must write
    # redacted logs too.
    configure_logging(level=settings.server.log_level, json_output=settings.server.json_logs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        from bloomer_ai.lifespan import open_resources

        async with open_resources(
            app,
            settings,
            database,
            session_factory,
            task_modules=task_modules(),
            run_worker=run_worker,
        ):
            yield {}

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
    for router in routers():
        app.include_router(router)
    # The shop tools over MCP: a server of this app's own (its session manager runs in the
    # lifespan), behind an endpoint that authenticates and rate-limits as every route does.
    from bloomer_ai.tools.mcp.endpoint import PATH as MCP_PATH
    from bloomer_ai.tools.mcp.endpoint import McpEndpoint
    from bloomer_ai.tools.mcp.server import build_server

    app.state.mcp_server = build_server()
    app.router.routes.append(Route(MCP_PATH, McpEndpoint(), name="mcp"))
    from bloomer_ai.auth.dependencies import SECURITY_SCHEMES

    install_openapi(app, SECURITY_SCHEMES)

    # The outermost layer: request id, size limit, access log, metrics and CORS.
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.server.max_request_bytes,
        log_requests=settings.server.log_level in {"DEBUG", "INFO"},
        cors_options={**CORS_OPTIONS, "allow_origins": settings.auth.allowed_origins},
        plain_route_templates=plain_route_templates(app),
    )
    return app


def plain_route_templates(app: FastAPI) -> dict[Any, str]:
    """Endpoint → path of the routes FastAPI adds itself (the document, /docs, its files),
    so that metrics and the log name them like any other route."""
    templates: dict[Any, str] = {}
    for route in app.routes:
        if isinstance(route, Mount):
            templates[route.app] = f"{route.path}/{{path}}"
        elif isinstance(route, Route) and not isinstance(route, APIRoute):
            templates[route.endpoint] = route.path
    return templates


def routers() -> list[APIRouter]:
    """Every router, in the order routes are matched (and listed in the OpenAPI document):
    FastAPI tries routes one by one (about a microsecond and a half for each route that
    does not match), so the busiest come first. The three operations routes lead: load
    balancers and orchestrators probe them on every instance, with short timeouts."""
    from bloomer_ai.agent.endpoints import lilli_router as agent_lilli_router
    from bloomer_ai.agent.endpoints import router as agent_router
    from bloomer_ai.auth.endpoints import router as auth_router
    from bloomer_ai.campaign_generation.endpoints import router as campaign_generation_router
    from bloomer_ai.campaigns.endpoints import router as campaigns_router
    from bloomer_ai.customers.endpoints import router as customers_router
    from bloomer_ai.integrations.endpoints import inbound_router
    from bloomer_ai.integrations.endpoints import router as integrations_router
    from bloomer_ai.orders.endpoints import router as orders_router
    from bloomer_ai.orders.endpoints import web_app_router as orders_web_app_router
    from bloomer_ai.outbound_webhooks.endpoints import router as outbound_webhooks_router
    from bloomer_ai.routing.endpoints import router as routing_router
    from bloomer_ai.shops.endpoints import router as shops_router
    from bloomer_ai.support.endpoints import router as support_router
    from bloomer_ai.tools.endpoints import router as tools_router
    from bloomer_ai.voice.endpoints import router as voice_router
    from bloomer_ai.web.operations import router as operations_router

    return [
        operations_router,
        routing_router,
        auth_router,
        agent_router,
        agent_lilli_router,
        orders_router,
        orders_web_app_router,
        campaigns_router,
        campaign_generation_router,
        customers_router,
        inbound_router,
        support_router,
        tools_router,
        voice_router,
        integrations_router,
        shops_router,
        outbound_webhooks_router,
    ]


def task_modules() -> list[str]:
    """Every module that declares tasks: a worker imports them all before it runs a job
    (a job of a task it does not know would fail)."""
    return [
        "bloomer_ai.jobs.worker",
        "bloomer_ai.outbound_webhooks.delivery.tasks",
        "bloomer_ai.integrations.inbound.retention",
        "bloomer_ai.campaign_generation.worker.tasks",
        "bloomer_ai.voice.retention",
    ]
