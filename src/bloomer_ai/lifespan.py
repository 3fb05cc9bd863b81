"""Process-wide resources opened by the app's lifespan and kept on ``app.state``.

Endpoints reach them through typed ``Annotated`` dependencies declared next to their
domain (``RuleSets``, ``Runner``, ``AuthenticatorDep``), never by reading ``app.state``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bloomer_ai.agent.providers import provider_from_settings
from bloomer_ai.auth.authenticator import AUTH_CHANNEL, Authenticator
from bloomer_ai.campaigns.providers import copy_writer_from_settings
from bloomer_ai.config import Settings
from bloomer_ai.db.embedded import EmbeddedSupervisor
from bloomer_ai.db.engine import DatabaseTarget, create_engine, resolve_database
from bloomer_ai.db.notifications import ChangeFeed
from bloomer_ai.db.roles import UnprotectedRole, describe_unprotected, role_protection
from bloomer_ai.db.session import make_session_factory
from bloomer_ai.integrations.inbound.handlers import InboundHandlers, Provider
from bloomer_ai.jobs.worker import WorkerOptions, WorkerSupervisor
from bloomer_ai.ratelimit.policy import RateLimiter
from bloomer_ai.routing.engine.rule_sets import CHANNEL as ROUTING_CHANNEL
from bloomer_ai.routing.engine.rule_sets import RuleSetCache
from bloomer_ai.support.providers import PROVIDERS as SUPPORT_PROVIDERS
from bloomer_ai.support.service import receive_delivery as receive_support_delivery
from bloomer_ai.tools.service import conversation_tools
from bloomer_ai.voice.service import receive_delivery as receive_voice_delivery

log = structlog.get_logger("bloomer_ai")


@asynccontextmanager
async def open_resources(
    app: FastAPI,
    settings: Settings,
    database: DatabaseTarget | None,
    session_factory: async_sessionmaker[AsyncSession] | None,
    *,
    task_modules: Sequence[str] = (),
    run_worker: bool | None = None,
) -> AsyncIterator[None]:
    target = database or resolve_database(settings.db)
    engine = create_engine(target, settings.db)
    if session_factory is None:
        await refuse_an_unprotected_role(engine, settings)
    sessions = session_factory or make_session_factory(engine)
    state = app.state
    state.database = target
    state.engine = engine
    state.session_factory = sessions
    state.authenticator = authenticator = Authenticator(settings, sessions)
    state.rate_limiter = RateLimiter(settings.ratelimit)
    state.ai_provider = provider_from_settings(settings)
    # The shop tools a chat turn may call (docs/tools.md); none while AI_TOOLS_ENABLED is off.
    state.conversation_tools = (
        conversation_tools(sessions) if settings.features.ai_tools_enabled else None
    )
    # Seals and opens integration secrets (DATA_ENCRYPTION_KEY).
    state.keyring = settings.auth.keyring()
    # Handlers of verified inbound webhooks, per kind and provider (voice and support
    # register theirs here; unregistered pairs are recorded and acknowledged).
    state.inbound_handlers = handlers = InboundHandlers()
    for provider in SUPPORT_PROVIDERS:
        handlers.register("support", provider, receive_support_delivery)  # type: ignore[arg-type]
    voice_providers: tuple[Provider, ...] = ("twilio", "vapi", "lilli")
    for voice_provider in voice_providers:
        handlers.register("voice", voice_provider, receive_voice_delivery)
    state.campaign_copy_writer = copy_writer_from_settings(settings)
    # MCP (docs/tools.md): stateless, JSON answers, no session kept in the process; a
    # manager runs once, so each lifespan makes its own around the app's server.
    state.mcp_sessions = mcp_sessions = StreamableHTTPSessionManager(
        app=state.mcp_server, stateless=True, json_response=True
    )
    # The change feed tells of committed rule changes; sessions joined to an outer
    # transaction (tests) do not read committed state, so their cache never trusts it.
    state.rule_sets = cache = RuleSetCache(trust_feed=session_factory is None)
    state.change_feed = feed = ChangeFeed(target)
    feed.subscribe(
        ROUTING_CHANNEL,
        cache.note_announcement,
        on_connected=cache.feed_connected,
        on_lost=cache.feed_lost,
    )
    # Revoked keys, changed memberships, disabled users, deleted sessions: evicted at once
    # in every process (PRINCIPAL_CACHE_SECONDS bounds it while the feed is down).
    feed.subscribe(AUTH_CHANNEL, authenticator.note_change)
    feed.start()
    supervisor = (
        asyncio.create_task(EmbeddedSupervisor(target.pgdata).watch(), name="embedded-postgres")
        if target.pgdata is not None
        else None
    )
    warn_about_process_local_limits(settings)
    warn_about_untrusted_forwarding(settings)
    warn_about_missing_session_secret(settings)
    # On the embedded default `serve` runs jobs itself (one command, a working system);
    # an app built on a test's transaction never does unless the test asks.
    if run_worker is None:
        run_worker = session_factory is None and settings.worker_in_process(
            embedded=target.embedded
        )
    worker = (
        WorkerSupervisor(
            settings,
            target,
            options=WorkerOptions(concurrency=settings.jobs.job_worker_concurrency),
            task_modules=task_modules,
            sessions=sessions,
        )
        if run_worker
        else None
    )
    state.worker = worker
    if worker is not None:
        worker.start()
    log.info(
        "startup",
        database=target.description,
        environment=settings.server.environment,
        worker_in_process=worker is not None,
    )
    try:
        async with run_in_own_task(mcp_sessions):
            yield
    finally:
        if worker is not None:
            await worker.stop()  # running jobs finish (or are aborted) on a live engine
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        await feed.stop()
        await state.ai_provider.aclose()
        await state.campaign_copy_writer.aclose()
        await engine.dispose()


@asynccontextmanager
async def run_in_own_task(manager: StreamableHTTPSessionManager) -> AsyncIterator[None]:
    """The MCP session manager's ``run()`` in a task of its own: its task group is entered
    and left in that one task, however the app's lifespan itself is driven (a test's
    fixture starts and ends it in different tasks)."""
    running, stop = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with manager.run():
            running.set()
            await stop.wait()

    task = asyncio.create_task(hold(), name="mcp-sessions")
    waiting = asyncio.create_task(running.wait())
    await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if task.done():
        task.result()  # it failed to start: say why
    try:
        yield
    finally:
        stop.set()
        await task


async def refuse_an_unprotected_role(engine: AsyncEngine, settings: Settings) -> None:
    """Row-level security holds only a role that is not a superuser, does not own the
    tables and has no BYPASSRLS: production refuses to start otherwise; elsewhere (a
    single-role development set-up) it is said loudly. A database that cannot be reached
    is not a reason to stay down (``serve`` checks before it starts; requests answer 503
    until it is back)."""
    try:
        protection = await role_protection(engine)
    except (OSError, DBAPIError) as exc:
        log.warning("role_not_checked", error_type=type(exc).__name__)
        return
    if protection.protected:
        return
    if settings.is_production:
        await engine.dispose()
        raise UnprotectedRole(describe_unprotected(protection))
    log.warning("row_level_security_not_enforced", hint=describe_unprotected(protection))


def warn_about_missing_session_secret(settings: Settings) -> None:
    """Without NEXTAUTH_SECRET or AUTH_SECRET the web app's JWT sessions cannot be read
    (production refuses to start; elsewhere it is said at start)."""
    if not settings.auth.session_secrets():
        log.warning(
            "session_secret_not_set",
            hint=(
                "Neither NEXTAUTH_SECRET nor AUTH_SECRET is set: the web app's JWT sessions "
                "are refused (401); database sessions and API keys still work. Set "
                "NEXTAUTH_SECRET to the web app's secret."
            ),
        )


def warn_about_untrusted_forwarding(settings: Settings) -> None:
    """In production the service normally sits behind a proxy: without forwarded headers
    every client shares the proxy's address in the failed-authentication limit."""
    if settings.is_production and not settings.webhooks.trust_forwarded_headers:
        log.warning(
            "forwarded_headers_not_trusted",
            hint=(
                "TRUST_FORWARDED_HEADERS is off: behind a proxy every client has the proxy's "
                "address, and the failed-authentication limit counts them all together. "
                "Set TRUST_FORWARDED_HEADERS=true and FORWARDED_ALLOW_IPS to the proxy's "
                "addresses (or leave it off when clients connect directly)."
            ),
        )


def warn_about_process_local_limits(settings: Settings) -> None:
    """In-memory limits are per process: with several processes they multiply. Say so."""
    if settings.ratelimit.redis_url is None and settings.ratelimit.web_concurrency > 1:
        log.warning(
            "ratelimit_not_shared",
            hint=(
                f"WEB_CONCURRENCY={settings.ratelimit.web_concurrency} but REDIS_URL is unset: "
                "each process keeps its own rate-limit counters, so clients get up to "
                f"{settings.ratelimit.web_concurrency}x the configured limits. Set REDIS_URL."
            ),
        )
