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
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from bench.database import BENCH_SECRET, BenchContext, bench_database

LIMIT = 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
        return
    if _answers("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379/0"
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("no Redis: set BENCH_REDIS_URL or install redis-server")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _answers("127.0.0.1", port) and time.monotonic() < deadline:
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def api_process(env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "bench.app_factory:create_bench_app",
         "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


async def _api_key(ctx: BenchContext) -> str:
    from bloomer_ai.auth.api_keys import create_api_key
    from bloomer_ai.shops.service import create_shop

    async def make(session):  # type: ignore[no-untyped-def]
        shop = await create_shop(session, name="Bench florist (Redis limits)")
        issued = await create_api_key(
            session, shop_id=shop.id, name="bench", scopes=["agent:chat"], pepper=BENCH_SECRET
        )
        return issued.secret

    try:
        return await ctx.run(make)
    finally:
        await ctx.aclose()


async def _fire(bases: list[str], secret: str, total: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    headers = {"Authorization": f"Bearer {secret}"}
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:

        async def one(index: int) -> None:
            response = await client.get(f"{bases[index % len(bases)]}/api/ai/me", headers=headers)
            statuses[response.status_code] += 1

        await asyncio.gather(*(one(index) for index in range(total)))
    return statuses


def main() -> int:
    from bloomer_ai.config import load_settings
    from bloomer_ai.db.urls import libpq_url

    print("\nRate limits on Redis across two server processes\n", flush=True)
    with bench_database() as database, redis_url() as redis:
        env = {
            "DATABASE_URL": libpq_url(database.url),
            "ENVIRONMENT": "test",
            "NEXTAUTH_SECRET": BENCH_SECRET,
            "API_KEY_PEPPER": BENCH_SECRET,
            "LOG_LEVEL": "WARNING",
            "REDIS_URL": redis,
            "RATELIMIT_READ": f"{LIMIT}/hour",  # one window for the whole burst
            "RATELIMIT_KEY_PREFIX": f"bench-{secrets.token_hex(4)}",
        }
        os.environ.update({k: v for k, v in env.items() if k != "REDIS_URL"})
        secret = asyncio.run(_api_key(BenchContext(database, load_settings())))
        with api_process(env) as first, api_process(env) as second:
            started = time.perf_counter()
            statuses = asyncio.run(_fire([first, second], secret, LIMIT * 3))
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
