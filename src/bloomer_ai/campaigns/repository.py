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

from sqlalchemy import text

from bloomer_ai.campaigns.rules.segments import (
    CHAMPION_MIN_ORDERS,
    CHAMPION_RECENT_DAYS,
    FIRST_TIME_RECENT_DAYS,
    LOYAL_MIN_ORDERS,
    LOYAL_RECENT_DAYS,
    YEAR_DAYS,
)
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


# Each customer's order history up to :now, and the history segment it falls in
# (rules.segments; the thresholds are parameters).
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
    classified AS (
        SELECT customer_id,
               CASE
                   WHEN last_order_at >= :champion_since AND orders_year >= :champion_orders
                       THEN 'champions'
                   WHEN last_order_at >= :loyal_since AND orders_year >= :loyal_orders
                       THEN 'loyal'
                   WHEN orders_total = 1 AND last_order_at >= :first_time_since
                       THEN 'recent_first_time'
                   WHEN orders_total >= 2 AND last_order_at < :loyal_since
                        AND last_order_at >= :year_ago
                       THEN 'at_risk'
                   WHEN last_order_at < :year_ago THEN 'lapsed'
               END AS segment
        FROM per_customer
    )"""


def _history_parameters(shop_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    return {
        "shop_id": shop_id,
        "now": now,
        "year_ago": now - timedelta(days=YEAR_DAYS),
        "champion_since": now - timedelta(days=CHAMPION_RECENT_DAYS),
        "champion_orders": CHAMPION_MIN_ORDERS,
        "loyal_since": now - timedelta(days=LOYAL_RECENT_DAYS),
        "loyal_orders": LOYAL_MIN_ORDERS,
        "first_time_since": now - timedelta(days=FIRST_TIME_RECENT_DAYS),
    }


def _segment_reach_sql(channel: str) -> str:
    return f"""
    WITH {_CLASSIFIED}
    SELECT c.segment, GROUPING(c.segment) AS everyone, {_reach_columns(channel)}
    FROM classified c
    JOIN customers cu ON cu.shop_id = :shop_id AND cu.id = c.customer_id
    GROUP BY GROUPING SETS ((c.segment), ())
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


# Orders of the last year by weekday (0 = Monday) and hour in the shop's time zone, for
# each history segment and for the whole shop.
_ORDER_HOURS_SQL = f"""
    WITH {_CLASSIFIED},
    placed AS (
        SELECT o.customer_id, o.placed_at AT TIME ZONE :timezone AS local_time
        FROM orders o
        WHERE o.shop_id = :shop_id AND o.status <> 'cancelled'
          AND o.placed_at >= :year_ago AND o.placed_at < :now
    ),
    slots AS (
        SELECT c.segment,
               CAST(extract(isodow FROM p.local_time) AS integer) - 1 AS weekday,
               CAST(extract(hour FROM p.local_time) AS integer) AS hour
        FROM placed p
        LEFT JOIN classified c ON c.customer_id = p.customer_id
    )
    SELECT segment, GROUPING(segment) AS everyone, weekday, hour, count(*) AS orders
    FROM slots
    GROUP BY GROUPING SETS ((segment, weekday, hour), (weekday, hour))
"""  # noqa: S608 - built from this module's constants only


# Built once: the channel picks between two fixed column pairs.
_SEGMENT_REACH = {channel: text(_segment_reach_sql(channel)) for channel in _CHANNEL_COLUMNS}
_OCCASION_BUYERS = {channel: text(_occasion_buyers_sql(channel)) for channel in _CHANNEL_COLUMNS}
_ORDER_HOURS = text(_ORDER_HOURS_SQL)


class CampaignRepository(ShopScopedRepository):
    async def segment_reach(self, channel: Channel, now: datetime) -> dict[str, Reach]:
        """Each history segment's customers by consent on ``channel``, and ``EVERYONE``
        with an order (customers in no segment are in ``EVERYONE`` only)."""
        result = await self.session.execute(
            _SEGMENT_REACH[channel], _history_parameters(self.shop_id, now)
        )
        found: dict[str, Reach] = {}
        for row in result:
            if row.everyone:
                found[EVERYONE] = _reach(row)
            elif row.segment is not None:
                found[row.segment] = _reach(row)
        return found

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

    async def order_hours(
        self, now: datetime, timezone: str
    ) -> dict[str, dict[tuple[int, int], int]]:
        """Orders of the last 365 days by (weekday, hour) in ``timezone``: per history
        segment, and ``EVERYONE`` for the whole shop (orders without a customer included)."""
        result = await self.session.execute(
            _ORDER_HOURS,
            {**_history_parameters(self.shop_id, now), "timezone": timezone},
        )
        found: dict[str, dict[tuple[int, int], int]] = defaultdict(dict)
        for row in result:
            key = EVERYONE if row.everyone else row.segment
            if key is not None:
                found[key][(row.weekday, row.hour)] = row.orders
        return dict(found)
