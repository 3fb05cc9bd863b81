"""``make bench``: the service on PostgreSQL under a real ASGI server, loaded from a second
process on loopback, next to a bare FastAPI app served the same way in the same run.

    python -m bench.run [--duration 5] [--warmup 1] [--connections 32]
                        [--scenarios readyz,shop_read] [--server uvicorn|granian]
                        [--databases server,embedded]
                        [--rounds N] [--no-pin] [--skip-ceiling] [--skip-inprocess]
                        [--skip-ratelimit] [--skip-jobs] [--skip-drain]
    python -m bench.run --compare-servers [--servers uvicorn,granian] [--rounds 3]

Prints one row per scenario (req/s, p50/p99 latency, req/s as a ratio to the bare app),
a table per database (the server PostgreSQL of BENCH_DATABASE_URL/DATABASE_URL and the
embedded default, when a server is named) and their ratios side by side, and writes the
figures to ``bench/results/latest.json`` (``compare-servers.json`` for
``--compare-servers``). See docs/benchmarks.md for how to read them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.database import (
    BENCH_SECRET,
    BenchContext,
    BenchDatabase,
    bench_database,
    server_from_environment,
)
from bench.loadgen import LoadSpec
from bench.scenarios import SCENARIOS, YARDSTICK, Scenario, load_scenario_modules
from bench.servers import (
    BARE_TARGET,
    DEFAULT_SERVER,
    LOOPBACK,
    PROJECT_ROOT,
    SERVERS,
    SERVICE_TARGET,
    UNPINNED,
    Layout,
    ServerKind,
    ServerProcess,
    free_port,
    pinned_to,
)

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
LOGS_DIR = RESULTS_DIR / "logs"
INPROCESS_BENCHES = ("bench.jsonlogic_bench", "bench.logline_bench", "bench.support_context_bench")
# High enough never to trip during a run, so the limiter's cost is measured, not its 429s.
UNLIMITED_RATE = "100000000/minute"

Result = dict[str, Any]


# --- environment and preparation -------------------------------------------------------------


def service_environment(database: BenchDatabase) -> dict[str, str]:
    """The service's settings for the bench: its own database, test secrets, and logging
    as deployed (INFO, JSON lines: every request writes its access line)."""
    from bloomer_ai.config import RateLimitSettings
    from bloomer_ai.kit.database_urls import libpq_url

    env = {
        "DATABASE_URL": libpq_url(database.app_url),
        "MIGRATION_DATABASE_URL": libpq_url(database.url),
        "ENVIRONMENT": "test",
        "NEXTAUTH_SECRET": BENCH_SECRET,
        "API_KEY_PEPPER": BENCH_SECRET,
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        "WEB_CONCURRENCY": "1",
    }
    for name, info in RateLimitSettings.model_fields.items():
        if isinstance(info.default, str) and "/" in info.default:  # a policy such as 120/minute
            env[name.upper()] = UNLIMITED_RATE
    redis = os.environ.get("BENCH_REDIS_URL")
    if redis:
        env["REDIS_URL"] = redis
    return env


def prepare(database: BenchDatabase, names: Sequence[str]) -> tuple[dict[str, str], list[Scenario]]:
    """Run the scenarios' setup hooks; return the servers' environment and the scenarios."""
    from bloomer_ai.config import load_settings

    overrides = service_environment(database)
    # The harness reads the same settings as the servers it starts, so credentials made by
    # setup hooks (API-key hashes with the pepper, session tokens) are accepted by them.
    # Rate limits live in memory unless BENCH_REDIS_URL says otherwise.
    os.environ.pop("REDIS_URL", None)
    os.environ.update(overrides)
    settings = load_settings()

    async def run_hooks(ctx: BenchContext) -> list[Scenario]:
        prepared = []
        try:
            for name in names:
                scenario = SCENARIOS[name]
                if scenario.setup is not None:
                    scenario = scenario.with_prepared(await scenario.setup(ctx))
                prepared.append(scenario)
        finally:
            await ctx.aclose()
        return prepared

    scenarios = asyncio.run(run_hooks(BenchContext(database, settings)))
    return dict(os.environ), scenarios


# --- driving ------------------------------------------------------------------------------------


def drive(
    scenario: Scenario, port: int, watch_pid: int, args: argparse.Namespace, layout: Layout
) -> Result:
    """Run the load generator in its own process against one scenario; its JSON result."""
    spec = LoadSpec(
        host=LOOPBACK,
        port=port,
        method=scenario.method,
        path=scenario.path,
        headers=scenario.request_headers(),
        body=scenario.request_body(),
        connections=scenario.connections or args.connections,
        duration=args.duration,
        warmup=args.warmup,
        watch_pids=(watch_pid,),
    )
    completed = subprocess.run(
        [sys.executable, "-m", "bench.loadgen", "--stdin"],
        input=json.dumps(spec.to_json()).encode(),
        capture_output=True,
        cwd=PROJECT_ROOT,
        timeout=args.warmup + args.duration + 60,
        check=False,
        preexec_fn=pinned_to(layout.loadgen_cpus),  # safe: the harness runs no threads
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"load generator failed for {scenario.name}: "
            + completed.stderr.decode(errors="replace")[-2000:]
        )
    result: Result = json.loads(completed.stdout)
    result.update(
        connections=spec.connections,
        scenario=scenario.name,
        method=scenario.method,
        path=scenario.path,
        expect_status=scenario.expect_status,
        problem=_problem(result, scenario.expect_status),
    )
    return result


def _problem(result: Result, expect_status: int) -> str | None:
    if result["completed"] == 0:
        return "no request completed"
    unexpected = {s: n for s, n in result["statuses"].items() if int(s) != expect_status}
    if unexpected:
        return f"unexpected statuses {unexpected} (expected {expect_status})"
    if result["errors"]:
        return f"errors {result['errors']}"
    return None


def serve(kind: ServerKind, app: str, env: dict[str, str], layout: Layout) -> ServerProcess:
    """A server process for the bare app or the service (started by ``with``)."""
    bare = app == "bare"
    return ServerProcess(
        kind,
        target=BARE_TARGET if bare else SERVICE_TARGET,
        factory=not bare,
        ready_path="/" if bare else "/readyz",
        env=env,
        log_path=LOGS_DIR / f"{kind.name}-{app}.log",
        cpus=layout.server_cpus,
    )


def measure(
    kind: ServerKind,
    scenario: Scenario,
    server: ServerProcess,
    args: argparse.Namespace,
    layout: Layout,
    *,
    quiet: bool = False,
) -> Result:
    if not quiet:
        _progress(f"  {kind.name:<8} {scenario.name:<14}")
    result = drive(scenario, server.port, server.pid, args, layout)
    result["server"] = kind.name
    if not quiet:
        _progress(f" {result['rps']:>9,.0f} req/s\n")
    return result


def _paired(result: Result, yardstick: Result) -> Result:
    result["paired_bare_rps"] = yardstick["rps"]
    result["ratio_to_bare"] = result["rps"] / yardstick["rps"] if yardstick["rps"] else None
    return result


def run_round(
    kind: ServerKind,
    scenarios: Sequence[Scenario],
    env: dict[str, str],
    args: argparse.Namespace,
    layout: Layout,
) -> list[Result]:
    """The bare app and the service served side by side (one under load at a time).

    Each service scenario is compared with a run of the bare app made just before it, not
    with one made minutes earlier: this machine is shared and its speed drifts within a
    round, and a ratio of two runs far apart carries that drift. The bare app's own extra
    rows are compared with the yardstick run that precedes them.
    """
    bare_rows = [scenario for scenario in scenarios if scenario.app == "bare"]
    service_rows = [scenario for scenario in scenarios if scenario.app == "service"]
    with serve(kind, "bare", env, layout) as bare, serve(kind, "service", env, layout) as service:
        yardstick = measure(kind, YARDSTICK, bare, args, layout)
        yardstick["ratio_to_bare"] = 1.0
        results = [yardstick]
        for scenario in bare_rows:
            results.append(_paired(measure(kind, scenario, bare, args, layout), yardstick))
        for scenario in service_rows:
            just_before = measure(kind, YARDSTICK, bare, args, layout, quiet=True)
            results.append(_paired(measure(kind, scenario, service, args, layout), just_before))
    return results


def measure_ceiling(args: argparse.Namespace) -> Result:
    """The generator against a canned-response server: the most it can produce here.

    Unpinned on purpose: pinned to a core each, the stub and the generator spend their
    time waking each other up and neither gets busy, which would not show a ceiling.
    """
    port = free_port()
    stub = subprocess.Popen(
        [sys.executable, "-m", "bench.stub_server", "--port", str(port)],
        cwd=PROJECT_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            if stub.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the stub server did not start")
            try:
                with socket.create_connection((LOOPBACK, port), timeout=1):
                    break
            except OSError:
                time.sleep(0.05)
        _progress(f"  {'stub':<8} {'ceiling':<14}")
        ceiling = Scenario("loadgen_ceiling", "GET", "/", app="bare")
        result = drive(ceiling, port, stub.pid, args, UNPINNED)
        _progress(f" {result['rps']:>9,.0f} req/s\n")
        return result
    finally:
        stub.terminate()
        try:
            stub.wait(timeout=5)
        except subprocess.TimeoutExpired:
            stub.kill()
            stub.wait(timeout=5)


def median_round(runs: list[Result]) -> Result:
    """The round with the median req/s (its latencies belong to it); spread over rounds."""
    ordered = sorted(runs, key=lambda run: run["rps"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["server_cpu_us_per_request"] = report.cpu_us_per_request(chosen)
    ratios = sorted(run["ratio_to_bare"] for run in runs if run.get("ratio_to_bare") is not None)
    if ratios:  # each round's own ratio (to the bare run paired with it), the median kept
        chosen["ratio_to_bare"] = ratios[len(ratios) // 2]
    if len(runs) > 1:
        chosen["rounds_rps"] = [round(run["rps"], 1) for run in runs]
        chosen["rounds_ratio_to_bare"] = [
            None if run.get("ratio_to_bare") is None else round(run["ratio_to_bare"], 3)
            for run in runs
        ]
        chosen["spread"] = (ordered[-1]["rps"] - ordered[0]["rps"]) / max(chosen["rps"], 1e-9)
        problems = [run["problem"] for run in runs if run["problem"]]
        chosen["problem"] = problems[0] if problems else None
    return chosen


def run_inprocess() -> int:
    """The in-process benches (JsonLogic, the request log line): each prints its table."""
    status = 0
    for module in INPROCESS_BENCHES:
        print(f"\nIn-process: python -m {module}\n", flush=True)
        completed = subprocess.run(
            [sys.executable, "-m", module], cwd=PROJECT_ROOT, timeout=600, check=False
        )
        if completed.returncode != 0:
            print(f"! {module} exited with code {completed.returncode}")
            status = 1
    return status


# --- the two modes ------------------------------------------------------------------------------


def run_bench(args: argparse.Namespace, names: list[str]) -> int:
    """Every scenario on each database of ``--databases``: one table each, then the ratios
    side by side (the server PostgreSQL first, the embedded default second)."""
    kind = SERVERS[args.server]
    layout = Layout.choose(args.pin)
    by_database: dict[str, list[Result]] = {}
    infos: dict[str, dict[str, Any]] = {}
    scenarios: list[Scenario] = []
    ceiling = None
    for database_kind in args.databases:
        runs: dict[str, list[Result]] = {}
        with bench_database(database_kind) as database:
            env, scenarios = prepare(database, names)
            info = infos[database_kind] = environment_info(database, [kind.name], args, layout)
            report.print_header(info, f"{kind.name} {kind.version()} ({kind.summary}), 1 worker")
            for round_number in range(args.rounds):
                if args.rounds > 1:
                    _progress(f"round {round_number + 1}/{args.rounds}\n")
                for result in run_round(kind, scenarios, env, args, layout):
                    runs.setdefault(result["scenario"], []).append(result)
        results = by_database[database_kind] = [median_round(rounds) for rounds in runs.values()]
        print()
        print(report.results_table(results))
        print()
        report.print_comparisons(results, {scenario.name: scenario for scenario in scenarios})
        report.print_warnings(results)
    if not args.skip_ceiling:
        ceiling = measure_ceiling(args)
    print()
    report.print_legend()
    if len(by_database) > 1:
        print()
        print(report.databases_table(by_database))
    if ceiling is not None:
        report.print_ceiling(ceiling, next(iter(by_database.values()))[0]["rps"])
    path = write_json(
        "latest.json",
        {
            "environment": infos,
            "results": by_database,
            "comparisons": {
                database: report.comparisons(results, {s.name: s for s in scenarios})
                for database, results in by_database.items()
            },
            "loadgen_ceiling": ceiling,
        },
    )
    print(f"\nresults: {path.relative_to(PROJECT_ROOT)}; server logs: bench/results/logs/")

    problems = [r for results in by_database.values() for r in results if r.get("problem")]
    status = 1 if problems else 0
    if not args.skip_inprocess:
        status = max(status, run_inprocess())
    if not args.skip_ratelimit:
        status = max(status, run_ratelimit_redis())
    if not args.skip_jobs:
        status = max(status, run_jobs_bench(args.skip_drain))
    return status


def run_jobs_bench(skip_drain: bool) -> int:
    """One worker process: no-op and delivery throughput, and the 1,000-event drain."""
    command = [sys.executable, "-m", "bench.jobs_bench"] + (["--skip-drain"] if skip_drain else [])
    completed = subprocess.run(command, cwd=PROJECT_ROOT, timeout=3600, check=False)
    if completed.returncode != 0:
        print(f"! bench.jobs_bench exited with code {completed.returncode}")
        return 1
    return 0


def run_ratelimit_redis() -> int:
    """Two server processes on one Redis: the admitted count against the limit."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.ratelimit_redis"], cwd=PROJECT_ROOT, timeout=600, check=False
    )
    if completed.returncode != 0:
        print(f"! bench.ratelimit_redis exited with code {completed.returncode}")
        return 1
    return 0


