"""The offline assistant's answer to one message: read what is asked, ask the shop tools,
say what they said in the customer's language.

Every fact in a reply comes from a tool result (opening hours, delivery settings, the
catalogue, an order); nothing is guessed. What cannot be answered that way is handed to
the shop's team through the ``request_handoff`` tool, and the reply says so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bloomer_ai.agent.assistant.intents import Intent, read_intent
from bloomer_ai.agent.assistant.language import Language, detect_language
from bloomer_ai.agent.assistant.order_numbers import extract_order_number
from bloomer_ai.agent.assistant.phrases import (
    HOLIDAY_NAMES,
    NAMED_DAYS,
    STATUSES,
    WEEKDAYS,
    clock,
    day_and_date,
    joined,
    money,
    ranges_text,
    say,
    weekday_list,
)
from bloomer_ai.agent.assistant.products import matching
from bloomer_ai.agent.assistant.when import When, named_day_on
from bloomer_ai.agent.config.schema import WEEKDAY_KEYS, clock_to_minutes

ToolRunner = Callable[[str, Mapping[str, object]], Awaitable[dict[str, Any] | None]]
"""Runs a shop tool by name; its result, or None when the tool failed or is not allowed."""

CLOSED_NOTICE_DAYS = 14
NEXT_OPENING_DAYS = 8
MAX_PRODUCTS = 3
GREETING_WORD: dict[Language, str] = {
    "en": "Hello!",
    "nl": "Hallo!",
    "de": "Hallo!",
    "fr": "Bonjour !",
}


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Shop:
    name: str
    language: Language
    """The configured language: used when a message is not clearly in one of the four."""
    greeting: str | None
    """The configured greeting, said as it is when the customer speaks the configured language."""
    country: str
    today: date
    """The shop's local date."""
    minute_of_day: int
    """The shop's local time, in minutes after midnight."""
    handoff_keywords: tuple[str, ...] = ()
    """Words that hand a message to the team (the config's, while hand-off is enabled)."""
    last_order_number: str | None = None
    """The latest order of the customer the conversation is linked to, if any."""


def conversation_language(history: Sequence[Turn], shop: Shop) -> Language:
    """The latest message's language; else the conversation's so far; else the shop's."""
    user_turns = [turn.content for turn in history if turn.role == "user"]
    if not user_turns:
        return shop.language
    latest = detect_language(user_turns[-1], default=shop.language)
    if latest != shop.language or len(user_turns) == 1:
        return latest
    earlier = detect_language(" ".join(user_turns[-4:]), default=shop.language)
    return latest if detect_language(user_turns[-1], default=earlier) == latest else earlier


def discussed_order(history: Sequence[Turn]) -> str | None:
    """The number of the order the conversation was last about (either side named it)."""
    for turn in reversed(history[:-1]):
        number = extract_order_number(turn.content)
        if number is not None:
            return number
    return None


