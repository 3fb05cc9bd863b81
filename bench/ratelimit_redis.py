"""Rate limits on Redis across two server processes: admitted count against the limit.

Two API processes share one Redis (``BENCH_REDIS_URL``, else ``redis://127.0.0.1:6379/0``
when it answers, else a private ``redis-server`` on a free port). One API key sends
``limit × 3`` requests spread over both processes, many at a time; exactly ``limit`` must
be admitted. With in-memory limits each process would admit ``limit``: twice as many.

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
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
