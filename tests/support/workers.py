"""Workers for tests: a worker in a process of its own, and the settings that make a dead
one noticed within seconds. The worker database itself is a fixture of ``conftest.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bloomer_ai.db.engine import DatabaseTarget
from bloomer_ai.kit.database_urls import libpq_url
from support.sessions import APP_ROLE

TESTS_DIR = Path(__file__).resolve().parents[1]

# Seconds, not the production defaults: a dead worker is noticed within about three.
FAST_JOBS: dict[str, Any] = dict(
    job_poll_seconds=0.2,
    job_stalled_after_seconds=2.0,
    job_stalled_check_seconds=1,
    job_shutdown_seconds=10.0,
    job_worker_concurrency=2,
)


def worker_environment(target: DatabaseTarget, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": libpq_url(target.url),
        "MIGRATION_DATABASE_URL": libpq_url(target.operator_url),
        "DB_APP_ROLE": APP_ROLE,
        "PYTHONPATH": str(TESTS_DIR),
        **{name.upper(): str(value) for name, value in FAST_JOBS.items()},
        **extra,
    }
    env.pop("JOB_WORKER_IN_PROCESS", None)
    return env


@contextmanager
def worker_process(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A worker in a process of its own (killed at the end if still running)."""
    process = subprocess.Popen(
        command, env=env, cwd=TESTS_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


SUPPORT_WORKER = [sys.executable, "-m", "support.worker_process"]
"""`bloomer-ai worker`'s code with the test tasks known too (support/worker_process.py)."""
