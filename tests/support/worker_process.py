"""``python -m support.worker_process``: a worker in a process of its own, running
exactly what ``bloomer-ai worker`` runs (``jobs.worker.serve_worker``: signals, graceful
stop, restarts), with the test tasks known too. Settings come from the environment."""

from __future__ import annotations

import asyncio

from bloomer_ai.config import load_settings
from bloomer_ai.db.engine import resolve_database
from bloomer_ai.jobs.worker import serve_worker
from bloomer_ai.logging import configure_logging
from bloomer_ai.main import task_modules


def main() -> None:
    settings = load_settings()
    configure_logging(level=settings.server.log_level, json_output=False)
    target = resolve_database(settings.db)
    asyncio.run(
        serve_worker(
            settings,
            target,
            concurrency=settings.jobs.job_worker_concurrency,
            task_modules=[*task_modules(), "support.job_tasks"],
        )
    )


if __name__ == "__main__":
    main()
