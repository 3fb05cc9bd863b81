"""The offline assistant against its conversation set (``conversations.py``): the builtin
provider, answering through the real shop tools on a real shop (row-level security on,
each tool call recorded), at a fixed moment — Monday 7 December 2026, 10:30 in Amsterdam.

Every case runs as its own test, so every one must pass (the issue's bar was 54 of at
least 60)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from conversations import CASES, Case
from sqlalchemy import func, select

from bloomer_ai.agent.config.schema import AgentConfig
from bloomer_ai.agent.providers import BuiltinProvider, ChatTurn, OrderFacts, ShopContext
from bloomer_ai.auth.principal import Principal, PrincipalKind
from bloomer_ai.models import SupportEvent, ToolCall
from bloomer_ai.tools.service import ConversationTools
from factories.core import create_order, create_shop
from factories.tools import create_product
from support.sessions import app_session_factory

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)  # 10:30 in Amsterdam, a Monday
GREETINGS = {
    "en": "Hi! I'm Lilli from Bloom & Co. How can I help?",
    "nl": "Hoi! Ik ben Lilli van Bloom & Co. Waarmee kan ik helpen?",
    "de": "Hallo! Ich bin Lilli von Bloom & Co. Wie kann ich helfen?",
}
CONFIG: dict[str, Any] = {
    "businessHours": {
        "timezone": "Europe/Amsterdam",
        "weekly": {
            "mon": [["09:00", "18:00"]],
            "tue": [["09:00", "18:00"]],
            "wed": [["09:00", "18:00"]],
            "thu": [["09:00", "21:00"]],
            "fri": [["09:00", "18:00"]],
            "sat": [["09:00", "17:00"]],
        },
        "closedDates": ["2026-12-28"],
        "closesOnPublicHolidays": True,
    },
    "delivery": {
        "zones": [
            {"name": "Amsterdam"},
            {"name": "Amstelveen", "fee": 795},
            {"name": "Diemen", "fee": 795},
        ],
        "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
        "cutoffTime": "14:00",
        "fee": 595,
    },
    "handoff": {"enabled": True, "keywords": ["complaint", "refund"]},
}
PRODUCTS = [
    ("Red roses (12)", "A dozen long-stemmed red roses", 2995, True),
    ("White tulips (20)", "Twenty white tulips, hand-tied", 1995, True),
    ("Sunflowers (10)", "Ten sunflowers", 2495, True),
    ("Seasonal bouquet", "Whatever is freshest today, arranged by our florists", 3495, True),
    ("Condolence wreath", "A wreath of white flowers", 8995, True),
    ("Orchid in a pot", "A white orchid (Phalaenopsis)", 3995, False),
]
ORDERS = [
    ("8042", "out_for_delivery", date(2026, 12, 7), "15:00"),
    ("8043", "delivered", date(2026, 12, 3), None),
    ("8044", "pending", None, None),
]


async def florist(db, language: str) -> Any:
    shop = await create_shop(
        db,
        name="Bloom & Co",
        country="NL",
        timezone="Europe/Amsterdam",
        currency="EUR",
        lilli_config={**CONFIG, "language": language, "greeting": GREETINGS[language]},
    )
    for name, description, price, available in PRODUCTS:
        await create_product(
            db, shop, name=name, description=description, price_minor=price, available=available
        )
    for number, status, delivery, time in ORDERS:
        await create_order(
            db,
            shop,
            number=number,
            status=status,
            delivery_date=delivery,
            delivery_time=time,
            placed_at=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
        )
    return shop


async def converse(db, shop: Any, case: Case) -> list[str]:
    """Each user turn of the case and the assistant's answer to it, as the chat runs it."""
    connection = await db.connection()
    principal = Principal(
        kind=PrincipalKind.API_KEY,
        shop_id=shop.id,
        scopes=frozenset({"agent:chat"}),  # the chat's own key: the tools it implies
        api_key_id=uuid.uuid4(),
    )
    tools = ConversationTools(app_session_factory(connection), principal, None, now=lambda: NOW)
    linked = (
        OrderFacts(case.linked_order, "out_for_delivery", None, NOW) if case.linked_order else None
    )
    context = ShopContext(
        shop_id=str(shop.id),
        shop_name=shop.name,
        timezone=shop.timezone,
        country=shop.country,
        config=AgentConfig.model_validate(shop.lilli_config),
        customer_first_name=None,
        last_order=linked,
        find_order=_no_direct_lookups,
        tools=tools,
    )
    provider = BuiltinProvider(now=lambda: NOW)
    history: list[ChatTurn] = []
    answers = []
    for text in case.turns:
        history.append(ChatTurn("user", text))
        answer = await provider.complete(history, context)
        history.append(ChatTurn("assistant", answer))
        answers.append(answer)
    return answers


async def _no_direct_lookups(number: str) -> OrderFacts | None:
    raise AssertionError("the builtin provider answers through the shop tools")


def misses(case: Case, answer: str) -> list[str]:
    lowered = answer.casefold()
    missing = [f"missing {fact!r}" for fact in case.must if fact.casefold() not in lowered]
    present = [f"has {fact!r}" for fact in (*case.must_not, "(demo)") if fact.casefold() in lowered]
    return missing + present


def test_the_set_is_as_large_as_the_issue_asks() -> None:
    languages = {case.id.split("-")[0] for case in CASES}
    assert len(CASES) >= 60 and {"en", "nl", "de", "fr"} <= languages
    assert len({case.id for case in CASES}) == len(CASES)
    assert sum(len(case.turns) > 1 for case in CASES) >= 8  # follow-ups


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_the_answer_has_its_facts(db, case: Case) -> None:
    shop = await florist(db, case.language)
    answers = await converse(db, shop, case)
    problems = misses(case, answers[-1])
    assert not problems, f"{case.turns[-1]!r} → {answers[-1]!r}: {problems}"


async def test_answers_come_from_recorded_tool_calls_and_handoffs_reach_support(db) -> None:
    shop = await florist(db, "en")
    case = next(c for c in CASES if c.id == "en-paypal")
    await converse(db, shop, case)
    calls = (
        await db.execute(select(ToolCall.tool, ToolCall.ok).where(ToolCall.shop_id == shop.id))
    ).all()
    assert calls == [("request_handoff", True)]
    events = await db.scalar(
        select(func.count())
        .select_from(SupportEvent)
        .where(SupportEvent.shop_id == shop.id, SupportEvent.type == "handoff.requested")
    )
    assert events == 1
