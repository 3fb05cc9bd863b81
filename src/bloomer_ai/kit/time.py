from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def cron_every(seconds: int) -> str:
    """A cron line ticking every ``seconds`` (a sixth field for seconds, as procrastinate's
    cron reads it): under a minute a divisor of 60, else whole minutes dividing an hour,
    or whole hours dividing a day. ValueError for any other period."""
    if 0 < seconds < 60 and 60 % seconds == 0:
        return f"* * * * * */{seconds}"
    minutes, rest = divmod(seconds, 60)
    if seconds >= 60 and not rest and minutes < 60 and 60 % minutes == 0:
        return f"*/{minutes} * * * *"
    hours, rest = divmod(seconds, 3600)
    if seconds >= 3600 and not rest and 24 % hours == 0:
        return f"0 */{hours} * * *"
    raise ValueError(f"every {seconds} s is not a regular tick of a day")
