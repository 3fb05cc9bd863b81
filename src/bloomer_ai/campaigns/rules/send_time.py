"""When to send: the weekday and hour the customers order most, before the occasion.

* **The rhythm.** Orders of the last 365 days (not cancelled) are counted by weekday and by
  hour in the shop's time zone; the weekday with the most orders and the daytime hour
  (08:00-20:00 starts) with the most orders are the rhythm, earlier ones winning ties. A
  segment with at least ``MIN_ORDERS`` orders gets its own rhythm, otherwise the shop's;
  a shop with fewer has ``DEFAULT_RHYTHM``: Thursday 10:00.
* **The moment.** The best weekday at the best hour in the week that ends the channel's
  lead time before the occasion (e-mail 14 days, SMS 3 days). When that moment has
  passed, the best hour on the first day it is still ahead; never later than the
  channel's minimum lead (e-mail 2 days, SMS 1 day before the occasion), and on that last
  day any daytime hour still ahead. Never in the past (at least ``MIN_NOTICE`` ahead),
  never at night (21:00-08:00) in the shop's time zone. An occasion with no such moment
  left is not upcoming: its next date is the year after.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bloomer_ai.campaigns.rules.occasions import THURSDAY

Channel = Literal["email", "sms"]

DAYTIME_HOURS = range(8, 21)  # a send starts 08:00 at the earliest, 20:00 at the latest
MIN_ORDERS = 20
MIN_NOTICE = timedelta(minutes=15)
LEAD_DAYS: dict[Channel, int] = {"email": 14, "sms": 3}
MIN_LEAD_DAYS: dict[Channel, int] = {"email": 2, "sms": 1}


@dataclass(frozen=True, slots=True)
class Rhythm:
    """When a group of customers orders most: ``weekday`` 0 = Monday, ``hour`` 0-23."""

    weekday: int
    hour: int
    orders: int
    """Orders it was counted from (0 for the default)."""
    basis: Literal["segment", "shop", "default"]


DEFAULT_RHYTHM = Rhythm(weekday=THURSDAY, hour=10, orders=0, basis="default")


def offset_periods(
    zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, int]]:
    """``[start, end)`` cut where ``zone``'s UTC offset changes: (from, to, offset in
    seconds) each. The database then turns an instant into the shop's local hour with
    integer arithmetic per period instead of a time-zone conversion per order (which
    costs more than the rest of the send-time query). Changes are found day by day and
    placed to the second by bisection."""

    def offset_at(instant: datetime) -> int:
        delta = instant.astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    periods: list[tuple[datetime, datetime, int]] = []
    period_start, offset = start, offset_at(start)
    day = start
    while day < end:
        following = min(day + timedelta(days=1), end)
        if offset_at(following) != offset:
            # Offsets change on whole seconds: bisect on them.
            before, after = math.floor(day.timestamp()), math.ceil(following.timestamp())
            while after - before > 1:
                middle = (before + after) // 2
                at_middle = datetime.fromtimestamp(middle, UTC)
                before, after = (
                    (middle, after) if offset_at(at_middle) == offset else (before, middle)
                )
            change = datetime.fromtimestamp(after, UTC)
            periods.append((period_start, change, offset))
            period_start, offset = change, offset_at(change)
        day = following
    periods.append((period_start, end, offset))
    return periods


def rhythm_of(
    counts: Mapping[tuple[int, int], int], basis: Literal["segment", "shop"]
) -> Rhythm | None:
    """The rhythm of ``counts`` ((weekday, hour) → orders); None when there are fewer than
    ``MIN_ORDERS`` orders, or none at a daytime hour."""
    total = sum(counts.values())
    if total < MIN_ORDERS:
        return None
    by_weekday = [0] * 7
    by_hour = [0] * 24
    for (weekday, hour), orders in counts.items():
        by_weekday[weekday] += orders
        by_hour[hour] += orders
    best_day = max(range(7), key=lambda day: (by_weekday[day], -day))
    best_hour = max(DAYTIME_HOURS, key=lambda hour: (by_hour[hour], -hour))
    if by_hour[best_hour] == 0:
        return None
    return Rhythm(weekday=best_day, hour=best_hour, orders=total, basis=basis)


def send_moment(
    occasion_date: date, rhythm: Rhythm, channel: Channel, now: datetime, zone: ZoneInfo
) -> datetime | None:
    """When to send for ``occasion_date`` (aware, in ``zone``); None when it is too late."""
    local_now = now.astimezone(zone)
    earliest = local_now + MIN_NOTICE
    deadline = occasion_date - timedelta(days=MIN_LEAD_DAYS[channel])
    target = occasion_date - timedelta(days=LEAD_DAYS[channel])
    ideal_day = target - timedelta(days=(target.weekday() - rhythm.weekday) % 7)

    def at(day: date, hour: int) -> datetime:
        return datetime.combine(day, time(hour), tzinfo=zone)

    if at(ideal_day, rhythm.hour) >= earliest:
        return at(ideal_day, rhythm.hour)
    day = local_now.date()
    while day <= deadline:
        if at(day, rhythm.hour) >= earliest:
            return at(day, rhythm.hour)
        day += timedelta(days=1)
    # The best hour has passed on the last possible day (today): a daytime hour still ahead.
    if local_now.date() == deadline:
        for hour in DAYTIME_HOURS:
            if at(deadline, hour) >= earliest:
                return at(deadline, hour)
    return None
