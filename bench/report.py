"""How ``bench.run`` prints: the header, the tables, and the notes under them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from bench.scenarios import YARDSTICK, Scenario

YARDSTICK_NAME = YARDSTICK.name
# Share of a core used by other processes during the bare run above which a run is noisy.
NOISY_OTHER_CPU = 0.15
# Share of its core above which the load generator may have been the limit.
BUSY_LOADGEN_CPU = 0.85

RESULT_HEADERS = [
    "scenario",
    "req/s",
    "p50 ms",
    "p99 ms",
    "vs bare",
    "server CPU",
    "µs CPU/req",
    "loadgen CPU",
    "other CPU",
]
COMPARE_HEADERS = [
    "scenario",
    "server",
    "req/s",
    "p50 ms",
    "p99 ms",
    "vs own bare",
    "server CPU",
    "µs CPU/req",
    "other CPU",
    "spread",
]


def cpu_us_per_request(result: dict[str, Any]) -> float | None:
    """Server CPU time per request: unlike req/s, barely moved by other busy processes."""
    server_cpu = result.get("server_cpu")
    if server_cpu is None or not result["rps"]:
        return None
    return float(server_cpu) / result["rps"] * 1e6


def _fmt(value: float | None, pattern: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format(value, pattern)


def _share(value: float | None) -> str:
    return _fmt(None if value is None else value * 100, ".0f") + " %"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def _name(result: dict[str, Any]) -> str:
    return str(result["scenario"]) + (" !" if result.get("problem") else "")


def results_table(results: Sequence[dict[str, Any]]) -> str:
    rows = [
        [
            _name(result),
            _fmt(result["rps"], ",.0f"),
            _fmt(result["latency_ms"]["p50"], ".2f"),
            _fmt(result["latency_ms"]["p99"], ".2f"),
            _fmt(result.get("ratio_to_bare"), ".3f"),
            _share(result.get("server_cpu")),
            _fmt(cpu_us_per_request(result), ",.0f"),
            _share(result.get("loadgen_cpu")),
            _share(result.get("other_cpu")),
        ]
        for result in results
    ]
    return render_table(RESULT_HEADERS, rows)


def compare_table(
    results: dict[tuple[str, str], dict[str, Any]],
    scenario_names: Sequence[str],
    server_names: Sequence[str],
) -> str:
    rows = []
    for scenario_name in scenario_names:
        for server in server_names:
            result = results[(scenario_name, server)]
            rows.append(
                [
                    _name(result),
                    server,
                    _fmt(result["rps"], ",.0f"),
                    _fmt(result["latency_ms"]["p50"], ".2f"),
                    _fmt(result["latency_ms"]["p99"], ".2f"),
                    _fmt(result.get("ratio_to_bare"), ".3f"),
                    _share(result.get("server_cpu")),
                    _fmt(cpu_us_per_request(result), ",.0f"),
                    _share(result.get("other_cpu")),
                    _share(result.get("spread", 0.0)),
                ]
            )
    return render_table(COMPARE_HEADERS, rows)


def compare_summary(
    results: dict[tuple[str, str], dict[str, Any]],
    scenario_names: Sequence[str],
    server_names: Sequence[str],
) -> list[str]:
    """One line per scenario: the second server relative to the first."""
    if len(server_names) < 2:
        return []
    base, other = server_names[0], server_names[1]
    lines = []
    for name in scenario_names:
        first, second = results[(name, base)], results[(name, other)]
        rps_ratio = second["rps"] / first["rps"] if first["rps"] else math.nan
        p99_ratio = second["latency_ms"]["p99"] / first["latency_ms"]["p99"]
        cpu_ratio = (cpu_us_per_request(second) or math.nan) / (
            cpu_us_per_request(first) or math.nan
        )
        lines.append(
            f"{name}: {other}/{base} req/s {rps_ratio:.2f}x, p99 {p99_ratio:.2f}x, "
            f"server CPU per request {cpu_ratio:.2f}x"
        )
    return lines


def print_header(info: dict[str, Any], server_line: str) -> None:
    print("Bloomer AI benchmark")
    print(f"  server:      {server_line}")
    print(f"  database:    {info['database']}")
    if info["database_source"] == "embedded":
        print(
            "               (the issue's targets are stated on a server PostgreSQL: "
            "set BENCH_DATABASE_URL)"
        )
    print(
        f"  load:        {info['connections']} keep-alive connections, "
        f"{info['warmup_s']:g} s warm-up + {info['duration_s']:g} s measured per scenario, "
        f"{info['rounds']} round(s)"
    )
    print(f"  cores:       {info['machine']}; {info['cpu_layout']}")
    print(f"  python:      {info['python']}, fastapi {info['fastapi']}")
    print()


def print_legend() -> None:
    print("vs bare = req/s of the row / req/s of the bare FastAPI app measured just before it")
    print("(the median of the rounds' ratios with --rounds);")
    print("CPU columns: share of one core in the measured window used by the server's processes,")
    print("by the load generator, and by everything else (PostgreSQL, other programs);")
    print("µs CPU/req = the server's CPU time per request (steady even on a busy machine).")


def comparisons(
    results: Sequence[dict[str, Any]], scenarios: Mapping[str, Scenario]
) -> dict[str, float]:
    """Rows with a like-for-like yardstick of their own: their req/s as a ratio to it."""
    by_name = {result["scenario"]: result for result in results}
    ratios = {}
    for name, result in by_name.items():
        scenario = scenarios.get(name)
        other = by_name.get(scenario.compare_to) if scenario and scenario.compare_to else None
        if other is not None and other["rps"]:
            ratios[name] = result["rps"] / other["rps"]
    return ratios


def print_comparisons(results: Sequence[dict[str, Any]], scenarios: Mapping[str, Scenario]) -> None:
    by_name = {result["scenario"]: result for result in results}
    for name, ratio in comparisons(results, scenarios).items():
        other = scenarios[name].compare_to
        assert other is not None
        p99 = by_name[name]["latency_ms"]["p99"], by_name[other]["latency_ms"]["p99"]
        print(
            f"{name} vs {other}: {ratio:.3f} req/s, p99 {p99[0]:.2f} vs {p99[1]:.2f} ms "
            f"({other}: {scenarios[other].description})"
        )


def databases_table(by_database: Mapping[str, Sequence[dict[str, Any]]]) -> str:
    """The rows side by side, one column group per database: req/s, vs bare, µs CPU/req."""
    names = list(dict.fromkeys(r["scenario"] for rows in by_database.values() for r in rows))
    indexed = {db: {r["scenario"]: r for r in rows} for db, rows in by_database.items()}
    headers = ["scenario"]
    for database in by_database:
        headers += [f"{database} req/s", "vs bare", "µs CPU/req"]
    rows = []
    for name in names:
        row = [name]
        for database in by_database:
            result = indexed[database].get(name)
            if result is None:
                row += ["–", "–", "–"]
                continue
            row += [
                _fmt(result["rps"], ",.0f"),
                _fmt(result.get("ratio_to_bare"), ".3f"),
                _fmt(cpu_us_per_request(result), ",.0f"),
            ]
        rows.append(row)
    return render_table(headers, rows)


def print_warnings(results: Sequence[dict[str, Any]]) -> None:
    for result in results:
        if result.get("problem"):
            print(f"! {result['scenario']}: {result['problem']} (figures not comparable)")
        if (result.get("loadgen_cpu") or 0) > BUSY_LOADGEN_CPU:
            print(
                f"! {result['scenario']}: the load generator used "
                f"{result['loadgen_cpu'] * 100:.0f} % of its core and may have been the limit"
            )
        # The bare app touches no database: CPU used by others during its window is noise.
        other = result.get("other_cpu") or 0.0
        if result["scenario"] == YARDSTICK_NAME and other > NOISY_OTHER_CPU:
            where = f" under {result['server']}" if "server" in result else ""
            print(
                f"! other processes used {other * 100:.0f} % of a core during the bare run"
                f"{where}: this machine was not quiet, figures are noisy"
            )


def print_ceiling(ceiling: dict[str, Any], bare_rps: float) -> None:
    headroom = ceiling["rps"] / bare_rps if bare_rps else math.nan
    verdict = (
        "the generator is not the bottleneck"
        if headroom >= 2
        else "the generator may limit the bare row"
    )
    print(
        f"load generator ceiling: {ceiling['rps']:,.0f} req/s against a canned-response "
        f"server, generator at {(ceiling.get('loadgen_cpu') or 0) * 100:.0f} % of a core "
        f"({headroom:.1f}x the bare app): {verdict}."
    )
