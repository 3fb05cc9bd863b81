"""Audience segments: their definitions (computed in SQL by the repository with these
thresholds), descriptions and how they rank. ``docs/campaigns.md`` has the same table.

Orders count when they are not cancelled, placed before the moment of the suggestion.
The five order-history segments (RFM-style, as Klaviyo's and Conversio's standard ones)
are exclusive and tried in this order; a customer who fits none is in none:

* ``champions``: 3 or more orders in the last 365 days, the last within 90 days;
* ``loyal``: 2 or more orders in the last 365 days, the last within 180 days;
* ``recent_first_time``: exactly one order, placed within the last 60 days;
* ``at_risk``: 2 or more orders, the last 181 to 365 days ago;
* ``lapsed``: the last order more than 365 days ago (win-back).

Two more are about the occasion, over every customer with an order:

* ``ordered_for_last_occasion``: ordered in the occasion's window (the 21 days before it
  and the day itself, in the shop's time zone) the last time it came round;
* ``never_ordered_for_occasion``: ordered, but never in the occasion's window in the last
  five times it came round.
"""

from __future__ import annotations

from enum import StrEnum


class Segment(StrEnum):
    ORDERED_FOR_LAST_OCCASION = "ordered_for_last_occasion"
    CHAMPIONS = "champions"
    LOYAL = "loyal"
    RECENT_FIRST_TIME = "recent_first_time"
    AT_RISK = "at_risk"
    NEVER_ORDERED_FOR_OCCASION = "never_ordered_for_occasion"
    LAPSED = "lapsed"


HISTORY_SEGMENTS = (
    Segment.CHAMPIONS,
    Segment.LOYAL,
    Segment.RECENT_FIRST_TIME,
    Segment.AT_RISK,
    Segment.LAPSED,
)
OCCASION_SEGMENTS = (Segment.ORDERED_FOR_LAST_OCCASION, Segment.NEVER_ORDERED_FOR_OCCASION)

# Thresholds (days) of the definitions above.
YEAR_DAYS = 365
CHAMPION_RECENT_DAYS, CHAMPION_MIN_ORDERS = 90, 3
LOYAL_RECENT_DAYS, LOYAL_MIN_ORDERS = 180, 2
FIRST_TIME_RECENT_DAYS = 60
OCCASION_WINDOW_DAYS = 21
OCCASION_LOOKBACK = 5  # times the occasion came round

# How well a segment is expected to answer an occasion's campaign (1 = best): a
# suggestion's score is this times the customers it can reach (docs/campaigns.md).
WEIGHTS: dict[Segment, float] = {
    Segment.ORDERED_FOR_LAST_OCCASION: 1.0,
    Segment.CHAMPIONS: 0.8,
    Segment.LOYAL: 0.6,
    Segment.RECENT_FIRST_TIME: 0.5,
    Segment.AT_RISK: 0.4,
    Segment.NEVER_ORDERED_FOR_OCCASION: 0.3,
    Segment.LAPSED: 0.2,
}

DESCRIPTIONS: dict[Segment, str] = {
    Segment.ORDERED_FOR_LAST_OCCASION: (
        "Customers who ordered in the three weeks before this occasion the last time it came round."
    ),
    Segment.CHAMPIONS: (
        "Champions: 3 or more orders in the last 365 days, the last one within 90 days."
    ),
    Segment.LOYAL: "Loyal: 2 or more orders in the last 365 days, the last one within 180 days.",
    Segment.RECENT_FIRST_TIME: "Recent first-time customers: one order, within the last 60 days.",
    Segment.AT_RISK: "At risk: 2 or more orders, but none in the last 180 days (181-365 days ago).",
    Segment.NEVER_ORDERED_FOR_OCCASION: (
        "Customers who have ordered, but never in the three weeks before this occasion in "
        "the last five years."
    ),
    Segment.LAPSED: "Lapsed (win-back): no order in more than 365 days.",
}
