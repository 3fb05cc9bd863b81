"""The builtin provider on a real shop, through the real shop tools: "today" and "open now"
in the shop's time zone (never the server's or UTC's), hand-off keywords, streaming, the
factory, and no facts at all when no tools are wired. What it answers to a florist's
customers in four languages is ``test_assistant_conversations.py``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bloomer_ai.agent.config.schema import AgentConfig
from bloomer_ai.agent.providers import (
    AIProvider,
    BuiltinProvider,
    ChatTurn,
    OrderFacts,
    ShopContext,
    build_provider,
)
from bloomer_ai.auth.principal import Principal, PrincipalKind
from bloomer_ai.models import SupportEvent
from bloomer_ai.tools.service import ConversationTools
from factories.core import create_customer, create_order, create_shop
from support.sessions import app_session_factory

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


def at(iso_utc: str) -> Callable[[], datetime]:
    moment = datetime.fromisoformat(iso_utc).replace(tzinfo=UTC)
    return lambda: moment


class Florist:
    """A shop in the database and the context a chat turn would get for it."""

    def __init__(self, db: Any, shop: Any) -> None:
        self.db, self.shop = db, shop

    async def context(self, now: Callable[[], datetime], *, tools: bool = True) -> ShopContext:
        connection = await self.db.connection()
        principal = Principal(
            kind=PrincipalKind.API_KEY,
            shop_id=self.shop.id,
            scopes=frozenset({"agent:chat"}),
            api_key_id=uuid.uuid4(),
        )
        return ShopContext(
            shop_id=str(self.shop.id),
            shop_name=self.shop.name,
            timezone=self.shop.timezone,
            country=self.shop.country,
            config=AgentConfig.model_validate(self.shop.lilli_config),
            customer_first_name=None,
            last_order=None,
            find_order=_unused,
            tools=ConversationTools(app_session_factory(connection), principal, None, now=now)
            if tools
            else None,
        )

    async def ask(self, text: str, now: str, *, tools: bool = True) -> str:
        clock = at(now)
        provider = BuiltinProvider(now=clock)
        return await provider.complete(
            [ChatTurn("user", text)], await self.context(clock, tools=tools)
        )


async def _unused(number: str) -> OrderFacts | None:
    raise AssertionError("answers come through the shop tools")


async def florist(db, config: dict[str, Any] | None = None, **shop: Any) -> Florist:
    values = {"name": "Bloom & Co", "country": "NZ", "timezone": "Pacific/Auckland"}
    return Florist(db, await create_shop(db, lilli_config=config or {}, **{**values, **shop}))


# --- opening hours across a time-zone boundary ----------------------------------------------


async def test_open_is_decided_by_local_time_and_local_weekday(db) -> None:
    shop = await florist(db, AUCKLAND_HOURS)
    # 2026-11-30 21:30 UTC is Tuesday 2026-12-01 10:30 in Auckland (NZDT, UTC+13): the
    # UTC date is a Monday, the local date a Tuesday.
    reply = await shop.ask("Are you open?", now="2026-11-30T21:30:00")
    assert reply.startswith("Yes, we're open right now, until 5 pm today.")
    # The closed date a week ahead is mentioned.
    assert reply.endswith("Please note: we're also closed Tuesday 8 December.")


async def test_closed_by_local_time_even_though_utc_says_working_hours(db) -> None:
    shop = await florist(db, AUCKLAND_HOURS)
    # 2026-12-01 12:00 UTC (a Tuesday noon in UTC) is Wednesday 01:00 in Auckland.
    reply = await shop.ask("are you open?", now="2026-12-01T12:00:00")
    assert reply.startswith("We're closed today (Wednesday 2 December).")
    assert "We're open again on Saturday 5 December, from 10 am to 2 pm." in reply


async def test_closed_until_later_today_says_when_it_opens(db) -> None:
    shop = await florist(db, AUCKLAND_HOURS)
    # Monday 2026-11-30 07:00 local = Sunday 18:00 UTC.
    reply = await shop.ask("are you open?", now="2026-11-29T18:00:00")
    assert reply.startswith("We're closed right now. We open at 9 am today.")


async def test_a_closed_date_is_honoured_on_a_normal_opening_day(db) -> None:
    shop = await florist(db, AUCKLAND_HOURS)
    # Tuesday 2026-12-08 11:00 local (a closed date) = Monday 22:00 UTC.
    reply = await shop.ask("are you open today?", now="2026-12-07T22:00:00")
    assert reply.startswith("No, today we're closed.")
    assert "We're open again on Saturday 12 December, from 10 am to 2 pm." in reply


async def test_hours_fall_back_to_the_shop_time_zone(db) -> None:
    config = {"businessHours": {"weekly": {"mon": [["09:00", "18:00"]]}}}
    shop = await florist(db, config, timezone="America/Los_Angeles", country="US")
    # Monday 17:30 in Los Angeles is already Tuesday 01:30 UTC.
    assert (await shop.ask("are you open", now="2026-12-08T01:30:00")).startswith(
        "Yes, we're open right now, until 6 pm today."
    )
    assert (await shop.ask("are you open", now="2026-12-08T02:00:00")).startswith(
        "We're closed right now. We're open again on Monday 14 December, from 9 am to 6 pm."
    )


async def test_no_hours_configured_is_said_plainly(db) -> None:
    shop = await florist(db)
    reply = await shop.ask("are you open?", now="2026-12-01T00:00:00")
    assert reply == (
        "I don't have the opening hours of Bloom & Co. I'll pass your question to the team "
        "at Bloom & Co. Someone will get back to you."
    )
    handed = await db.scalar(
        select(func.count())
        .select_from(SupportEvent)
        .where(SupportEvent.shop_id == shop.shop.id, SupportEvent.type == "handoff.requested")
    )
    assert handed == 1  # said, and done


async def test_without_tools_it_invents_nothing_and_hands_over(db) -> None:
    shop = await florist(db, AUCKLAND_HOURS)
    reply = await shop.ask("are you open?", now="2026-11-30T21:30:00", tools=False)
    # Nothing can record a hand-off either: no promise that someone will get back.
    assert reply == (
        "I don't have the opening hours of Bloom & Co. Please contact Bloom & Co directly."
    )
    order = await shop.ask("order 1234?", now="2026-11-30T21:30:00", tools=False)
    assert order.startswith("I can't find an order with the number 1234")


# --- hand-off keywords ---------------------------------------------------------------------


async def test_handoff_keywords_take_precedence_when_enabled(db) -> None:
    config = {"handoff": {"enabled": True, "keywords": ["Refund", "human"]}}
    shop = await florist(db, config)
    await create_order(db, shop.shop, number="1234", status="confirmed")
    now = "2026-11-30T21:30:00"
    assert (await shop.ask("I want a refund for order 1234", now=now)).startswith(
        "I'll pass your question to the team at Bloom & Co."
    )
    # Whole words only, and only when hand-off is enabled.
    assert (await shop.ask("order 1234 humanely", now=now)).startswith("Order 1234 is confirmed")
    disabled = await florist(db, {"handoff": {"enabled": False, "keywords": ["refund"]}})
    await create_order(db, disabled.shop, number="1234", status="confirmed")
    assert (await disabled.ask("refund order 1234", now=now)).startswith("Order 1234")


# --- streaming and the factory -----------------------------------------------------------


async def test_stream_yields_a_few_words_at_a_time_and_joins_to_the_reply(db) -> None:
    shop = await florist(db, AUCKLAND_HOURS)
    clock = at("2026-11-30T21:30:00")
    provider = BuiltinProvider(now=clock)
    context = await shop.context(clock)
    history = [ChatTurn("user", "are you open?")]
    chunks = [chunk async for chunk in provider.stream(history, context)]
    assert len(chunks) > 3
    assert all(len(chunk.split()) <= 3 for chunk in chunks)
    assert "".join(chunks) == await provider.complete(history, context)


@pytest.mark.parametrize("text", ["hi", "Hello!", "hey Lilli", "Good morning"])
async def test_greeting_uses_the_configured_greeting(db, text: str) -> None:
    shop = await florist(db, {"greeting": "Kia ora! How can I help?"})
    assert await shop.ask(text, now="2026-11-30T21:30:00") == "Kia ora! How can I help?"


async def test_factory_builds_the_builtin_provider_with_the_injected_clock(db) -> None:
    shop = await florist(db, AUCKLAND_HOURS)
    clock = at("2026-11-30T21:30:00")
    provider: AIProvider = build_provider(
        "builtin",
        lilli_base_url=None,
        lilli_api_key=None,
        lilli_timeout_s=5,
        openai_base_url=None,
        openai_api_key=None,
        openai_model="m",
        timeout_s=5,
        now=clock,
    )
    assert provider.name == "builtin"
    reply = await provider.complete([ChatTurn("user", "are you open")], await shop.context(clock))
    assert reply.startswith("Yes, we're open right now")
    await provider.aclose()


async def test_a_chat_may_use_the_facts_it_implies_and_no_more(db) -> None:
    shop = await florist(db)
    connection = await db.connection()

    def names(scopes: set[str]) -> list[str]:
        principal = Principal(
            kind=PrincipalKind.API_KEY, shop_id=shop.shop.id, scopes=frozenset(scopes)
        )
        tools = ConversationTools(app_session_factory(connection), principal, None)
        return [spec.name for spec in tools.specs]

    implied = ["find_order", "opening_hours", "delivery_info", "search_products"]
    assert names({"agent:chat"}) == [*implied, "request_handoff"]
    assert names({"agent:chat", "orders:write"}) == [*implied, "place_order", "request_handoff"]
    assert "support_context" in names({"agent:chat", "support:context"})


async def test_a_chat_finds_an_order_by_number_but_not_a_phones_latest_without_its_scope(
    db,
) -> None:
    shop = await florist(db)
    customer_phone = "+64211234567"
    customer = await create_customer(db, shop.shop, phone=customer_phone)
    await create_order(db, shop.shop, number="7001", customer_id=customer.id)
    connection = await db.connection()

    def tools(scopes: set[str]) -> ConversationTools:
        principal = Principal(
            kind=PrincipalKind.API_KEY, shop_id=shop.shop.id, scopes=frozenset(scopes)
        )
        return ConversationTools(app_session_factory(connection), principal, None)

    chat = tools({"agent:chat"})
    by_number = await chat.call("find_order", {"orderNumber": "7001"})
    assert by_number.ok and by_number.result is not None and by_number.result["found"]
    by_phone = await chat.call("find_order", '{"phone": "+64211234567"}')
    assert not by_phone.ok and by_phone.error == {
        "code": "insufficient_scope",
        "message": "Finding a phone number's latest order needs the scope customers:read too.",
    }
    reader = await tools({"agent:chat", "customers:read"}).call(
        "find_order", {"phone": customer_phone}
    )
    assert reader.ok and reader.result is not None and reader.result["order"]["number"] == "7001"
