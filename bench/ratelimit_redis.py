"""Rate limits on Redis across two server processes: admitted count against the limit;
and one decision of ours against ``limits``' own fixed-window strategy on the same Redis.

Two API processes share one Redis (``BENCH_REDIS_URL``, else ``redis://127.0.0.1:6379/0``
when it answers, else a private ``redis-server`` on a free port). One API key sends
``limit × 3`` requests spread over both processes, many at a time; exactly ``limit`` must
be admitted. With in-memory limits each process would admit ``limit``: twice as many.

A decision needs the count and when the window ends (for the RateLimit headers). Ours is
one ``INCR`` on a window aligned to the clock (its end is known); ``limits``'
``FixedWindowRateLimiter`` opens a window at the first hit, so it needs ``hit`` and
``get_window_stats``: an ``INCR``, a ``GET`` and a ``TTL`` (three round trips). The second
part prints both, in commands and microseconds per decision.

Run by ``bench.run`` after the HTTP rows (``--skip-ratelimit`` skips it), or alone:
``python -m bench.ratelimit_redis``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.database import BenchContext, bench_database
from bench.run import service_environment
from bench.scenarios_auth import api_key_headers

# The test suite's process helpers: a private redis-server, a service in its own process.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.processes import api_server, private_redis

LIMIT = 200


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis_url() -> Iterator[str]:
    configured = os.environ.get("BENCH_REDIS_URL")
    if configured:
        yield configured
    elif _answers("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379/0"
    else:
        with private_redis() as url:
            yield url


async def _key_headers(ctx: BenchContext) -> dict[str, str]:
    try:
        return dict((await api_key_headers(ctx)).headers)
    finally:
        await ctx.aclose()


async def _fire(bases: list[str], headers: dict[str, str], total: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:

        async def one(index: int) -> None:
            response = await client.get(f"{bases[index % len(bases)]}/api/ai/me", headers=headers)
            statuses[response.status_code] += 1

        await asyncio.gather(*(one(index) for index in range(total)))
    return statuses


DECISIONS = 2_000


async def _compare_strategies(redis: str) -> list[tuple[str, float, float]]:
    """(name, Redis commands per decision, µs per decision) for ours and limits'."""
    from limits import parse
    from limits.aio.storage import RedisStorage
    from limits.aio.strategies import FixedWindowRateLimiter
    from redis.asyncio import Redis

    from bloomer_ai.config import RateLimitSettings
    from bloomer_ai.ratelimit.policy import RateLimiter, RouteGroup

    prefix = f"bench-cmp-{secrets.token_hex(4)}"
    ours = RateLimiter(
        RateLimitSettings(
            redis_url=redis,
            ratelimit_read="1000000/minute",
            ratelimit_key_prefix=prefix,
            _env_file=None,
        )
    )
    storage = RedisStorage(redis, implementation="redispy", key_prefix=prefix)
    theirs = FixedWindowRateLimiter(storage)
    item = parse("1000000/minute")
    admin = Redis.from_url(redis)

    async def commands() -> int:
        info = await admin.info("stats")
        return int(info["total_commands_processed"])

    async def run(decide: object) -> tuple[float, float]:
        for _ in range(100):
            await decide()  # type: ignore[operator]
        before, started = await commands(), time.perf_counter()
        for _ in range(DECISIONS):
            await decide()  # type: ignore[operator]
        seconds, after = time.perf_counter() - started, await commands()
        # The INFO call itself is one command.
        return (after - before - 1) / DECISIONS, seconds / DECISIONS * 1e6

    async def ours_decision() -> None:
        await ours.hit(RouteGroup.READ, "key:bench")

    async def limits_decision() -> None:
        await theirs.hit(item, "key:bench")
        await theirs.get_window_stats(item, "key:bench")

    try:
        results = []
        for name, decide in (
            ("ours: one INCR, window aligned to the clock", ours_decision),
            ("limits FixedWindowRateLimiter: hit + get_window_stats", limits_decision),
        ):
            per_decision, micros = await run(decide)
            results.append((name, per_decision, micros))
        return results
    finally:
        await admin.aclose()


def main() -> int:
    from bloomer_ai.config import load_settings

    print("\nRate limits on Redis across two server processes\n", flush=True)
    with bench_database() as database, redis_url() as redis:
        env = {
            **service_environment(database),
            "REDIS_URL": redis,
            "RATELIMIT_READ": f"{LIMIT}/hour",  # one window for the whole burst
            "RATELIMIT_KEY_PREFIX": f"bench-{secrets.token_hex(4)}",
        }
        os.environ.update({k: v for k, v in env.items() if k != "REDIS_URL"})
        headers = asyncio.run(_key_headers(BenchContext(database, load_settings())))
        with api_server(env) as first, api_server(env) as second:
            started = time.perf_counter()
            statuses = asyncio.run(_fire([first, second], headers, LIMIT * 3))
            seconds = time.perf_counter() - started
    admitted = statuses.get(200, 0)
    print(f"  limit {LIMIT}/hour per API key, Redis {redis.split('@')[-1]}")
    print(f"  {LIMIT * 3} requests over 2 processes in {seconds:.2f} s, 32 at a time")
    print(
        f"  admitted (200): {admitted}   refused (429): {statuses.get(429, 0)}   "
        f"other: {sum(n for s, n in statuses.items() if s not in (200, 429))}"
    )
    ok = admitted == LIMIT and statuses.get(429, 0) == LIMIT * 2
    print(f"  admitted == limit: {'yes' if ok else 'NO'}")

    with redis_url() as redis:
        compared = asyncio.run(_compare_strategies(redis))
    print(f"\n  one decision (count and window end), {DECISIONS} in a row on the same Redis:")
    for name, per_decision, micros in compared:
        print(f"    {name:<55} {per_decision:4.1f} Redis commands  {micros:6.0f} µs")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
