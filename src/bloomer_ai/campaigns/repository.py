"""All SQL of campaign suggestions: segment sizes by consent, the buyers of an occasion's
past windows, and when orders are placed.

Every statement reads the shop's orders that were not cancelled through the partial
indexes of migration 0010, with only leakproof operators in its conditions (``=``, ``<>``,
``<``/``>=`` on timestamptz), so row-level security leaves them index conditions
(docs/database.md). Times are compared with aware datetimes (timestamptz on both sides;
a timestamptz compared with a timestamp or a date is not leakproof).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bloomer_ai.campaigns.rules.segments import (
    CHAMPION_MIN_ORDERS,
    CHAMPION_RECENT_DAYS,
    FIRST_TIME_RECENT_DAYS,
    LOYAL_MIN_ORDERS,
    LOYAL_RECENT_DAYS,
    YEAR_DAYS,
    Segment,
)
from bloomer_ai.campaigns.rules.send_time import offset_periods
from bloomer_ai.db.repository import ShopScopedRepository

Channel = Literal["email", "sms"]

# The customer columns of a channel: (consent, address). A fixed table, never user input.
_CHANNEL_COLUMNS: dict[str, tuple[str, str]] = {
    "email": ("email_consent", "email"),
    "sms": ("sms_consent", "phone"),
}
EVERYONE = "*"
"""The key of all customers with an order, beside the segments."""


@dataclass(frozen=True, slots=True)
class Reach:
    """A group of customers on one channel, by consent."""

    total: int = 0
    reachable: int = 0
    """Consent given, and an address on the channel."""
    unknown: int = 0
    """Never asked: counts as no consent."""
    refused: int = 0
    no_address: int = 0
    """Consent given, but no address on the channel."""

    @property
    def without_consent(self) -> int:
        return self.unknown + self.refused

    def __sub__(self, other: Reach) -> Reach:
        return Reach(
            self.total - other.total,
            self.reachable - other.reachable,
            self.unknown - other.unknown,
            self.refused - other.refused,
            self.no_address - other.no_address,
        )

    def __add__(self, other: Reach) -> Reach:
        return Reach(
            self.total + other.total,
            self.reachable + other.reachable,
            self.unknown + other.unknown,
            self.refused + other.refused,
            self.no_address + other.no_address,
        )


@dataclass(frozen=True, slots=True)
class OccasionWindow:
    """Orders placed in ``[starts, ends)`` count for the occasion ``key``; ``latest`` marks
    the window of its last time."""

    key: str
    starts: datetime
    ends: datetime
    latest: bool


@dataclass(frozen=True, slots=True)
class OccasionBuyers:
    ever: Reach
    """Customers who ordered in any of the occasion's windows."""
    latest: Reach
    """Those who ordered in the window of its last time."""


def _reach_columns(channel: str) -> str:
    consent, address = _CHANNEL_COLUMNS[channel]
    return f"""
        count(*) AS total,
        count(*) FILTER (WHERE cu.{consent} AND cu.{address} IS NOT NULL) AS reachable,
        count(*) FILTER (WHERE cu.{consent} IS NULL) AS unknown,
        count(*) FILTER (WHERE NOT cu.{consent}) AS refused,
        count(*) FILTER (WHERE cu.{consent} AND cu.{address} IS NULL) AS no_address"""


def _reach(row: Any) -> Reach:
    return Reach(row.total, row.reachable, row.unknown, row.refused, row.no_address)


# History segments as small integers inside the statements (cheaper to group and hash
# than text); 0 is "in none".
SEGMENT_CODES = {
    1: Segment.CHAMPIONS,
    2: Segment.LOYAL,
    3: Segment.RECENT_FIRST_TIME,
    4: Segment.AT_RISK,
    5: Segment.LAPSED,
}