class Composer:
    def __init__(self, shop: Shop, tools: ToolRunner, language: Language) -> None:
        self.shop = shop
        self.tools = tools
        self.language = language

    def text(self, key: str, **values: str) -> str:
        return say(key, self.language, **values)

    # --- entry ---------------------------------------------------------------------------

    async def answer(self, history: Sequence[Turn]) -> str:
        message = history[-1].content if history else ""
        if not message.strip():
            return self.greeting()
        discussing = discussed_order(history)
        intent = read_intent(
            message,
            self.shop.today,
            country=self.shop.country,
            handoff_keywords=self.shop.handoff_keywords,
            discussing_order=discussing is not None,
        )
        reply = await self.reply(intent, discussing)
        if intent.greeted and intent.kind not in ("greeting", "handoff", "unknown"):
            reply = f"{GREETING_WORD[self.language]} {reply}"
        return reply

    async def reply(self, intent: Intent, discussing: str | None) -> str:
        if intent.kind == "handoff":
            return await self.handoff("The customer asked for a person.")
        if intent.kind == "order_number" and intent.order_number is not None:
            return await self.order(intent.order_number)
        if intent.kind == "order_followup" and discussing is not None:
            return await self.order(discussing)
        if intent.kind == "my_order":
            return await self.my_order()
        if intent.kind == "delivery":
            return await self.delivery(intent)
        if intent.kind == "hours":
            reply = await self.hours(intent.when)
            return f"{reply} {await self.week()}".strip() if intent.weekly else reply
        if intent.kind == "products":
            return await self.products(intent)
        if intent.kind == "greeting":
            return self.greeting()
        if intent.kind == "thanks":
            return self.text("thanks")
        if intent.kind == "goodbye":
            return self.text("goodbye", shop=self.shop.name)
        return await self.handoff("The assistant could not answer a question.", lead="unanswered")

    def greeting(self) -> str:
        if self.shop.greeting and self.language == self.shop.language:
            return self.shop.greeting
        return self.text("greeting")

    async def handoff(self, reason: str, *, lead: str | None = None) -> str:
        """Hand the question to the team (a ``handoff.requested`` support event, which the
        shop's automation turns into a task) and say so — only when it was recorded: with
        no tool to record it, the customer is told to contact the shop."""
        recorded = await self.tools("request_handoff", {"reason": reason, "channel": "chat"})
        said = self.text("handoff" if recorded is not None else "no_handoff", shop=self.shop.name)
        return f"{self.text(lead, shop=self.shop.name)} {said}" if lead else said

    # --- dates ---------------------------------------------------------------------------

    def day_label(self, day: date, when: When | None = None) -> str:
        """ "today", "tomorrow (Tuesday 8 December)", "on Christmas Day (Friday 25 December)",
        "on Sunday 13 December"."""
        today = self.shop.today
        long = day_and_date(day, self.language, today)
        if day == today:
            return self.text("today")
        if day == today + timedelta(days=1):
            return f"{self.text('tomorrow')} ({long})"
        if when is not None and when.name is not None and when.day == day:
            return f"{NAMED_DAYS[when.name][self.language]} ({long})"
        return self.text("on_day", day=long)

    # --- opening hours -------------------------------------------------------------------

    async def hours(self, when: When | None) -> str:
        today = self.shop.today
        if when is None or when.kind == "now":
            return await self.hours_now()
        facts = await self.tools("opening_hours", {"date": when.day.isoformat()})
        if facts is None or not facts.get("known"):
            return await self.handoff("The shop's opening hours are not set.", lead="hours_unknown")
        label = self.day_label(when.day, when)
        if when.part is not None and when.day == today:
            return self.part_of_day(facts, when.part)
        if facts.get("open"):
            ranges = ranges_text(facts["hours"], self.language)
            return self.text("open_on", when=label, ranges=ranges)
        return self.closed_sentence(facts, label, when) + await self.next_opening(when.day)

    def closed_sentence(self, facts: Mapping[str, Any], label: str, when: When) -> str:
        """ "Closed on …", with the holiday's name when the day was asked by its date (in
        the customer's language where it is one of the named days)."""
        if facts.get("closedReason") == "public_holiday" and when.name is None:
            key = named_day_on(when.day, self.shop.country)
            holiday = HOLIDAY_NAMES[key][self.language] if key else facts.get("holiday")
            if holiday:
                return self.text("closed_holiday", when=label, holiday=str(holiday))
        return self.text("closed_on", when=label)

    async def hours_now(self) -> str:
        """Open now (until when), or when the shop opens next."""
        today = self.shop.today
        facts = await self.tools("opening_hours", {})
        if facts is None or not facts.get("known"):
            return await self.handoff("The shop's opening hours are not set.", lead="hours_unknown")
        if facts.get("openNow"):
            until = _current_closing(facts, self.shop.minute_of_day)
            reply = self.text("open_now", until=clock(until or "24:00", self.language))
        elif facts.get("open"):
            later = [
                entry["opens"]
                for entry in facts.get("hours") or []
                if clock_to_minutes(entry["opens"]) > self.shop.minute_of_day
            ]
            reply = self.text("closed_now") + (
                " " + self.text("opens_later", time=clock(later[0], self.language))
                if later
                else await self.next_opening(today)
            )
        else:
            long = day_and_date(today, self.language, today)
            reply = self.text("closed_today", date=long) + await self.next_opening(today)
        return reply + self.closed_notice(facts)

    async def week(self) -> str:
        """The weekly opening hours, days with the same hours run together."""
        runs: list[tuple[int, int, str]] = []
        for index, key in enumerate(WEEKDAY_KEYS):
            facts = await self.tools("opening_hours", {"weekday": key})
            if facts is None or not facts.get("known"):
                return ""
            hours = facts.get("hours") or []
            text = ranges_text(hours, self.language) if hours else self.text("closed_word")
            if runs and runs[-1][2] == text and runs[-1][1] == index - 1:
                runs[-1] = (runs[-1][0], index, text)
            else:
                runs.append((index, index, text))
        names = WEEKDAYS[self.language]
        to = {"en": "to", "nl": "t/m", "de": "bis", "fr": "au"}[self.language]
        week = [
            f"{names[first]}{f' {to} {names[last]}' if last > first else ''} {text}"
            for first, last, text in runs
        ]
        return self.text("weekly_hours", week="; ".join(week))

    def part_of_day(self, facts: Mapping[str, Any], part: tuple[int, int]) -> str:
        start, end = part
        name = {6 * 60: "part_morning", 12 * 60: "part_afternoon"}.get(start, "part_evening")
        label = self.text(name)
        ranges = facts.get("hours") or []
        overlapping = [
            r
            for r in ranges
            if clock_to_minutes(r["opens"]) < end and clock_to_minutes(r["closes"]) > start
        ]
        if overlapping:
            return self.text("open_part", part=label, ranges=ranges_text(ranges, self.language))
        if ranges:
            day_hours = self.text("hours_that_day", ranges=ranges_text(ranges, self.language))
        else:
            day_hours = self.text("closed_word")
        return self.text("closed_part", part=label, day_hours=day_hours)

    async def next_opening(self, after: date) -> str:
        for offset in range(1, NEXT_OPENING_DAYS):
            day = after + timedelta(days=offset)
            facts = await self.tools("opening_hours", {"date": day.isoformat()})
            if facts is None or not facts.get("known"):
                return ""
            if facts.get("open"):
                ranges = ranges_text(facts["hours"], self.language)
                return " " + self.text("next_open", when=self.day_label(day), ranges=ranges)
        return ""

    def closed_notice(self, facts: Mapping[str, Any]) -> str:
        today = self.shop.today
        dates = []
        for item in facts.get("upcomingClosedDates") or []:
            day = date.fromisoformat(str(item["date"]))
            if today < day <= today + timedelta(days=CLOSED_NOTICE_DAYS):
                dates.append(day_and_date(day, self.language, today))
        if not dates:
            return ""
        return " " + self.text("also_closed", dates=joined(dates, self.language))

    # --- delivery ------------------------------------------------------------------------

    async def delivery(self, intent: Intent) -> str:
        arguments: dict[str, object] = {}
        if intent.when is not None:
            arguments["date"] = intent.when.day.isoformat()
        facts = await self.tools("delivery_info", arguments)
        if facts is None or not facts.get("known"):
            return await self.handoff(
                "The shop's delivery settings are not set.", lead="delivery_unknown"
            )
        parts: list[str] = []
        aspect = intent.delivery_aspect
        if aspect == "cutoff":
            parts.append(self.cutoff(facts) or self.delivery_days(facts))
        elif intent.when is not None and facts.get("date"):
            label = self.day_label(intent.when.day, intent.when)
            key = "delivers_then" if facts["date"].get("deliversThen") else "no_delivery_then"
            parts.append(self.text(key, when=label))
            if not facts["date"].get("deliversThen"):
                parts.append(self.delivery_days(facts))
        elif aspect == "cost":
            parts.append(self.delivery_fee(facts))
        elif aspect == "zones":
            parts.append(self.zones(facts) or self.delivery_days(facts))
        else:
            parts += [self.delivery_days(facts), self.delivery_fee(facts), self.cutoff(facts)]
        return " ".join(part for part in parts if part)

    def delivery_days(self, facts: Mapping[str, Any]) -> str:
        days = list(facts.get("days") or [])
        if not days:
            return ""
        return self.text("delivery_days", days=weekday_list(days, self.language))

    def delivery_fee(self, facts: Mapping[str, Any]) -> str:
        currency = str(facts.get("currency") or "EUR")
        fee = int(facts.get("fee") or 0)
        sentence = (
            self.text("delivery_fee", fee=money(fee, currency, self.language))
            if fee
            else self.text("delivery_fee_free")
        )
        zones = facts.get("zones") or []
        if any(int(zone.get("fee") or 0) != fee for zone in zones):
            listed = [
                f"{zone['name']} {money(int(zone.get('fee') or 0), currency, self.language)}"
                for zone in zones
            ]
            sentence += " " + self.text("delivery_zone_fees", zones=joined(listed, self.language))
        return sentence

    def cutoff(self, facts: Mapping[str, Any]) -> str:
        cutoff = facts.get("cutoffTime")
        if not cutoff:
            return ""
        return self.text("delivery_cutoff", time=clock(str(cutoff), self.language))

    def zones(self, facts: Mapping[str, Any]) -> str:
        names = [str(zone["name"]) for zone in facts.get("zones") or []]
        return self.text("delivery_zones", zones=joined(names, self.language)) if names else ""

    # --- products ------------------------------------------------------------------------

    async def products(self, intent: Intent) -> str:
        facts = await self.tools("search_products", {"availableOnly": False, "limit": 20})
        catalogue: list[dict[str, Any]] = list((facts or {}).get("products") or [])
        if not catalogue:
            return await self.handoff(
                "The assistant could not answer a product question.", lead="unanswered"
            )
        found = matching(intent.product_words, catalogue)
        available = [product for product in found if product.get("available")]
        if available:
            if intent.asks_price:
                first = available[0]
                return self.text("product_price", name=str(first["name"]), price=self.price(first))
            return self.text("products_found", items=self.product_list(available))
        if found:
            names = joined(
                [str(product["name"]) for product in found[:MAX_PRODUCTS]], self.language
            )
            return self.text("products_sold_out", items=names)
        in_stock = [product for product in catalogue if product.get("available")]
        if not intent.product_words or not any(
            word for word in intent.product_words if word not in ("flower", "flowers")
        ):
            return self.text("products_found", items=self.product_list(in_stock))
        reply = self.text("products_none")
        if in_stock:
            reply += " " + self.text("products_instead", items=self.product_list(in_stock))
        return reply + " " + self.text("products_special")

    def price(self, product: Mapping[str, Any]) -> str:
        return money(
            int(product.get("price") or 0), str(product.get("currency") or "EUR"), self.language
        )

    def product_list(self, products: Sequence[Mapping[str, Any]]) -> str:
        return joined(
            [
                self.text("product_item", name=str(product["name"]), price=self.price(product))
                for product in products[:MAX_PRODUCTS]
            ],
            self.language,
        )

    # --- orders --------------------------------------------------------------------------

    async def order(self, number: str) -> str:
        facts = await self.tools("find_order", {"orderNumber": number})
        if facts is None or not facts.get("found"):
            return self.text("order_not_found", number=number)
        return self.describe_order(facts["order"])

    async def my_order(self) -> str:
        if self.shop.last_order_number:
            facts = await self.tools("find_order", {"orderNumber": self.shop.last_order_number})
            if facts is not None and facts.get("found"):
                return self.describe_order(facts["order"])
        return self.text("ask_order_number")

    def describe_order(self, order: Mapping[str, Any]) -> str:
        status = str(order.get("status") or "")
        status_text = STATUSES.get(status, {}).get(self.language, status.replace("_", " "))
        parts = [self.text("order_status", number=str(order["number"]), status=status_text)]
        delivery = order.get("deliveryDate")
        if delivery:
            day = day_and_date(date.fromisoformat(str(delivery)), self.language, self.shop.today)
            time = order.get("deliveryTime")
            parts.append(
                self.text("order_delivery_at", date=day, time=clock(str(time), self.language))
                if time
                else self.text("order_delivery", date=day)
            )
        elif status not in ("delivered", "picked_up", "cancelled"):
            parts.append(self.text("order_no_date"))
        return " ".join(parts)


def _current_closing(facts: Mapping[str, Any], minute_of_day: int) -> str | None:
    """The closing time of the range the shop is open in now."""
    for entry in facts.get("hours") or []:
        if clock_to_minutes(entry["opens"]) <= minute_of_day < clock_to_minutes(entry["closes"]):
            return str(entry["closes"])
    return None