def compare_servers(args: argparse.Namespace, names: list[str]) -> int:
    kinds = [SERVERS[name] for name in args.servers]
    layout = Layout.choose(args.pin)
    runs: dict[tuple[str, str], list[Result]] = {}
    with bench_database(args.databases[0]) as database:
        env, scenarios = prepare(database, names)
        info = environment_info(database, [kind.name for kind in kinds], args, layout)
        servers_line = ", ".join(f"{kind.name} {kind.version()}" for kind in kinds)
        report.print_header(info, f"{servers_line}, 1 worker each")
        for round_number in range(args.rounds):
            _progress(f"round {round_number + 1}/{args.rounds}\n")
            # Rotate the order every round so neither server always runs on a warmer machine.
            shift = round_number % len(kinds)
            for kind in kinds[shift:] + kinds[:shift]:
                for result in run_round(kind, scenarios, env, args, layout):
                    runs.setdefault((result["scenario"], kind.name), []).append(result)

    results = {key: median_round(per_round) for key, per_round in runs.items()}
    scenario_names = [YARDSTICK.name, *(scenario.name for scenario in scenarios)]
    server_names = [kind.name for kind in kinds]
    summary = report.compare_summary(results, scenario_names, server_names)
    print()
    print(report.compare_table(results, scenario_names, server_names))
    print()
    print("median round of each row; spread = (max - min) / median req/s over the rounds.")
    report.print_warnings(list(results.values()))
    print("\n".join(summary))
    path = write_json(
        "compare-servers.json",
        {"environment": info, "results": list(results.values()), "summary": summary},
    )
    print(f"\nresults: {path.relative_to(PROJECT_ROOT)}")
    return 1 if any(result.get("problem") for result in results.values()) else 0


