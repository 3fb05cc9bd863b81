"""The shop tools through ``call_tool``, as every caller runs them: on the app role's
session bound to the shop (row-level security holds), with real principals' scopes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bloomer_ai.auth.principal import Principal, PrincipalKind
from bloomer_ai.auth.scopes import ALL_SCOPES
from bloomer_ai.models import Order, SupportEvent, SupportTask, ToolCall, WebhookEvent
from bloomer_ai.tools import service
from factories.agent import create_conversation
from factories.core import create_customer, create_order, create_shop
from factories.tools import create_product
from factories.voice import create_voice_call
from support.sessions import shop_session

# Friday 2026-12-18, 10:00 in Amsterdam.
NOW = datetime(2026, 12, 18, 9, 0, tzinfo=UTC)
CONFIG = {
    "businessHours": {
        "weekly": {
            "mon": [["09:00", "18:00"]],
            "tue": [["09:00", "18:00"]],
            "wed": [["09:00", "18:00"]],
            "thu": [["09:00", "18:00"]],
            "fri": [["09:00", "18:00"]],
            "sat": [["10:00", "16:00"]],
        },
        "closedDates": ["2026-12-31"],
        "closesOnPublicHolidays": True,
    },
    "delivery": {
        "zones": [
            {"name": "Centrum", "fee": 495, "postalCodes": ["1011", "1012"]},
            {"name": "Noord", "postalCodes": ["1021"]},
        ],
        "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
        "cutoffTime": "12:00",
        "fee": 695,
    },
}


def principal(shop: Any, scopes: frozenset[str] = ALL_SCOPES) -> Principal:
    return Principal(
        kind=PrincipalKind.API_KEY, shop_id=shop.id, scopes=scopes, api_key_id=uuid.uuid4()
    )


@pytest.fixture
async def shop(db):
    return await create_shop(db, name="Bloemen Anna", lilli_config=CONFIG)


async def call(db, shop, name, arguments, *, scopes=ALL_SCOPES, **kwargs) -> Any:
    async with shop_session(db, shop) as session:
        return await service.call_tool(
            session, principal(shop, scopes), name, arguments, now=NOW, **kwargs
        )


# --- the registry ---------------------------------------------------------------------------


def test_definitions_follow_the_scopes():
    everything = service.tool_definitions(ALL_SCOPES)
    assert [d.name for d in everything] == [
        "find_order",
        "opening_hours",
        "delivery_info",
        "search_products",
        "support_context",
        "place_order",
        "request_handoff",
    ]
    assert [d.name for d in service.tool_definitions({"shop:read"})] == [
        "opening_hours",
        "delivery_info",
        "search_products",
    ]
    assert service.tool_definitions(set()) == []
    find = everything[0]
    assert find.scope == "orders:read"
    assert find.parameters["type"] == "object"
    assert set(find.parameters["properties"]) == {"orderNumber", "phone"}
    assert find.parameters["additionalProperties"] is False


@pytest.mark.parametrize(
    ("name", "scope"),
    [
        ("find_order", "orders:read"),
        ("opening_hours", "shop:read"),
        ("delivery_info", "shop:read"),
        ("search_products", "shop:read"),
        ("support_context", "support:context"),
        ("place_order", "orders:write"),
        ("request_handoff", "support:events"),
    ],
)
async def test_a_caller_without_the_tools_scope_is_refused_and_recorded(db, shop, name, scope):
    outcome = await call(db, shop, name, {}, scopes=ALL_SCOPES - {scope})
    assert not outcome.ok
    assert outcome.error is not None and outcome.error.code == "insufficient_scope"
    assert scope in outcome.error.message
    row = await db.scalar(select(ToolCall).where(ToolCall.shop_id == shop.id))
    assert (row.tool, row.ok, row.error_code) == (name, False, "insufficient_scope")


@pytest.mark.parametrize(
    ("name", "arguments", "field"),
    [
        ("find_order", {}, "arguments"),
        ("find_order", {"orderNumber": "1", "phone": "0612345678"}, "arguments"),
        ("opening_hours", {"date": "tomorrow"}, "arguments.date"),
        ("opening_hours", {"weekday": "someday"}, "arguments.weekday"),
        ("delivery_info", {"zone": ""}, "arguments.zone"),
        ("search_products", {"limit": 500}, "arguments.limit"),
        ("support_context", {"phone": "0612345678", "email": "a@b.c"}, "arguments"),
        ("place_order", {"items": [], "customerPhone": "0612345678"}, "arguments.items"),
        ("place_order", {"items": [{"quantity": 1}], "customerPhone": "06"}, "arguments.items"),
        ("request_handoff", {"channel": "pigeon"}, "arguments.channel"),
        ("request_handoff", {"unknown": 1}, "arguments.unknown"),
    ],
)
async def test_bad_arguments_are_a_structured_tool_error(db, shop, name, arguments, field):
    outcome = await call(db, shop, name, arguments)
    assert not outcome.ok and outcome.result is None
    assert outcome.error is not None and outcome.error.code == "invalid_arguments"
    assert field in outcome.error.message


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '"text"', "x" * 20_000])
async def test_arguments_that_are_not_a_json_object_are_a_tool_error(db, shop, text):
    outcome = await call(db, shop, "opening_hours", text)
    assert outcome.error is not None and outcome.error.code == "invalid_arguments"


async def test_an_unknown_tool_is_a_tool_error_and_recorded(db, shop):
    outcome = await call(db, shop, "delete_everything", {})
    assert outcome.error is not None and outcome.error.code == "unknown_tool"
    row = await db.scalar(select(ToolCall).where(ToolCall.shop_id == shop.id))
    assert (row.tool, row.ok) == ("delete_everything", False)


async def test_a_call_is_recorded_on_its_conversation_without_its_arguments(db, shop):
    conversation = await create_conversation(db, shop)
    outcome = await call(
        db, shop, "find_order", '{"phone": "+31612345678"}', conversation_id=conversation.id
    )
    assert outcome.ok
    row = await db.scalar(select(ToolCall).where(ToolCall.conversation_id == conversation.id))
    assert row.tool == "find_order" and row.ok and row.duration_ms >= 0
    assert "612345678" not in row.arguments_hash and len(row.arguments_hash) == 64
    voice_call = (await create_voice_call(db, shop)).id  # the foreign key wants a real call
    await call(db, shop, "opening_hours", {}, voice_call_id=voice_call)
    assert await db.scalar(select(ToolCall.tool).where(ToolCall.voice_call_id == voice_call))


# --- find_order -----------------------------------------------------------------------------


async def test_find_order_by_number_and_by_the_callers_phone(db, shop):
    customer = await create_customer(db, shop, phone="+31612345678")
    await create_order(db, shop, number="2001", customer_id=customer.id, placed_at=NOW)
    await create_order(
        db,
        shop,
        number="2002",
        customer_id=customer.id,
        placed_at=datetime(2026, 12, 18, 9, 30, tzinfo=UTC),
        items=[{"product_type": "plant", "name": "Orchid", "quantity": 2}],
    )
    by_number = await call(db, shop, "find_order", {"orderNumber": "2001"})
    assert by_number.ok and by_number.result["found"] is True
    assert by_number.result["order"]["number"] == "2001"
    assert by_number.result["order"]["itemsSummary"] == "1× Roses"
    by_phone = await call(db, shop, "find_order", {"phone": "06 1234 5678"})
    assert by_phone.result["order"]["number"] == "2002"
    assert by_phone.result["order"]["itemsSummary"] == "2× Orchid"
    missing = await call(db, shop, "find_order", {"orderNumber": "9999"})
    assert missing.ok and missing.result == {"found": False}


async def test_find_order_never_finds_another_shops_order(db, shop):
    other = await create_shop(db)
    theirs = await create_customer(db, other, phone="+31611111111")
    order = await create_order(db, other, number="7777", customer_id=theirs.id)
    for arguments in (
        {"orderNumber": "7777"},
        {"orderNumber": str(order.id)},
        {"phone": "+31611111111"},
    ):
        outcome = await call(db, shop, "find_order", arguments)
        assert outcome.result == {"found": False}


# --- opening_hours and delivery_info -----------------------------------------------------------


async def test_opening_hours_today_a_weekday_a_closed_date_and_a_public_holiday(db, shop):
    today = await call(db, shop, "opening_hours", {})
    assert today.result["date"] == "2026-12-18" and today.result["weekday"] == "fri"
    assert today.result["openNow"] is True
    assert today.result["hours"] == [{"opens": "09:00", "closes": "18:00"}]
    assert today.result["timezone"] == "Europe/Amsterdam"
    upcoming = {d["date"]: d for d in today.result["upcomingClosedDates"]}
    assert upcoming["2026-12-25"]["reason"] == "public_holiday"
    assert upcoming["2026-12-31"]["reason"] == "closed_date"

    christmas = await call(db, shop, "opening_hours", {"date": "2026-12-25"})
    assert christmas.result["open"] is False
    assert christmas.result["closedReason"] == "public_holiday"
    assert christmas.result["holiday"]
    sunday = await call(db, shop, "opening_hours", {"date": "2026-12-20"})
    assert (sunday.result["open"], sunday.result["closedReason"]) == (False, "weekly")
    saturday = await call(db, shop, "opening_hours", {"weekday": "sat"})
    assert saturday.result["hours"] == [{"opens": "10:00", "closes": "16:00"}]


async def test_public_holidays_count_only_when_the_shop_closes_on_them(db):
    config = {**CONFIG, "businessHours": {**CONFIG["businessHours"]}}
    config["businessHours"]["closesOnPublicHolidays"] = False
    shop = await create_shop(db, lilli_config=config)
    christmas = await call(db, shop, "opening_hours", {"date": "2026-12-25"})
    assert christmas.result["open"] is True and christmas.result["holiday"] is None


async def test_hours_are_read_in_the_shops_time_zone(db):
    shop = await create_shop(db, timezone="America/New_York", country="US", lilli_config=CONFIG)
    # 09:00 UTC is 04:00 in New York: closed, and still Friday.
    today = await call(db, shop, "opening_hours", {})
    assert today.result["openNow"] is False and today.result["weekday"] == "fri"


async def test_a_shop_without_hours_or_delivery_says_so(db):
    shop = await create_shop(db)
    assert (await call(db, shop, "opening_hours", {})).result["known"] is False
    assert (await call(db, shop, "delivery_info", {})).result["known"] is False


async def test_delivery_info_zones_fees_days_and_dates(db, shop):
    info = await call(db, shop, "delivery_info", {})
    assert info.result["zones"] == [
        {"name": "Centrum", "fee": 495},
        {"name": "Noord", "fee": 695},
    ]
    assert info.result["cutoffTime"] == "12:00" and info.result["currency"] == "EUR"
    by_code = await call(db, shop, "delivery_info", {"postalCode": "1012 AB"})
    assert by_code.result["zone"] == {"name": "Centrum", "fee": 495}
    nowhere = await call(db, shop, "delivery_info", {"zone": "Maastricht"})
    assert nowhere.result["zone"] is None and nowhere.result["deliversThere"] is False
    today = await call(db, shop, "delivery_info", {"date": "2026-12-18"})
    assert today.result["date"]["deliversThen"] is True  # 10:00, before the 12:00 cut-off
    sunday = await call(db, shop, "delivery_info", {"date": "2026-12-20"})
    assert sunday.result["date"]["deliversThen"] is False
    assert sunday.result["date"]["refusal"] == "not_a_delivery_day"
    christmas = await call(db, shop, "delivery_info", {"date": "2026-12-25"})
    assert christmas.result["date"] == {
        "date": "2026-12-25",
        "deliversThen": False,
        "refusal": "shop_closed",
        "closedReason": "public_holiday",
    }


async def test_delivery_info_and_place_order_agree_when_no_days_are_listed(db):
    """No delivery days listed means every day, for the question and for the order alike
    (delivery_info said never while place_order accepted any day)."""
    anyday = await create_shop(
        db, lilli_config={"delivery": {"fee": 500}, "businessHours": CONFIG["businessHours"]}
    )
    saturday = await call(db, anyday, "delivery_info", {"date": "2026-12-19"})
    assert saturday.result["date"]["deliversThen"] is True
    placed = await call(
        db,
        anyday,
        "place_order",
        {
            "items": [{"name": "Roses"}],
            "customerPhone": "+31612345678",
            "deliveryDate": "2026-12-19",
        },
    )
    assert placed.ok, placed.error


# --- search_products --------------------------------------------------------------------------


async def test_search_products_finds_the_shops_own_available_products(db, shop):
    await create_product(db, shop, name="Red roses", price_minor=2950)
    await create_product(db, shop, name="White roses", available=False)
    await create_product(db, shop, name="Tulips", description="Spring tulips, mixed")
    other = await create_shop(db)
    await create_product(db, other, name="Their roses")
    found = await call(db, shop, "search_products", {"query": "ROSES"})
    assert [p["name"] for p in found.result["products"]] == ["Red roses"]
    assert found.result["products"][0]["price"] == 2950
    every = await call(db, shop, "search_products", {"query": "roses", "availableOnly": False})
    assert [p["name"] for p in every.result["products"]] == ["Red roses", "White roses"]
    by_description = await call(db, shop, "search_products", {"query": "spring"})
    assert [p["name"] for p in by_description.result["products"]] == ["Tulips"]
    wildcard = await call(db, shop, "search_products", {"query": "%"})
    assert wildcard.result["products"] == []


# --- support_context and request_handoff ---------------------------------------------------------


async def test_support_context_is_the_support_domains_answer(db, shop):
    customer = await create_customer(db, shop, phone="+31612345678", name="Anna de Vries")
    await create_order(db, shop, customer_id=customer.id, status="pending")
    outcome = await call(db, shop, "support_context", {"phone": "0612345678"})
    assert outcome.result["customer"] == {"id": str(customer.id), "firstName": "Anna"}
    assert outcome.result["openOrderCount"] == 1
    other = await create_shop(db)
    theirs = await create_customer(db, other)
    refused = await call(db, shop, "support_context", {"customerId": str(theirs.id)})
    assert refused.error is not None and refused.error.code == "customer_not_found"


async def test_request_handoff_records_the_event_and_the_default_rule_makes_a_task(db, shop):
    conversation = await create_conversation(db, shop)
    outcome = await call(
        db,
        shop,
        "request_handoff",
        {"reason": "Wants to talk about a wedding", "customerPhone": "0612345678"},
        conversation_id=conversation.id,
    )
    assert outcome.ok and len(outcome.result["taskIds"]) == 1
    event = await db.get(SupportEvent, uuid.UUID(outcome.result["eventId"]))
    assert (event.type, event.channel, event.provider) == ("handoff.requested", "chat", "tools")
    assert event.external_conversation_id == str(conversation.id)
    assert "0612345678" not in str(event.payload)
    task = await db.get(SupportTask, uuid.UUID(outcome.result["taskIds"][0]))
    assert task.shop_id == shop.id and task.event_id == event.id


# --- place_order ---------------------------------------------------------------------------------

ORDER = {
    "items": [{"name": "red ROSES", "quantity": 2}, {"name": "A hand-written card"}],
    "customerPhone": "06 1234 5678",
    "customerName": "Anna",
    "deliveryZone": "Centrum",
    "deliveryDate": "2026-12-19",
    "deliveryTime": "14:00",
}


async def test_place_order_prices_from_the_catalogue_and_emits_order_created(db, shop):
    await create_product(db, shop, name="Red roses", price_minor=2950)
    outcome = await call(db, shop, "place_order", ORDER)
    assert outcome.ok, outcome.error
    order = await db.get(Order, uuid.UUID(outcome.result["orderId"]))
    assert order.shop_id == shop.id and order.status == "pending"
    assert order.needs_confirmation is True and order.source == "api"
    assert order.total_minor == 2 * 2950 and order.delivery_date == date(2026, 12, 19)
    assert order.routing_suggestion is not None
    assert outcome.result["order"]["itemsSummary"] == "2× Red roses, 1× A hand-written card"
    assert outcome.result["replayed"] is False
    events = (await db.scalars(select(WebhookEvent).where(WebhookEvent.shop_id == shop.id))).all()
    assert [e.type for e in events] == ["order.created"]


async def test_place_order_is_idempotent_on_the_callers_key(db, shop):
    first = await call(db, shop, "place_order", ORDER, idempotency_key="call-1")
    again = await call(db, shop, "place_order", ORDER, idempotency_key="call-1")
    assert again.ok and again.result["replayed"] is True
    assert again.result["orderId"] == first.result["orderId"]
    count = await db.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop.id))
    assert count == 1
    changed = await call(
        db, shop, "place_order", {**ORDER, "deliveryTime": "15:00"}, idempotency_key="call-1"
    )
    assert changed.error is not None and changed.error.code == "idempotency_key_reused"
    another = await call(db, shop, "place_order", ORDER, idempotency_key="call-2")
    assert another.result["orderId"] != first.result["orderId"]


async def test_the_same_key_in_another_shop_is_another_order(db, shop):
    other = await create_shop(db, lilli_config=CONFIG)
    mine = await call(db, shop, "place_order", ORDER, idempotency_key="shared")
    theirs = await call(db, other, "place_order", ORDER, idempotency_key="shared")
    assert theirs.result["replayed"] is False
    assert theirs.result["orderId"] != mine.result["orderId"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"deliveryDate": "2026-12-20"}, "not_a_delivery_day"),
        ({"deliveryDate": "2026-12-25"}, "shop_closed"),
        ({"deliveryDate": "2026-12-01"}, "delivery_date_past"),
        ({"deliveryZone": "Maastricht"}, "unknown_delivery_zone"),
        ({"customerPhone": "not a phone"}, "validation_error"),
        ({"items": [{"productId": str(uuid.uuid4())}]}, "product_not_found"),
    ],
)
async def test_place_order_refusals_leave_nothing_behind(db, shop, change, code):
    outcome = await call(db, shop, "place_order", {**ORDER, **change}, idempotency_key="k")
    assert outcome.error is not None and outcome.error.code == code, outcome.error
    count = await db.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop.id))
    assert count == 0
    # The key was not kept: the same key works for a good order afterwards.
    assert (await call(db, shop, "place_order", ORDER, idempotency_key="k")).ok


async def test_place_order_refuses_another_shops_product_and_an_unavailable_one(db, shop):
    other = await create_shop(db)
    theirs = await create_product(db, other)
    refused = await call(
        db, shop, "place_order", {**ORDER, "items": [{"productId": str(theirs.id)}]}
    )
    assert refused.error.code == "product_not_found"
    gone = await create_product(db, shop, name="Peonies", available=False)
    unavailable = await call(
        db, shop, "place_order", {**ORDER, "items": [{"productId": str(gone.id)}]}
    )
    assert unavailable.error.code == "product_unavailable"


async def test_a_failing_tool_is_a_tool_error_and_the_session_stays_usable(db, shop, monkeypatch):
    from bloomer_ai.tools.registry import TOOLS

    async def broken(context: Any, arguments: Any) -> dict[str, Any]:
        await context.session.execute(select(1 / func.abs(0)))  # division by zero in SQL
        return {}

    monkeypatch.setitem(
        TOOLS,
        "opening_hours",
        TOOLS["opening_hours"].__class__(
            "opening_hours",
            "broken",
            TOOLS["opening_hours"].arguments,
            TOOLS["opening_hours"].scope,
            broken,
        ),
    )
    async with shop_session(db, shop) as session:
        outcome = await service.call_tool(session, principal(shop), "opening_hours", {}, now=NOW)
        assert outcome.error is not None and outcome.error.code == "tool_failed"
        assert "zero" not in outcome.error.message
        after = await service.call_tool(
            session, principal(shop), "find_order", {"orderNumber": "1"}, now=NOW
        )
        assert after.ok
