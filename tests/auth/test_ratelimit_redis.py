"""Rate limits on a real Redis: shared by processes, and failing open when Redis is down."""

from __future__ import annotations

import asyncio
import io
import secrets
import time
from collections.abc import Iterator

import httpx
import pytest

from bloomer_ai.config import RateLimitSettings
from bloomer_ai.kit.database_urls import libpq_url
from bloomer_ai.logging import configure_logging
from bloomer_ai.ratelimit.policy import RateLimiter, RouteGroup
from support.committed import committed_shop
from support.processes import api_server, private_redis
from support.sessions import APP_ROLE


@pytest.fixture(scope="module")
def redis_server(redis_url: str | None) -> Iterator[str]:
    if redis_url:
        yield redis_url
        return
    with private_redis() as url:
        yield url


def settings_for(redis: str | None, limit: str, prefix: str) -> RateLimitSettings:
    return RateLimitSettings(
        redis_url=redis, ratelimit_read=limit, ratelimit_key_prefix=prefix, _env_file=None
    )


async def test_two_limiters_on_one_redis_share_the_count(redis_server):
    prefix = f"test-{secrets.token_hex(4)}"
    first = RateLimiter(settings_for(redis_server, "5/minute", prefix))
    second = RateLimiter(settings_for(redis_server, "5/minute", prefix))
    decisions = []
    for index in range(12):
        limiter = first if index % 2 == 0 else second
        decisions.append(await limiter.hit(RouteGroup.READ, "key:abc"))
    assert [d.allowed for d in decisions].count(True) == 5
    assert decisions[4].remaining == 0 and decisions[3].remaining == 1
    assert first.backend == "redis"
    await first.reset()


async def test_memory_limiters_do_not_share(redis_server):
    first = RateLimiter(settings_for(None, "5/minute", "x"))
    second = RateLimiter(settings_for(None, "5/minute", "x"))
    allowed = [await (first if i % 2 else second).hit(RouteGroup.READ, "k") for i in range(10)]
    assert sum(d.allowed for d in allowed) == 10  # each process counts alone


async def test_redis_down_fails_open_and_logs_once():
    stream = io.StringIO()
    configure_logging(level="INFO", json_output=True, stream=stream)
    try:
        limiter = RateLimiter(settings_for("redis://127.0.0.1:1/0", "3/minute", "down"))
        decisions = [await limiter.hit(RouteGroup.READ, "key:x") for _ in range(5)]
    finally:
        configure_logging(level="WARNING")
    # Served from memory: the limit still holds, per process.
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert stream.getvalue().count("ratelimit_redis_unavailable") == 1


async def test_two_server_processes_sharing_redis_admit_exactly_the_limit(
    engine, database_url, redis_server
):
    """Two real API processes, one Redis: 30 requests, limit 10 → exactly 10 admitted."""
    async with committed_shop(engine, name="Two processes") as (_shop, secret):
        env = {
            "DATABASE_URL": libpq_url(database_url.set(username=APP_ROLE)),
            "MIGRATION_DATABASE_URL": libpq_url(database_url),
            "DB_APP_ROLE": APP_ROLE,
            "REDIS_URL": redis_server,
            "RATELIMIT_READ": "10/hour",
            "RATELIMIT_KEY_PREFIX": f"procs-{secrets.token_hex(4)}",
        }
        with api_server(env) as first, api_server(env) as second:
            # Fixed windows are aligned to the clock: 30 requests that straddle a window's
            # end meet two windows (up to 20 admitted). An hour's window, entered afresh
            # when the current one is about to end, holds the whole burst.
            left = 3600 - time.time() % 3600
            if left < 60:
                await asyncio.sleep(left + 0.5)
            async with httpx.AsyncClient(timeout=10) as client:
                headers = {"Authorization": f"Bearer {secret}"}
                responses = []
                for index in range(30):
                    base = first if index % 2 == 0 else second
                    responses.append(await client.get(f"{base}/api/ai/me", headers=headers))
        statuses = [response.status_code for response in responses]
        assert statuses.count(200) == 10, statuses
        assert statuses.count(429) == 20
        assert {r.headers["ratelimit-limit"] for r in responses} == {"10"}
    await asyncio.sleep(0)


async def test_failed_authentications_are_counted_across_processes(redis_server):
    prefix = f"fail-{secrets.token_hex(4)}"

    def limiter() -> RateLimiter:
        return RateLimiter(
            RateLimitSettings(
                redis_url=redis_server,
                ratelimit_auth_failures="4/minute",
                ratelimit_key_prefix=prefix,
                _env_file=None,
            )
        )

    first, second = limiter(), limiter()
    for _ in range(4):
        assert (await first.hit(RouteGroup.AUTH_FAILURES, "203.0.113.9")).allowed
    assert first.recently_failed("203.0.113.9")
    # The other process has not seen this address fail, so it does not look it up for
    # every request; its first failure from the address finds the shared count over.
    assert not second.recently_failed("203.0.113.9")
    assert not (await second.hit(RouteGroup.AUTH_FAILURES, "203.0.113.9")).allowed
    assert await second.exceeded(RouteGroup.AUTH_FAILURES, "203.0.113.9") is not None
    await first.reset()
