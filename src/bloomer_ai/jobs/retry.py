"""Retries: exponential backoff with jitter, per task.

A failing job is retried by procrastinate (same job, ``attempts`` + 1, ``scheduled_at``
in the future; a worker picks it up by polling, ``JOB_POLL_SECONDS``). ``Backoff`` waits
``first_seconds × factor^attempts`` (capped, ±20 % jitter so retries of many jobs that
failed together spread out) and gives up after ``max_attempts`` retries: the job ends
``failed``. A task that knows better raises ``RetryLater(seconds)`` (a delay it computed
from its own settings; not bound by ``max_attempts``) or ``GiveUp`` (no more retries).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.jobs import Job

from bloomer_ai.kit.time import utcnow

JITTER = 0.2


class GiveUp(Exception):
    """Stop retrying: the job ends ``failed`` (the task said why)."""


class RetryLater(Exception):
    """Retry this job after ``seconds`` (the task computed the delay)."""

    def __init__(self, seconds: float, reason: str) -> None:
        self.seconds = max(0.0, seconds)
        self.reason = reason
        super().__init__(f"{reason}; retry in {self.seconds:.1f} s")


def jittered(seconds: float) -> float:
    # Not a secret: spreading retries out needs no cryptographic randomness.
    return seconds * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311


def backoff_delay(attempts: int, first_seconds: float, factor: float, max_seconds: float) -> float:
    """Exponential back-off with jitter: ``first × factor^attempts``, at most ``max``."""
    return jittered(min(max_seconds, first_seconds * factor**attempts))


@dataclass(frozen=True, kw_only=True)
class Backoff(BaseRetryStrategy):
    max_attempts: int
    """Retries after the first run (5: at most six runs)."""
    first_seconds: float = 2.0
    factor: float = 2.0
    max_seconds: float = 3600.0

    def delay(self, attempts: int) -> float:
        """Seconds before the retry that follows run number ``attempts + 1``."""
        return backoff_delay(attempts, self.first_seconds, self.factor, self.max_seconds)

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, GiveUp):
            return None
        if isinstance(exception, RetryLater):
            return RetryDecision(retry_at=utcnow() + timedelta(seconds=exception.seconds))
        if job.attempts >= self.max_attempts:
            return None
        return RetryDecision(retry_at=utcnow() + timedelta(seconds=self.delay(job.attempts)))