def environment_info(
    database: BenchDatabase, server_names: Sequence[str], args: argparse.Namespace, layout: Layout
) -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "fastapi": version("fastapi"),
        "servers": {name: SERVERS[name].version() for name in server_names},
        "database": database.description,
        "database_source": database.source,
        "postgresql": database.server_version,
        "connections": args.connections,
        "warmup_s": args.warmup,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "cpu_layout": layout.describe(),
    }


def write_json(name: str, payload: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / name
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def _progress(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


# --- command line -------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="HTTP benchmarks of the service against a bare FastAPI app, same run.",
    )
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds (5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds (1)")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections")
    parser.add_argument(
        "--scenarios",
        default=None,
        help=f"comma-separated, of: {', '.join(SCENARIOS)} (default: all; with "
        "--compare-servers: readyz)",
    )
    parser.add_argument("--server", choices=sorted(SERVERS), default=DEFAULT_SERVER)
    parser.add_argument(
        "--databases",
        default=None,
        help="comma-separated, of: server, embedded (default: both when BENCH_DATABASE_URL "
        "or DATABASE_URL names a server, else embedded)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="repeat everything N times and keep the median (1; 3 with --compare-servers)",
    )
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="do not pin the server and the load generator to a core each",
    )
    parser.add_argument("--skip-ceiling", action="store_true", help="skip the generator ceiling")
    parser.add_argument(
        "--skip-inprocess",
        action="store_true",
        help="skip the in-process benches (JsonLogic, the log line)",
    )
    parser.add_argument(
        "--skip-ratelimit",
        action="store_true",
        help="skip bench/ratelimit_redis.py (two processes, one Redis, admitted count)",
    )
    parser.add_argument(
        "--skip-jobs",
        action="store_true",
        help="skip bench/jobs_bench.py (worker throughput, generation, the delivery drain)",
    )
    parser.add_argument(
        "--skip-drain",
        action="store_true",
        help="in bench/jobs_bench.py, skip the 1,000-event drain with a 30 s outage (~2 min)",
    )
    parser.add_argument(
        "--compare-servers",
        action="store_true",
        help="run the bare app and the scenarios under each server and compare",
    )
    parser.add_argument(
        "--servers", default="uvicorn,granian", help="servers for --compare-servers"
    )
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 120 or not 0 <= args.warmup <= 60:
        parser.error("--duration must be in (0, 120] and --warmup in [0, 60]")
    if not 1 <= args.connections <= 1024:
        parser.error("--connections must be 1..1024")
    if args.rounds is None:
        args.rounds = 3 if args.compare_servers else 1
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be 1..20")
    if args.databases is None:
        args.databases = "server,embedded" if server_from_environment() else "embedded"
    args.databases = [name.strip() for name in args.databases.split(",") if name.strip()]
    if not args.databases or set(args.databases) - {"server", "embedded"}:
        parser.error("--databases takes server and/or embedded")
    if "server" in args.databases and server_from_environment() is None:
        parser.error("--databases server needs BENCH_DATABASE_URL or DATABASE_URL")
    args.servers = [name.strip() for name in args.servers.split(",") if name.strip()]
    unknown = [name for name in args.servers if name not in SERVERS]
    if unknown:
        parser.error(f"unknown server(s) {unknown}; known: {', '.join(SERVERS)}")
    return args


def selected_scenarios(args: argparse.Namespace) -> list[str]:
    if args.scenarios is None:
        return ["readyz"] if args.compare_servers else list(SCENARIOS)
    names = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    names = [name for name in names if name != YARDSTICK.name]  # it always runs
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        raise SystemExit(
            f"bench: unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}"
        )
    # A row's like-for-like yardstick runs with it.
    for name in list(names):
        other = SCENARIOS[name].compare_to
        if other is not None and other not in names:
            names.insert(names.index(name), other)
    return names


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    load_scenario_modules()
    args = parse_args(argv)
    names = selected_scenarios(args)
    started = time.monotonic()
    # A SIGTERM (a CI timeout, say) unwinds like Ctrl-C: the servers run in sessions of
    # their own and would outlive us, and the bench database would stay behind.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        status = compare_servers(args, names) if args.compare_servers else run_bench(args, names)
    except KeyboardInterrupt:
        print("\nbench: interrupted; servers stopped and the bench database dropped")
        return 130
    print(f"\nbench: {time.monotonic() - started:.0f} s in all")
    return status


if __name__ == "__main__":
    sys.exit(main())