# Each customer's order history up to :now, and the history segment it falls in
# (rules.segments; the thresholds are parameters). Computed once per statement.
_CLASSIFIED = """
    per_customer AS (
        SELECT o.customer_id,
               count(*) AS orders_total,
               count(*) FILTER (WHERE o.placed_at >= :year_ago) AS orders_year,
               max(o.placed_at) AS last_order_at
        FROM orders o
        WHERE o.shop_id = :shop_id AND o.status <> 'cancelled'
          AND o.customer_id IS NOT NULL AND o.placed_at < :now
        GROUP BY o.customer_id
    ),
    classified AS MATERIALIZED (
        SELECT customer_id,
               CASE
                   WHEN last_order_at >= :champion_since AND orders_year >= :champion_orders
                       THEN 1
                   WHEN last_order_at >= :loyal_since AND orders_year >= :loyal_orders
                       THEN 2
                   WHEN orders_total = 1 AND last_order_at >= :first_time_since
                       THEN 3
                   WHEN orders_total >= 2 AND last_order_at < :loyal_since
                        AND last_order_at >= :year_ago
                       THEN 4
                   WHEN last_order_at < :year_ago THEN 5
                   ELSE 0
               END AS segment
        FROM per_customer
    )"""


def _history_parameters(shop_id: uuid.UUID, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    periods = offset_periods(zone, now - timedelta(days=YEAR_DAYS), now)
    return {
        "shop_id": shop_id,
        "now": now,
        "period_starts": [start for start, _end, _offset in periods],
        "period_ends": [end for _start, end, _offset in periods],
        "period_offsets": [offset for _start, _end, offset in periods],
        "year_ago": now - timedelta(days=YEAR_DAYS),
        "champion_since": now - timedelta(days=CHAMPION_RECENT_DAYS),
        "champion_orders": CHAMPION_MIN_ORDERS,
        "loyal_since": now - timedelta(days=LOYAL_RECENT_DAYS),
        "loyal_orders": LOYAL_MIN_ORDERS,
        "first_time_since": now - timedelta(days=FIRST_TIME_RECENT_DAYS),
    }


def _customer_history_sql(channel: str) -> str:
    """Two kinds of rows from one pass over the customers' histories: ``reach`` (per
    segment, by consent on the channel) and ``hours`` (orders of the last 365 days by
    segment, weekday 0 = Monday and hour in the shop's time zone; orders without a
    customer have segment -1)."""
    return f"""
    WITH {_CLASSIFIED},
    reach AS (
        SELECT c.segment, {_reach_columns(channel)}
        FROM classified c
        JOIN customers cu ON cu.shop_id = :shop_id AND cu.id = c.customer_id
        GROUP BY c.segment
    ),
    periods AS (
        SELECT * FROM unnest(
            CAST(:period_starts AS timestamptz[]), CAST(:period_ends AS timestamptz[]),
            CAST(:period_offsets AS integer[])
        ) AS p(starts, ends, utc_offset)
    ),
    placed AS (
        -- The hour of the week in the shop's time zone, Monday 00:00 = 0: the Unix epoch
        -- began on a Thursday (72 hours after a Monday's midnight).
        SELECT coalesce(c.segment, -1) AS segment,
               (CAST(floor((date_part('epoch', o.placed_at) + p.utc_offset) / 3600) AS bigint)
                + 72) % 168 AS hour_of_week
        FROM periods p
        JOIN orders o
          ON o.shop_id = :shop_id AND o.status <> 'cancelled'
         AND o.placed_at >= p.starts AND o.placed_at < p.ends
        LEFT JOIN classified c ON c.customer_id = o.customer_id
    ),
    hours AS (
        SELECT segment, hour_of_week / 24 AS weekday, hour_of_week % 24 AS hour,
               count(*) AS orders
        FROM placed
        GROUP BY segment, hour_of_week
    )
    SELECT 'reach' AS kind, segment, 0 AS weekday, 0 AS hour, total, reachable, unknown,
           refused, no_address
    FROM reach
    UNION ALL
    SELECT 'hours', segment, weekday, hour, orders, 0, 0, 0, 0
    FROM hours
    """  # noqa: S608 - built from this module's constants only


def _occasion_buyers_sql(channel: str) -> str:
    return f"""
    WITH windows AS (
        SELECT * FROM unnest(
            CAST(:keys AS text[]), CAST(:starts AS timestamptz[]),
            CAST(:ends AS timestamptz[]), CAST(:latest AS boolean[])
        ) AS w(occasion, starts, ends, latest)
    ),
    buyers AS (
        SELECT w.occasion, o.customer_id, bool_or(w.latest) AS latest
        FROM windows w
        JOIN orders o
          ON o.shop_id = :shop_id AND o.status <> 'cancelled'
         AND o.placed_at >= w.starts AND o.placed_at < w.ends
        WHERE o.customer_id IS NOT NULL
        GROUP BY w.occasion, o.customer_id
    )
    SELECT b.occasion, b.latest, {_reach_columns(channel)}
    FROM buyers b
    JOIN customers cu ON cu.shop_id = :shop_id AND cu.id = b.customer_id
    GROUP BY b.occasion, b.latest
    """  # noqa: S608 - built from this module's constants only


@dataclass(frozen=True, slots=True)
class CustomerHistory:
    reach: dict[str, Reach]
    """Per history segment, and ``EVERYONE`` with an order (in a segment or not)."""
    hours: dict[str, dict[tuple[int, int], int]]
    """Orders of the last 365 days by (weekday, hour): per history segment, and
    ``EVERYONE`` for the whole shop (orders without a customer included)."""


# Built once: the channel picks between two fixed column pairs.
_CUSTOMER_HISTORY = {channel: text(_customer_history_sql(channel)) for channel in _CHANNEL_COLUMNS}
_OCCASION_BUYERS = {channel: text(_occasion_buyers_sql(channel)) for channel in _CHANNEL_COLUMNS}


class CampaignRepository(ShopScopedRepository):
    async def customer_history(
        self, channel: Channel, now: datetime, zone: ZoneInfo
    ) -> CustomerHistory:
        """The history segments by consent on ``channel``, and when orders are placed
        (in ``zone``, the shop's), in one statement."""
        result = await self.session.execute(
            _CUSTOMER_HISTORY[channel], _history_parameters(self.shop_id, now, zone)
        )
        reach: dict[str, Reach] = defaultdict(Reach)
        hours: dict[str, dict[tuple[int, int], int]] = defaultdict(lambda: defaultdict(int))
        for row in result:
            segment = SEGMENT_CODES.get(row.segment)
            if row.kind == "reach":
                reach[EVERYONE] += _reach(row)
                if segment is not None:
                    reach[segment.value] = _reach(row)
            else:
                slot = (row.weekday, row.hour)
                hours[EVERYONE][slot] += row.total
                if segment is not None:
                    hours[segment.value][slot] += row.total
        return CustomerHistory(dict(reach), {key: dict(value) for key, value in hours.items()})

    async def occasion_buyers(
        self, channel: Channel, windows: Sequence[OccasionWindow]
    ) -> dict[str, OccasionBuyers]:
        """Per occasion key: the customers who ordered in its windows, and in its latest."""
        if not windows:
            return {}
        result = await self.session.execute(
            _OCCASION_BUYERS[channel],
            {
                "shop_id": self.shop_id,
                "keys": [window.key for window in windows],
                "starts": [window.starts for window in windows],
                "ends": [window.ends for window in windows],
                "latest": [window.latest for window in windows],
            },
        )
        ever: dict[str, Reach] = defaultdict(Reach)
        latest: dict[str, Reach] = defaultdict(Reach)
        for row in result:
            ever[row.occasion] += _reach(row)
            if row.latest:
                latest[row.occasion] += _reach(row)
        return {
            window.key: OccasionBuyers(ever[window.key], latest[window.key]) for window in windows
        }
