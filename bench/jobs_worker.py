"""``python -m bench.jobs_worker --concurrency N``: ``bloomer-ai worker``'s own code
(``jobs.worker.serve_worker``) with the bench's no-op task known too."""

from __future__ import annotations

import argparse
import asyncio

from bloomer_ai.config import load_settings
from bloomer_ai.db.engine import resolve_database
from bloomer_ai.jobs.worker import serve_worker
from bloomer_ai.logging import configure_logging
from bloomer_ai.main import task_modules


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.jobs_worker")
    parser.add_argument("--concurrency", type=int, required=True)
    args = parser.parse_args()
    settings = load_settings()
    configure_logging(level=settings.server.log_level, json_output=True)
    asyncio.run(
        serve_worker(
            settings,
            resolve_database(settings.db),
            concurrency=args.concurrency,
            task_modules=[*task_modules(), "bench.job_tasks"],
        )
    )


if __name__ == "__main__":
    main()
