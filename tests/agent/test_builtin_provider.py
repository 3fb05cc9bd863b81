from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bloomer_ai.agent.config.schema import AgentConfig
from bloomer_ai.agent.providers import (
    AIProvider,
    BuiltinProvider,
    ChatTurn,
    OrderFacts,
    ShopContext,
    build_provider,
)
from bloomer_ai.agent.providers.base import extract_order_number

ORDERS = {
    "1234": OrderFacts(
        order_number="1234",
        status="out_for_delivery",
        delivery_date=date(2026, 12, 3),
        created_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
    ),
    "A-1001": OrderFacts(
        order_number="A-1001",
        status="pending",
        delivery_date=None,
        created_at=datetime(2026, 11, 29, 9, 0, tzinfo=UTC),
    ),
}

AUCKLAND_HOURS: dict[str, Any] = {
    "businessHours": {
        "timezone": "Pacific/Auckland",
        "weekly": {
            "mon": [["09:00", "17:00"]],
            "tue": [["09:00", "17:00"]],
            "sat": [["10:00", "14:00"]],
        },
        "closedDates": ["2026-12-08"],
    }
}


class OrderBook:
    """The shop-scoped order lookup the service would pass in; records what was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def find(self, number: str) -> OrderFacts | None:
        self.asked.append(number)
        return ORDERS.get(number)


def make_shop(
    config: dict[str, Any] | None = None,
    *,
    timezone: str = "Pacific/Auckland",
    first_name: str | None = None,
    last_order: OrderFacts | None = None,
    orders: OrderBook | None = None,
) -> ShopContext:
    return ShopContext(
        shop_id="shop_1",
        shop_name="Bloom & Co",
        timezone=timezone,
        country="NZ",
        config=AgentConfig.model_validate(config or {}),
        customer_first_name=first_name,
        last_order=last_order,
        find_order=(orders or OrderBook()).find,
    )


def at(iso_utc: str) -> Callable[[], datetime]:
    moment = datetime.fromisoformat(iso_utc).replace(tzinfo=UTC)
    return lambda: moment


def user(text: str) -> list[ChatTurn]:
    return [ChatTurn(role="user", content=text)]


async def ask(text: str, shop: ShopContext, now: str = "2026-12-01T00:00:00") -> str:
    provider = BuiltinProvider(now=at(now))
    return await provider.complete(user(text), shop)


HANDOFF = "I'll pass your question to the team at Bloom & Co."


# --- greeting --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["hi", "Hello!", "hallo", "Bonjour :)", "hey Lilli", "Good morning"]
)
async def test_greeting_uses_the_configured_greeting(text: str) -> None:
    shop = make_shop({"greeting": "Kia ora! I'm Lilli from Bloom & Co."})
    assert await ask(text, shop) == "Kia ora! I'm Lilli from Bloom & Co."


async def test_default_greeting_and_empty_history() -> None:
    shop = make_shop()
    assert await ask("hi", shop) == "Hi! I'm Lilli, how can I help?"
    assert await BuiltinProvider().complete([], shop) == "Hi! I'm Lilli, how can I help?"


async def test_answers_the_latest_user_turn() -> None:
    history = [
        ChatTurn(role="user", content="where is my order 1234"),
        ChatTurn(role="assistant", content="Order 1234 has the status …"),
        ChatTurn(role="user", content="thanks!"),
    ]
    reply = await BuiltinProvider().complete(history, make_shop())
    assert reply == "You're welcome! Is there anything else I can help with?"


# --- opening hours across a time-zone boundary ----------------------------------------------


async def test_open_is_decided_by_local_time_and_local_weekday() -> None:
    shop = make_shop(AUCKLAND_HOURS)
    # 2026-11-30 21:30 UTC is Tuesday 2026-12-01 10:30 in Auckland (NZDT, UTC+13): the
    # UTC date is a Monday, the local date a Tuesday.
    reply = await ask("Are you open?", shop, now="2026-11-30T21:30:00")
    assert reply.startswith("Yes, we're open right now, until 17:00 today.")
    assert "(Pacific/Auckland time)" in reply
    assert "Mon 09:00–17:00; Tue 09:00–17:00; Wed closed" in reply


async def test_closed_by_local_time_even_though_utc_says_working_hours() -> None:
    shop = make_shop(AUCKLAND_HOURS)
    # 2026-12-01 12:00 UTC (a Tuesday noon in UTC) is Wednesday 01:00 in Auckland.
    reply = await ask("what are your opening hours", shop, now="2026-12-01T12:00:00")
    assert reply.startswith("We're closed right now. We open again on Saturday, 5 December")
    assert "at 10:00" in reply


async def test_closed_later_today_says_opening_time_today() -> None:
    shop = make_shop(AUCKLAND_HOURS)
    # Monday 2026-11-30 07:00 local = Sunday 18:00 UTC.
    reply = await ask("when do you open?", shop, now="2026-11-29T18:00:00")
    assert reply.startswith("We're closed right now. We open again today at 09:00.")


async def test_closed_date_is_honoured_on_a_normal_opening_day() -> None:
    shop = make_shop(AUCKLAND_HOURS)
    # Tuesday 2026-12-08 11:00 local (a closed date) = Monday 22:00 UTC.
    reply = await ask("are you open today?", shop, now="2026-12-07T22:00:00")
    assert reply.startswith("We're closed today (Tuesday, 8 December 2026).")
    assert "We open again on Saturday, 12 December 2026 at 10:00." in reply


async def test_upcoming_closed_dates_are_mentioned() -> None:
    shop = make_shop(AUCKLAND_HOURS)
    reply = await ask("opening hours?", shop, now="2026-11-30T21:30:00")
    assert reply.endswith("We're also closed on Tuesday, 8 December 2026.")


async def test_hours_fall_back_to_the_shop_time_zone() -> None:
    config = {"businessHours": {"weekly": {"mon": [["09:00", "18:00"]]}}}
    shop = make_shop(config, timezone="America/Los_Angeles")
    # Monday 17:30 in Los Angeles is already Tuesday 01:30 UTC.
    assert (await ask("are you open", shop, now="2026-12-08T01:30:00")).startswith(
        "Yes, we're open right now, until 18:00 today."
    )
    assert (await ask("are you open", shop, now="2026-12-08T02:00:00")).startswith(
        "We're closed right now. We open again on Monday, 14 December 2026 at 09:00."
    )


async def test_no_hours_configured_is_said_plainly() -> None:
    reply = await ask("are you open?", make_shop())
    assert reply.startswith("I don't have the opening hours of Bloom & Co")
    assert "open right now" not in reply


# --- orders ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("where is my order 1234", "1234"),
        ("Where is my order #1234?", "1234"),
        ("status of order #A-1001.", "A-1001"),
        ("order number: A-1001", "A-1001"),
        ("Bestellung 1234", "1234"),
        ("my flowers, #1234", "1234"),
        ("I'd like an order of 12 roses", None),
        ("can I order roses", None),
    ],
)
def test_order_numbers_are_found_in_the_text(text: str, number: str | None) -> None:
    assert extract_order_number(text) == number


async def test_order_status_by_number() -> None:
    orders = OrderBook()
    reply = await ask("where is my order 1234", make_shop(orders=orders))
    assert orders.asked == ["1234"]
    assert reply == (
        "Order 1234 has the status “out for delivery”. Delivery date: Thursday, 3 December 2026."
    )


async def test_order_without_delivery_date() -> None:
    reply = await ask("order #A-1001", make_shop())
    assert reply == "Order A-1001 has the status “pending”. It has no delivery date yet."


async def test_unknown_order_number() -> None:
    orders = OrderBook()
    reply = await ask("where is order 9999?", make_shop(orders=orders))
    assert orders.asked == ["9999"]
    assert reply.startswith("I can't find an order with the number 9999.")


async def test_my_order_uses_the_linked_customers_last_order() -> None:
    orders = OrderBook()
    shop = make_shop(first_name="Anna", last_order=ORDERS["1234"], orders=orders)
    reply = await ask("Where is my order?", shop)
    assert orders.asked == []  # no number: no lookup, the last order is already known
    assert reply == (
        "Your latest order 1234 (placed Monday, 30 November 2026) has the status "
        "“out for delivery”. Delivery date: Thursday, 3 December 2026."
    )


async def test_last_order_date_is_the_shops_local_date() -> None:
    late = OrderFacts("77", "delivered", date(2026, 12, 2), datetime(2026, 11, 30, 12, tzinfo=UTC))
    reply = await ask("when will my flowers arrive", make_shop(last_order=late, first_name="A"))
    # 12:00 UTC on 30 November is already 1 December in Auckland.
    assert "(placed Tuesday, 1 December 2026)" in reply


async def test_my_order_without_linked_orders_asks_for_the_number() -> None:
    assert await ask("where is my order", make_shop(first_name="Anna")) == (
        "I can't find any orders for you. If you have an order number, send it to me and "
        "I'll look it up."
    )
    assert (await ask("where is my order", make_shop())).startswith(
        "Please send me your order number"
    )


# --- everything else is handed off -------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["Do you have tulips?", "How much is a bouquet of roses?", "can I order roses", "hi, " * 10],
)
async def test_fallback_says_it_passes_the_question_on(text: str) -> None:
    reply = await ask(text, make_shop(AUCKLAND_HOURS))
    assert reply == f"I can't answer that myself, so {HANDOFF} Someone will get back to you."


async def test_handoff_keywords_take_precedence_when_enabled() -> None:
    config = {"handoff": {"enabled": True, "keywords": ["Refund", "human"]}}
    orders = OrderBook()
    reply = await ask("I want a refund for order 1234", make_shop(config, orders=orders))
    assert reply == f"{HANDOFF} Someone will get back to you."
    assert orders.asked == []
    # Whole words only, and only when handoff is enabled.
    assert (await ask("order 1234 humanely", make_shop(config))).startswith("Order 1234")
    disabled = {"handoff": {"enabled": False, "keywords": ["refund"]}}
    assert (await ask("refund order 1234", make_shop(disabled))).startswith("Order 1234")


# --- streaming and the factory -----------------------------------------------------------


async def test_stream_yields_a_few_words_at_a_time_and_joins_to_the_reply() -> None:
    shop = make_shop(AUCKLAND_HOURS)
    provider = BuiltinProvider(now=at("2026-11-30T21:30:00"))
    chunks = [chunk async for chunk in provider.stream(user("are you open?"), shop)]
    assert len(chunks) > 3
    assert all(len(chunk.split()) <= 3 for chunk in chunks)
    assert "".join(chunks) == await provider.complete(user("are you open?"), shop)


async def test_factory_builds_the_builtin_provider_with_the_injected_clock() -> None:
    provider: AIProvider = build_provider(
        "builtin",
        lilli_base_url=None,
        lilli_api_key=None,
        lilli_timeout_s=5,
        openai_base_url=None,
        openai_api_key=None,
        openai_model="m",
        timeout_s=5,
        now=at("2026-11-30T21:30:00"),
    )
    assert provider.name == "builtin"
    reply = await provider.complete(user("are you open"), make_shop(AUCKLAND_HOURS))
    assert reply.startswith("Yes, we're open right now")
    await provider.aclose()
