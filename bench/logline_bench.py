"""The request log line's cost, in process: what every request pays at LOG_LEVEL=INFO.

The service writes one access line per request (``RequestContextMiddleware``), through
the logging set-up it runs with: structlog's filtering bound logger, the contextvars
merge, the ISO timestamp, the JSON renderer (orjson), and the redaction pass over the
rendered text. This times that exact call, on the logger the middleware holds, writing to
``/dev/null``, side by side with the same call on a bare structlog JSON logger (no
redaction, the standard library's ``json``) and with a dropped DEBUG line, so a change in
our set-up shows as a difference in one run.

    .venv/bin/python -m bench.logline_bench [--lines 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import structlog

from bloomer_ai.logging import configure_logging
from bloomer_ai.web.middleware import access_log

TARGET_US = 15.0
FIELDS: dict[str, Any] = {
    "method": "GET",
    "route": "/api/ai/routing/rules/{rule_id}",
    "status": 200,
    "duration_ms": 0.42,
    "request_id": "8614187e0215409a000000000000000e",
    "shop_id": "01a24ec0-18a9-7288-8073-416dfe4ace90",
}


def cpu_us_per_call(call: Callable[[], None], lines: int, repeat: int) -> float:
    """The best of ``repeat`` runs of ``lines`` calls: CPU time per call, in µs."""
    for _ in range(lines // 10):
        call()
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(lines):
            call()
        best = min(best, (time.process_time() - started) / lines * 1e6)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.logline_bench")
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    with open(os.devnull, "w") as devnull:
        configure_logging(level="INFO", json_output=True, stream=devnull)
        ours = access_log.bind()  # as the middleware holds it

        def our_line() -> None:
            ours.info("request", **FIELDS)

        def dropped_line() -> None:
            ours.debug("request", **FIELDS)

        bare = structlog.wrap_logger(
            structlog.PrintLogger(devnull),
            processors=[
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.JSONRenderer(),
            ],
            wrapper_class=structlog.make_filtering_bound_logger(20),
        )

        def bare_line() -> None:
            bare.info("request", **FIELDS)

        rows = [
            ("our access line (INFO, JSON, redacted)", cpu_us_per_call(our_line, **vars(args))),
            ("bare structlog JSON line", cpu_us_per_call(bare_line, **vars(args))),
            ("a DEBUG line at INFO (dropped)", cpu_us_per_call(dropped_line, **vars(args))),
        ]
    print(f"{'request log line':<42} {'µs CPU':>8}")
    for name, cost in rows:
        print(f"{name:<42} {cost:>8.1f}")
    ours_us = rows[0][1]
    verdict = "within" if ours_us <= TARGET_US else "OVER"
    print(
        f"our line vs the bare structlog line: {ours_us / rows[1][1]:.2f}x; "
        f"{verdict} the {TARGET_US:.0f} µs budget"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
