"""The offline provider: deterministic rules over the shop's own data.

It answers greetings, opening hours ("are you open?") and order status, and says plainly
that it passes anything else to the shop's team. Every fact in a reply comes from the
shop's config or an order lookup; nothing is guessed. Replies are in English.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, date, datetime, timedelta

from bloomer_ai.agent.config.schema import (
    AgentConfig,
    format_weekly_hours,
    hours_zone,
    is_closed_date,
    next_opening,
    open_range_at,
)
from bloomer_ai.agent.providers.base import (
    ChatTurn,
    OrderFacts,
    ShopContext,
    extract_order_number,
    latest_user_message,
)

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
# Own names rather than strftime("%A"), which follows the process locale.

_GREETING_RE = re.compile(
    r"^\W*(?:hi|hello|hey|hiya|howdy|greetings|hallo|moin|servus|hoi|bonjour|bonsoir|salut"
    r"|coucou|goedemorgen|goedemiddag|goedenavond|goedendag"
    r"|good\s+(?:morning|afternoon|evening|day)|guten\s+(?:morgen|tag|abend))\b"
)
_THANKS_RE = re.compile(
    r"^\W*(?:thanks|thank\s+you|thx|cheers|danke|merci|bedankt|dank\s+je(?:wel)?)\b"
)
_HOURS_RE = re.compile(
    r"\b(?:open|opens|opening|close|closes|closed|closing|hours|öffnungszeiten|geöffnet"
    r"|offen|geschlossen|horaires|ouvert|ouverte|fermé|fermée|openingstijden|gesloten)\b"
)
# "My order" without a number; "I'd like to order roses" must not match.
_MY_ORDER_RE = re.compile(
    r"\b(?:my|our)\s+(?:last\s+|latest\s+|recent\s+)?(?:order|delivery|flowers|bouquet|package"
    r"|parcel)\b|\border\s+status\b|\b(?:track|tracking)\b|\bwhere(?:'s|\s+is)\b.*\b(?:order"
    r"|delivery|flowers|bouquet|package|parcel)\b|\b(?:meine|unsere)\s+(?:bestellung|lieferung)"
    r"\b|\b(?:ma|notre)\s+(?:commande|livraison)\b|\b(?:mijn|onze)\s+(?:bestelling|levering)\b"
)
# Longer messages that open with "hi" or "thanks" carry a question we cannot answer.
_SMALL_TALK_MAX_WORDS = 5
_CHUNK_WORDS = 3


def _utcnow() -> datetime:
    return datetime.now(UTC)


class BuiltinProvider:
    name = "builtin"

    def __init__(self, *, now: Callable[[], datetime] = _utcnow) -> None:
        self._now = now

    async def aclose(self) -> None:
        """Nothing to release; here so every provider closes the same way."""

    async def complete(self, history: Sequence[ChatTurn], shop: ShopContext) -> str:
        text = latest_user_message(history)
        if text is None or not text.strip():
            return shop.config.greeting
        normalized = text.casefold()
        if _asks_for_handoff(normalized, shop.config):
            return _handoff_reply(shop)
        number = extract_order_number(text)
        if number is not None:
            order = await shop.find_order(number)
            if order is None:
                return (
                    f"I can't find an order with the number {number}. Please check the "
                    "number, or ask me to pass your question to the team."
                )
            return _describe_order(order)
        if _HOURS_RE.search(normalized):
            return self._hours_reply(shop)
        if _MY_ORDER_RE.search(normalized):
            return _last_order_reply(shop)
        short = len(normalized.split()) <= _SMALL_TALK_MAX_WORDS
        if short and _GREETING_RE.match(normalized):
            return shop.config.greeting
        if short and _THANKS_RE.match(normalized):
            return "You're welcome! Is there anything else I can help with?"
        return _handoff_reply(shop, unanswered=True)

    async def stream(self, history: Sequence[ChatTurn], shop: ShopContext) -> AsyncIterator[str]:
        reply = await self.complete(history, shop)
        for chunk in split_into_chunks(reply):
            yield chunk

    def _hours_reply(self, shop: ShopContext) -> str:
        config = shop.config
        weekly = format_weekly_hours(config)
        if config.business_hours is None:
            return (
                f"I don't have the opening hours of {shop.shop_name}, so I'll pass your "
                "question to the team. Someone will get back to you."
            )
        now = self._now()
        try:
            zone = hours_zone(config, shop.timezone)
        except ValueError:
            # Without a usable time zone "open now" would be a guess; give the hours only.
            return f"Our opening hours: {weekly}."
        today = now.astimezone(zone).date()
        current = open_range_at(config, shop.timezone, now)
        if current is not None:
            status = f"Yes, we're open right now, until {_clock(current[1])} today."
        else:
            if is_closed_date(config, today):
                status = f"We're closed today ({_long_date(today)})."
            else:
                status = "We're closed right now."
            upcoming = next_opening(config, shop.timezone, now)
            if upcoming is not None:
                day, start = upcoming
                status += f" We open again {_relative_day(day, today)} at {start}."
        reply = f"{status} Our opening hours ({zone.key} time): {weekly}."
        soon_closed = [
            d
            for d in sorted(config.business_hours.closed_dates)
            if today < d <= today + timedelta(days=14)
        ]
        if soon_closed:
            reply += f" We're also closed on {', '.join(_long_date(d) for d in soon_closed)}."
        return reply


def split_into_chunks(reply: str, words_per_chunk: int = _CHUNK_WORDS) -> list[str]:
    """A few words per chunk, whitespace kept, so the chunks join back to the reply."""
    words = re.findall(r"\S+\s*", reply)
    return ["".join(words[i : i + words_per_chunk]) for i in range(0, len(words), words_per_chunk)]


def _asks_for_handoff(normalized: str, config: AgentConfig) -> bool:
    if not config.handoff.enabled:
        return False
    return any(
        re.search(rf"(?<!\w){re.escape(keyword.casefold())}(?!\w)", normalized)
        for keyword in config.handoff.keywords
    )


def _handoff_reply(shop: ShopContext, *, unanswered: bool = False) -> str:
    lead = "I can't answer that myself, so " if unanswered else ""
    sentence = f"{lead}I'll pass your question to the team at {shop.shop_name}."
    return f"{sentence[0].upper()}{sentence[1:]} Someone will get back to you."


def _describe_order(order: OrderFacts, *, subject: str | None = None) -> str:
    status = order.status.replace("_", " ").strip().lower() or "unknown"
    reply = f"{subject or f'Order {order.order_number}'} has the status “{status}”."
    if order.delivery_date is None:
        return f"{reply} It has no delivery date yet."
    return f"{reply} Delivery date: {_long_date(order.delivery_date)}."


def _last_order_reply(shop: ShopContext) -> str:
    order = shop.last_order
    if order is not None:
        try:
            placed_at = order.created_at.astimezone(hours_zone(shop.config, shop.timezone))
        except ValueError:
            placed_at = order.created_at
        subject = f"Your latest order {order.order_number} (placed {_long_date(placed_at.date())})"
        return _describe_order(order, subject=subject)
    if shop.customer_first_name is not None:
        return (
            "I can't find any orders for you. If you have an order number, send it to me "
            "and I'll look it up."
        )
    return "Please send me your order number (for example 1234) and I'll look it up."


def _clock(value: str) -> str:
    return "midnight" if value == "24:00" else value


def _long_date(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]}, {day.day} {_MONTHS[day.month - 1]} {day.year}"


def _relative_day(day: date, today: date) -> str:
    if day == today:
        return "today"
    if day == today + timedelta(days=1):
        return "tomorrow"
    return f"on {_long_date(day)}"
