"""Jobs and webhook deliveries, measured with real processes on loopback.

    python -m bench.jobs_bench [--noop-jobs 2000] [--events 1000] [--concurrency 1,4]
                               [--generations 1000] [--drain-events 1000] [--outage 30]
                               [--skip-drain]

1. **No-op throughput**: N jobs of a task that does nothing, committed, then one worker
   process (`bloomer-ai worker`'s code) at each concurrency; jobs/s from the first job's
   start to the last one's success (procrastinate's own event times).
2. **Delivery throughput**: N events for a shop, each delivered (signed, sent, its attempt
   recorded) to a receiver process on loopback that verifies every signature with
   `standardwebhooks` and answers 200; deliveries/s the same way.
3. **Campaign generation throughput**: N generation requests (e-mail, Christmas, three
   variants each) made as `POST /api/ai/campaigns/generate` makes them, then one worker
   process with the builtin provider: requests/s from the first job's start to the last
   one's success, and the ratio to the no-op task at the same concurrency (what a run
   costs beyond the queue: one transaction on the locked row (the builtin waits on
   nothing), the shop's profile, the templates, the output and its event with its
   delivery jobs).
4. **Drain** (`--skip-drain` skips it; it takes about two minutes): N events to a receiver
   that fails the first attempt of every third event and is down for `--outage` seconds
   once half the events have reached it; with the production retry settings (first retry
   after 5 s, then ×3, ±20 % jitter; JOB_POLL_SECONDS 5). Every event must end delivered,
   each once (one 2xx per `webhook-id` at the receiver); printed: the time from the first
   job's start to the last delivery, the receiver's requests and the refused connections.

The database is the bench's own (as `make bench`: BENCH_DATABASE_URL, DATABASE_URL, or an
embedded PostgreSQL). Figures go to ``bench/results/jobs.json``. Run by `make bench` after
the HTTP rows (`--skip-jobs` skips it), or alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.database import APP_ROLE, BenchDatabase, bench_database
from bloomer_ai.config import DatabaseSettings
from bloomer_ai.db.engine import DatabaseTarget, create_engine
from bloomer_ai.db.session import (
    make_operator_session_factory,
    make_session_factory,
    unit_of_work,
)
from bloomer_ai.kit.database_urls import libpq_url
from bloomer_ai.outbound_webhooks.delivery.signing import new_secret

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT_ROOT / "bench" / "results" / "jobs.json"
SECRET = new_secret()

SPAN = text(
    """
    SELECT count(*) FILTER (WHERE e.type = 'succeeded') AS succeeded,
           min(e.at) FILTER (WHERE e.type = 'started') AS first_start,
           max(e.at) FILTER (WHERE e.type = 'succeeded') AS last_success
    FROM procrastinate_events e
    WHERE e.job_id = ANY(:ids)
    """
)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def worker_env(database: BenchDatabase, receiver: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": libpq_url(database.app_url),
        "MIGRATION_DATABASE_URL": libpq_url(database.url),
        "DB_APP_ROLE": APP_ROLE,
        "WEB_APP_WEBHOOK_SECRET": SECRET,
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    for name in ("JOB_WORKER_IN_PROCESS", "WEB_APP_WEBHOOK_URL", "JOB_POLL_SECONDS", "AI_PROVIDER"):
        env.pop(name, None)
    if receiver:
        env["WEB_APP_WEBHOOK_URL"] = receiver
    return env


@contextmanager
def process(command: list[str], env: dict[str, str] | None = None) -> Iterator[Any]:
    proc = subprocess.Popen(
        command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def worker(database: BenchDatabase, concurrency: int, receiver: str | None = None) -> Any:
    return process(
        [sys.executable, "-m", "bench.jobs_worker", "--concurrency", str(concurrency)],
        worker_env(database, receiver),
    )


def receiver_process(port: int, log: Path, fail_every: int = 0) -> Any:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "tests")}
    command = [
        sys.executable,
        "-m",
        "support.receiver",
        "--port",
        str(port),
        "--secret",
        SECRET,
        "--log",
        str(log),
        "--fail-every",
        str(fail_every),
    ]
    return process(command, env)


def wait_for_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


def receiver_log(log: Path) -> list[tuple[float, str, int]]:
    if not log.exists():
        return []
    lines = []
    for line in log.read_text().splitlines():
        at, webhook_id, status = line.split()
        lines.append((float(at), webhook_id, int(status)))
    return lines


class Bench:
    def __init__(self, database: BenchDatabase) -> None:
        self.database = database
        settings = DatabaseSettings(_env_file=None)
        target = DatabaseTarget(database.app_url, embedded=False, owner_url=database.url)
        self.owner: AsyncEngine = create_engine(target, settings, as_owner=True)
        self.app: AsyncEngine = create_engine(target, settings)
        self.sessions = make_session_factory(self.app)

    async def aclose(self) -> None:
        await self.owner.dispose()
        await self.app.dispose()

    async def new_shop(self, name: str) -> Any:
        from bloomer_ai.shops.service import create_shop

        async with unit_of_work(make_operator_session_factory(self.owner)) as session:
            return await create_shop(session, name=name)

    async def defer_noops(self, shop: Any, count: int) -> list[int]:
        from bench.job_tasks import noop

        async with unit_of_work(self.sessions, shop_id=shop.id) as session:
            return await noop.defer_many(session, [{}] * count)

    async def record_events(self, shop: Any, count: int) -> list[int]:
        """``count`` events (one transaction); the ids of their delivery jobs."""
        from bloomer_ai.outbound_webhooks.service import record_event

        async with unit_of_work(self.sessions, shop_id=shop.id) as session:
            for number in range(count):
                await record_event(
                    session, shop.id, "order.created", {"order": {"number": str(number)}}
                )
        async with self.owner.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT id FROM procrastinate_jobs WHERE task_name = 'webhooks.deliver' "
                    "AND args->>'shop_id' = :shop"
                ),
                {"shop": str(shop.id)},
            )
            return [row.id for row in rows]

    async def request_generations(self, shop: Any, count: int) -> list[int]:
        """``count`` generation requests (one transaction); the ids of their jobs."""
        from bloomer_ai.campaign_generation import service
        from bloomer_ai.campaign_generation.schemas import GenerateRequest
        from bloomer_ai.kit.time import utcnow

        body = GenerateRequest.model_validate(
            {"input": {"channel": "email", "occasion": "christmas", "variants": 3}}
        )
        async with unit_of_work(self.sessions, shop_id=shop.id) as session:
            for _ in range(count):
                await service.request_generation(session, body, now=utcnow())
        async with self.owner.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT id FROM procrastinate_jobs WHERE task_name = 'campaigns.generate' "
                    "AND args->>'shop_id' = :shop"
                ),
                {"shop": str(shop.id)},
            )
            return [row.id for row in rows]

    async def generations_completed(self, shop: Any) -> int:
        async with self.owner.connect() as connection:
            found = await connection.scalar(
                text(
                    "SELECT count(*) FROM campaign_generation_requests "
                    "WHERE shop_id = :shop AND status = 'completed' AND attempts = 1"
                ),
                {"shop": shop.id},
            )
            return int(found or 0)

    async def span(self, ids: Sequence[int]) -> tuple[int, float]:
        """(jobs succeeded, seconds from the first start to the last success)."""
        async with self.owner.connect() as connection:
            row = (await connection.execute(SPAN, {"ids": list(ids)})).one()
        if row.first_start is None or row.last_success is None:
            return int(row.succeeded), 0.0
        return int(row.succeeded), (row.last_success - row.first_start).total_seconds()

    async def wait_done(self, ids: Sequence[int], timeout: float) -> tuple[int, float]:
        deadline = time.monotonic() + timeout
        while True:
            succeeded, seconds = await self.span(ids)
            if succeeded >= len(ids) or time.monotonic() > deadline:
                return succeeded, seconds
            await asyncio.sleep(0.25)

    async def attempt_ms(self, shop: Any) -> float:
        """The mean duration of an attempt (resolve, connect, send, the answer's head)."""
        async with self.owner.connect() as connection:
            found = await connection.scalar(
                text("SELECT avg(duration_ms) FROM webhook_attempts WHERE shop_id = :shop"),
                {"shop": shop.id},
            )
            return round(float(found or 0), 1)

    async def refused_connections(self, shop: Any) -> int:
        async with self.owner.connect() as connection:
            found = await connection.scalar(
                text(
                    "SELECT count(*) FROM webhook_attempts "
                    "WHERE shop_id = :shop AND error = 'connect_failed'"
                ),
                {"shop": shop.id},
            )
            return int(found or 0)


async def noop_throughput(bench: Bench, jobs: int, concurrency: int) -> dict[str, Any]:
    shop = await bench.new_shop(f"noop c={concurrency}")
    ids = await bench.defer_noops(shop, jobs)
    with worker(bench.database, concurrency):
        succeeded, seconds = await bench.wait_done(ids, timeout=600)
    return {
        "row": f"no-op task, 1 worker, concurrency {concurrency}",
        "jobs": jobs,
        "succeeded": succeeded,
        "seconds": round(seconds, 2),
        "per_second": round(succeeded / seconds, 1) if seconds else None,
    }


async def delivery_throughput(bench: Bench, events: int, concurrency: int) -> dict[str, Any]:
    shop = await bench.new_shop(f"deliveries c={concurrency}")
    ids = await bench.record_events(shop, events)
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "received.log"
        with receiver_process(port, log):
            wait_for_port(port)
            with worker(bench.database, concurrency, f"http://127.0.0.1:{port}/hooks"):
                succeeded, seconds = await bench.wait_done(ids, timeout=600)
        received = receiver_log(log)
    ok = Counter(webhook_id for _at, webhook_id, status in received if status == 200)
    return {
        "row": f"deliveries to a loopback receiver, 1 worker, concurrency {concurrency}",
        "jobs": events,
        "succeeded": succeeded,
        "seconds": round(seconds, 2),
        "per_second": round(succeeded / seconds, 1) if seconds else None,
        "received_ok": len(ok),
        "attempt_ms": await bench.attempt_ms(shop),
        "verified": all(status != 401 for _at, _id, status in received),
    }


async def generation_throughput(
    bench: Bench, requests: int, concurrency: int, noop_per_second: float | None
) -> dict[str, Any]:
    shop = await bench.new_shop(f"generations c={concurrency}")
    ids = await bench.request_generations(shop, requests)
    with worker(bench.database, concurrency):
        succeeded, seconds = await bench.wait_done(ids, timeout=900)
    per_second = round(succeeded / seconds, 1) if seconds else None
    return {
        "row": f"campaign generation (builtin), 1 worker, concurrency {concurrency}",
        "jobs": requests,
        "succeeded": succeeded,
        "seconds": round(seconds, 2),
        "per_second": per_second,
        "completed": await bench.generations_completed(shop),
        "vs_noop": round(per_second / noop_per_second, 2)
        if per_second and noop_per_second
        else None,
    }


async def drain(bench: Bench, events: int, outage: float, concurrency: int) -> dict[str, Any]:
    shop = await bench.new_shop("drain")
    ids = await bench.record_events(shop, events)
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks"
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        log = Path(folder) / "received.log"
        first = stack.enter_context(receiver_process(port, log, fail_every=3))
        wait_for_port(port)
        stack.enter_context(worker(bench.database, concurrency, url))
        started = time.monotonic()
        while len({entry[1] for entry in receiver_log(log)}) < events // 2:
            await asyncio.sleep(0.05)
        first.send_signal(signal.SIGTERM)  # down, in the middle
        first.wait(timeout=30)
        outage_from = time.monotonic() - started
        await asyncio.sleep(outage)
        stack.enter_context(receiver_process(port, log, fail_every=3))
        wait_for_port(port)
        outage_to = time.monotonic() - started
        succeeded, seconds = await bench.wait_done(ids, timeout=1800)
        stack.close()
        received = receiver_log(log)
    ok = Counter(webhook_id for _at, webhook_id, status in received if status == 200)
    statuses = Counter(status for _at, _id, status in received)
    return {
        "row": f"drain: {events} events, every 3rd fails its first attempt, {outage:.0f} s outage",
        "jobs": events,
        "succeeded": succeeded,
        "seconds_to_drain": round(seconds, 1),
        "outage_from_s": round(outage_from, 1),
        "outage_to_s": round(outage_to, 1),
        "delivered_events": len(ok),
        "each_once": len(ok) == events and set(ok.values()) == {1},
        "receiver_requests": len(received),
        "receiver_statuses": dict(sorted(statuses.items())),
        "refused_connections": await bench.refused_connections(shop),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"rows": []}
    with bench_database() as database:
        results["database"] = database.description
        bench = Bench(database)
        try:
            for concurrency in args.concurrency:
                row = await noop_throughput(bench, args.noop_jobs, concurrency)
                results["rows"].append(row)
                print_row(row)
            for concurrency in args.concurrency:
                row = await delivery_throughput(bench, args.events, concurrency)
                results["rows"].append(row)
                print_row(row)
            noop = {
                int(row["row"].rsplit(" ", 1)[-1]): row["per_second"]
                for row in results["rows"]
                if row["row"].startswith("no-op")
            }
            for concurrency in args.concurrency:
                row = await generation_throughput(
                    bench, args.generations, concurrency, noop.get(concurrency)
                )
                results["rows"].append(row)
                print_row(row)
            if not args.skip_drain:
                row = await drain(bench, args.drain_events, args.outage, max(args.concurrency))
                results["drain"] = row
                print_drain(row)
        finally:
            await bench.aclose()
    return results


def print_row(row: dict[str, Any]) -> None:
    extra = ""
    if "completed" in row:
        extra = f"  ({row['completed']} completed, each in one run; "
        extra += f"{row['vs_noop'] or 0:.2f}x the no-op task's rate)"
    if "received_ok" in row:
        extra = f"  (receiver: {row['received_ok']} events with a 2xx, signatures verified: "
        extra += f"{'yes' if row['verified'] else 'NO'}; {row['attempt_ms']} ms an attempt)"
    print(
        f"  {row['row']:<64} {row['per_second'] or 0:>8,.1f} jobs/s  "
        f"({row['succeeded']}/{row['jobs']} in {row['seconds']:.2f} s){extra}",
        flush=True,
    )


def print_drain(row: dict[str, Any]) -> None:
    print(f"\n  {row['row']}", flush=True)
    print(
        f"    drained in {row['seconds_to_drain']:.1f} s (first start to last delivery); "
        f"receiver down from {row['outage_from_s']:.1f} s to {row['outage_to_s']:.1f} s"
    )
    print(
        f"    delivered: {row['delivered_events']}/{row['jobs']} events, each exactly once "
        f"by webhook-id: {'yes' if row['each_once'] else 'NO'}"
    )
    print(
        f"    receiver: {row['receiver_requests']} requests {row['receiver_statuses']}; "
        f"{row['refused_connections']} attempts refused while it was down"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.jobs_bench")
    parser.add_argument("--noop-jobs", type=int, default=2000)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--concurrency", default="1,4", help="comma-separated (1,4)")
    parser.add_argument("--generations", type=int, default=1000)
    parser.add_argument("--drain-events", type=int, default=1000)
    parser.add_argument("--outage", type=float, default=30.0)
    parser.add_argument("--skip-drain", action="store_true")
    args = parser.parse_args(argv)
    args.concurrency = [int(item) for item in args.concurrency.split(",") if item.strip()]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print("\nJobs: one worker process on the bench database (bench/jobs_bench.py)\n", flush=True)
    started = time.monotonic()
    results = asyncio.run(run(args))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\n  results: {RESULTS.relative_to(PROJECT_ROOT)}; {time.monotonic() - started:.0f} s")
    drained = results.get("drain")
    ok = all(row["succeeded"] == row["jobs"] for row in results["rows"])
    ok = ok and all(row.get("completed", row["jobs"]) == row["jobs"] for row in results["rows"])
    if drained is not None:
        ok = ok and drained["each_once"] and drained["succeeded"] == drained["jobs"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
