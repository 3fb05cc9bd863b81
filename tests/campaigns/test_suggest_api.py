"""POST /api/ai/campaigns/suggest end to end on PostgreSQL.

The service is first run with a fixed moment on a seeded history whose answers were
worked out by hand (segments, consent, the occasion's buyers, send times); then over HTTP
with the real clock: access, input, consent exclusion, other shops, languages, the
feature switch and the rate limit.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from httpx import ASGITransport, AsyncClient

from bloomer_ai.campaigns import service
from bloomer_ai.campaigns.providers import RulesOnly
from bloomer_ai.campaigns.rules.segments import Segment
from bloomer_ai.config import FeatureSettings, RateLimitSettings
from bloomer_ai.db.engine import DatabaseTarget
from bloomer_ai.db.session import unit_of_work
from conftest import make_settings
from factories.campaigns import consent, create_orders_at
from factories.core import add_member, create_customer, create_shop, create_user
from support.auth import bearer, database_session, issue_key, key_headers

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 4, 15, 10, 0, tzinfo=UTC)  # Thursday; Moederdag is Sunday 9 May 2027
ROUTE = "/api/ai/campaigns/suggest"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)


# --- a history with known answers -------------------------------------------------------------


@pytest.fixture
async def florist(db):
    """A Dutch florist on 15 April 2027. Moederdag 2026 was 10 May: its window was
    19 April - 10 May 2026. Customers (e-mail consent; * = also in that window):

    A  champions: 3 orders in the year, the last 10 days ago, plus 20 Saturday-morning
       orders since January (its own rhythm: Saturday 11:00)             consent given
    B  loyal: 2 orders in the year (one on 5 May 2026 *), the last in December
                                                               consent given, no e-mail
    C  recent first-time: one order on 20 March 2027                     refused
    D  at risk: 2 orders, the last 1 September 2026 (one on 8 May 2026 *) never asked
    E  lapsed: one order, 3 May 2025 (Moederdag 2025's window)            consent given
    F  no segment: one order, 1 November 2026                             never asked
    G  recent first-time: one live order in March, two cancelled in April consent given
    H  no orders at all                                                   consent given

    25 orders without a customer on Tuesdays at 19:30 make the shop's rhythm Tuesday 19:00.
    Another shop has customers with consent who ordered in the same windows.
    """
    shop = await create_shop(db, country="NL", timezone="Europe/Amsterdam", name="De Tulp")
    people: dict[str, Any] = {}
    for name, given in [
        ("A", True),
        ("B", True),
        ("C", False),
        ("D", None),
        ("E", True),
        ("F", None),
        ("G", True),
        ("H", True),
    ]:
        overrides = consent(email=given, sms=True if name == "A" else None)
        if name == "B":
            overrides["email"] = None
        people[name] = await create_customer(db, shop, name=f"Customer {name}", **overrides)
    history = {
        "A": [local(2027, 4, 5, 9), local(2027, 2, 1, 9), local(2026, 12, 1, 9)]
        + [local(2027, 1, 16, 11, 15) + timedelta(weeks=week) for week in range(10)] * 2,
        "B": [local(2026, 12, 20, 9), local(2026, 5, 5, 9)],
        "C": [local(2027, 3, 20, 9)],
        "D": [local(2026, 9, 1, 9), local(2026, 5, 8, 9)],
        "E": [local(2025, 5, 3, 9)],
        "F": [local(2026, 11, 1, 9)],
        "G": [local(2027, 3, 25, 9)],
    }
    for name, times in history.items():
        await create_orders_at(db, shop, times, customer=people[name])
    await create_orders_at(
        db, shop, [local(2027, 4, 10, 9), local(2027, 4, 12, 9)], customer=people["G"],
        status="cancelled",
    )  # fmt: skip
    tuesdays = [local(2026, 6, 2, 19, 30) + timedelta(weeks=week) for week in range(25)]
    await create_orders_at(db, shop, tuesdays)

    other = await create_shop(db, country="NL", timezone="Europe/Amsterdam", name="Elders")
    for index in range(3):
        theirs = await create_customer(db, other, **consent(email=True, sms=True))
        await create_orders_at(db, other, [local(2026, 5, 1 + index, 10), local(2027, 4, 1, 10)],
                               customer=theirs)  # fmt: skip
    return {"shop": shop, "other": other, **people}


async def suggest(session_factory, shop, **query: Any) -> list[service.Suggestion]:
    async with unit_of_work(session_factory, shop_id=shop.id) as session:
        return await service.suggest_campaigns(
            session, service.SuggestionQuery(**query), writer=RulesOnly(), now=NOW
        )


def audiences(suggestions: list[service.Suggestion]) -> list[tuple[str, int, int]]:
    return [(s.segment.value, s.estimated_size, s.excluded_without_consent) for s in suggestions]


async def test_segments_by_their_definitions_ranked_with_consent(florist, session_factory):
    found = await suggest(session_factory, florist["shop"], occasion="mothers_day", limit=10)
    assert {s.occasion.key for s in found} == {"mothers_day"}
    assert {s.occasion.date.isoformat() for s in found} == {"2027-05-09"}
    # (segment, reachable by e-mail, left out without consent), best first: weight ×
    # reachable, then weight × everyone in it.
    assert audiences(found) == [
        ("champions", 1, 0),  # A
        ("never_ordered_for_occasion", 2, 2),  # A, G reachable; C refused, F never asked
        ("recent_first_time", 1, 1),  # G; C refused (G's cancelled orders do not count)
        ("lapsed", 1, 0),  # E
        ("ordered_for_last_occasion", 0, 1),  # B has no e-mail address, D never asked
        ("loyal", 0, 0),  # B, no e-mail address
        ("at_risk", 0, 1),  # D never asked
    ]
    by_segment = {s.segment: s for s in found}
    rationale = by_segment[Segment.ORDERED_FOR_LAST_OCCASION].rationale
    assert "Moederdag" not in rationale and "Mother's Day is Sunday 9 May 2027." in rationale
    assert "2 customers ordered in the three weeks before it in 2026" in rationale
    assert (
        "0 of them can be reached by e-mail; 1 are left out without consent "
        "(1 never asked, 0 refused); 1 consented but have no e-mail address." in rationale
    )
    never = by_segment[Segment.NEVER_ORDERED_FOR_OCCASION].rationale
    assert "4 customers of the 7 who have ordered never ordered" in never
    assert "(1 never asked, 1 refused)" in never


async def test_send_time_from_the_segment_or_the_shop(florist, session_factory):
    found = await suggest(session_factory, florist["shop"], occasion="mothers_day", limit=10)
    times = {s.segment: s.suggested_time for s in found}
    # E-mail 14 days before Sunday 9 May is Sunday 25 April: the week before it.
    # Champions (A) order on Saturdays at 11: Saturday 24 April 11:00.
    assert times[Segment.CHAMPIONS] == local(2027, 4, 24, 11)
    assert times[Segment.CHAMPIONS].isoformat() == "2027-04-24T11:00:00+02:00"
    # Everyone else has too few orders of their own: the shop's Tuesday 19:00.
    for segment in set(times) - {Segment.CHAMPIONS}:
        assert times[segment] == local(2027, 4, 20, 19), segment
    champions = next(s for s in found if s.segment is Segment.CHAMPIONS)
    assert (
        "This segment's customers order most on Saturdays 11:00-12:00 (Europe/Amsterdam time; "
        "23 orders in the last 365 days), so the e-mail goes out on Saturday 24 April 2027 "
        "at 11:00, 15 days ahead." in champions.rationale
    )
    lapsed = next(s for s in found if s.segment is Segment.LAPSED)
    assert "The shop's customers order most on Tuesdays 19:00-20:00" in lapsed.rationale
    # A 23, B 2, C 1, D 2, F 1, G 1 (its cancelled two do not count), 25 Tuesdays; E is older.
    assert "(Europe/Amsterdam time; 55 orders in the last 365 days)" in lapsed.rationale


async def test_sms_consent_is_its_own(florist, session_factory):
    found = await suggest(
        session_factory, florist["shop"], occasion="mothers_day", channel="sms", limit=10
    )
    assert audiences(found)[:2] == [("champions", 1, 0), ("never_ordered_for_occasion", 1, 3)]
    # SMS goes 3 days ahead: the Saturday before Thursday 6 May, at 11:00.
    assert found[0].suggested_time == local(2027, 5, 1, 11)
    assert all(s.body_preview.startswith("De Tulp: Moederdag is ") for s in found)


async def test_one_segment_asked_for(florist, session_factory):
    found = await suggest(
        session_factory,
        florist["shop"],
        occasion="mothers_day",
        audience_type=Segment.ORDERED_FOR_LAST_OCCASION,
    )
    assert audiences(found) == [("ordered_for_last_occasion", 0, 1)]


async def test_next_occasions_on_the_calendar_soonest_first(florist, session_factory):
    found = await suggest(session_factory, florist["shop"], limit=3)
    # Secretaressedag (15 April 2027) is today: too late by e-mail; the next three.
    assert [(s.occasion.key, s.occasion.date.isoformat()) for s in found] == [
        ("mothers_day", "2027-05-09"),
        ("fathers_day", "2027-06-20"),
        ("christmas", "2027-12-25"),
    ]
    assert [s.suggested_time for s in found] == sorted(s.suggested_time for s in found)
    # Moederdag's best audience; Vaderdag had no buyers last time: those who never did.
    assert found[0].segment is Segment.CHAMPIONS
    assert (found[1].segment, found[1].estimated_size) == (Segment.NEVER_ORDERED_FOR_OCCASION, 3)


async def test_a_named_occasion_gives_its_next_date(florist, session_factory):
    (christmas,) = await suggest(
        session_factory, florist["shop"], occasion="christmas", audience_type=Segment.LAPSED
    )
    assert christmas.occasion.date.isoformat() == "2027-12-25"
    (secretaries,) = await suggest(
        session_factory,
        florist["shop"],
        occasion="admin_professionals_day",
        audience_type=Segment.LAPSED,
    )
    # Today is the day itself: the next one is the third Thursday of April 2028.
    assert secretaries.occasion.date.isoformat() == "2028-04-20"
    assert secretaries.occasion_name == "Secretaressedag"


async def test_thin_history_takes_the_default_moment(db, session_factory):
    shop = await create_shop(db, country="GB", timezone="Europe/London", name="Petals")
    customer = await create_customer(db, shop, **consent(email=True))
    await create_orders_at(db, shop, [NOW - timedelta(days=d) for d in range(1, 6)],
                           customer=customer)  # fmt: skip
    (mothering,) = await suggest(session_factory, shop, occasion="mothers_day", limit=1)
    # Mothering Sunday 2027 is 7 March: passed; the next is 26 March 2028 (14 days ahead is
    # Sunday 12 March; the Thursday before, 10:00 London time).
    assert mothering.occasion.date.isoformat() == "2028-03-26"
    assert mothering.occasion_name == "Mothering Sunday"
    assert mothering.suggested_time.isoformat() == "2028-03-09T10:00:00+00:00"
    assert "fewer than 20 orders in the last 365 days" in mothering.rationale
    assert mothering.language == "en"


# --- over HTTP ----------------------------------------------------------------------------------


@pytest.fixture
async def shop_with_key(db):
    shop = await create_shop(db, country="NL", timezone="Europe/Amsterdam", name="Bloemenhuis")
    _, secret = await issue_key(db, shop, ["campaigns:suggest"])
    return shop, key_headers(secret)


@contextlib.asynccontextmanager
async def app_client(database_url, session_factory, **sections: Any) -> AsyncIterator[Any]:
    from bloomer_ai.main import create_app

    application = create_app(
        make_settings(database_url, **sections),
        database=DatabaseTarget(database_url, embedded=False),
        session_factory=session_factory,
    )
    async with application.router.lifespan_context(application):
        transport = ASGITransport(app=application)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_the_answer_has_the_documented_shape(client, shop_with_key):
    response = await client.post(ROUTE, json={}, headers=shop_with_key[1])
    assert response.status_code == 200, response.text
    (first, *_rest) = suggestions = response.json()["suggestions"]
    assert len(suggestions) == 3
    assert set(first) == {
        "occasion",
        "channel",
        "language",
        "subject",
        "bodyPreview",
        "suggestedAudience",
        "suggestedTime",
        "rationale",
        "source",
    }
    assert set(first["occasion"]) == {"key", "name", "date"}
    assert set(first["suggestedAudience"]) == {
        "segment",
        "description",
        "estimatedSize",
        "excludedWithoutConsent",
    }
    assert first["source"] == "rules" and first["language"] == "nl" and first["channel"] == "email"
    assert "Bloemenhuis" in first["subject"] + first["bodyPreview"]


async def test_never_in_the_past_never_at_night(client, shop_with_key):
    now = datetime.now(UTC)
    for channel in ("email", "sms"):
        response = await client.post(
            ROUTE, json={"channel": channel, "limit": 10}, headers=shop_with_key[1]
        )
        assert response.status_code == 200
        for suggestion in response.json()["suggestions"]:
            moment = datetime.fromisoformat(suggestion["suggestedTime"])
            assert moment > now
            assert 8 <= moment.astimezone(AMSTERDAM).hour <= 20
            assert moment.date() < datetime.fromisoformat(suggestion["occasion"]["date"]).date()


async def test_consent_unknown_counts_as_none(client, db, shop_with_key):
    shop, headers = shop_with_key
    recent = datetime.now(UTC) - timedelta(days=3)
    for given in (True, None, None, False):
        customer = await create_customer(db, shop, **consent(email=given))
        await create_orders_at(db, shop, [recent], customer=customer)
    body = {"occasion": "christmas", "audienceType": "recent_first_time"}
    response = await client.post(ROUTE, json=body, headers=headers)
    (suggestion,) = response.json()["suggestions"]
    assert suggestion["suggestedAudience"]["estimatedSize"] == 1
    assert suggestion["suggestedAudience"]["excludedWithoutConsent"] == 3
    assert "(2 never asked, 1 refused)" in suggestion["rationale"]


async def test_another_shops_customers_never_count(client, db, shop_with_key):
    shop, headers = shop_with_key
    other = await create_shop(db, country="NL")
    recent = datetime.now(UTC) - timedelta(days=3)
    for _ in range(3):
        theirs = await create_customer(db, other, **consent(email=True))
        await create_orders_at(db, other, [recent], customer=theirs)
    body = {"occasion": "christmas", "audienceType": "recent_first_time"}
    response = await client.post(ROUTE, json=body, headers=headers)
    (suggestion,) = response.json()["suggestions"]
    assert suggestion["suggestedAudience"]["estimatedSize"] == 0
    assert suggestion["suggestedAudience"]["excludedWithoutConsent"] == 0
    # Naming the other shop is refused, by key and by session.
    response = await client.post(ROUTE, json={"shopId": str(other.id)}, headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden_shop")
    user = await create_user(db)
    await add_member(db, shop, user, "staff")
    session = bearer(await database_session(db, user.id))
    response = await client.post(ROUTE, json={"shopId": str(other.id)}, headers=session)
    assert response.status_code == 403
    response = await client.post(ROUTE, json={"shopId": str(shop.id)}, headers=session)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "kind"),
    [
        ({"occasion": "thanksgiving"}, "body.occasion", "unknown_occasion"),
        ({"occasion": "Mother's Day"}, "body.occasion", "string_pattern_mismatch"),
        ({"channel": "whatsapp"}, "body.channel", "literal_error"),
        ({"language": "es"}, "body.language", "literal_error"),
        ({"audienceType": "vip"}, "body.audienceType", "literal_error"),
        ({"limit": 0}, "body.limit", "greater_than_equal"),
        ({"limit": 11}, "body.limit", "less_than_equal"),
        ({"audience_type": "lapsed"}, "body.audience_type", "extra_forbidden"),
    ],
)
async def test_bad_input_is_422_with_the_field(client, shop_with_key, body, field, kind):
    response = await client.post(ROUTE, json=body, headers=shop_with_key[1])
    assert response.status_code == 422, response.text
    (detail,) = response.json()["error"]["details"]
    assert (detail["field"], detail["type"]) == (field, kind)
    if kind == "unknown_occasion":
        assert "mothers_day" in detail["message"] and "thanksgiving" not in detail["message"]


@pytest.mark.parametrize(
    ("country", "language", "expected", "name"),
    [
        ("NL", None, "nl", "Moederdag"),
        ("DE", None, "de", "Muttertag"),
        ("FR", None, "fr", "Fête des mères"),
        ("US", None, "en", "Mother's Day"),
        ("GB", None, "en", "Mothering Sunday"),
        ("FR", "en", "en", "Mother's Day"),
        ("GB", "nl", "nl", "Moederdag"),
    ],
)
async def test_copy_in_the_shops_language_or_the_one_asked(
    client, db, country, language, expected, name
):
    shop = await create_shop(db, country=country, name="Fleur")
    _, secret = await issue_key(db, shop, ["campaigns:suggest"])
    body: dict[str, Any] = {"occasion": "mothers_day", "limit": 1}
    if language:
        body["language"] = language
    response = await client.post(ROUTE, json=body, headers=key_headers(secret))
    (suggestion,) = response.json()["suggestions"]
    assert suggestion["language"] == expected
    assert suggestion["occasion"]["name"] == name
    assert name in suggestion["subject"] + suggestion["bodyPreview"]


async def test_sessions_and_keys_alike(client, db, shop_with_key):
    shop, headers = shop_with_key
    user = await create_user(db)
    await add_member(db, shop, user, "staff")
    session = bearer(await database_session(db, user.id))
    by_key = await client.post(ROUTE, json={"occasion": "christmas"}, headers=headers)
    by_session = await client.post(ROUTE, json={"occasion": "christmas"}, headers=session)
    assert by_key.status_code == by_session.status_code == 200
    assert by_key.json() == by_session.json()


async def test_switched_off_is_404(database_url, session_factory, shop_with_key):
    features = FeatureSettings(ai_campaigns_enabled=False, _env_file=None)
    async with app_client(database_url, session_factory, features=features) as client:
        for headers in ({}, shop_with_key[1]):
            response = await client.post(ROUTE, json={}, headers=headers)
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "feature_disabled"


async def test_rate_limited_in_its_own_group(database_url, session_factory, shop_with_key):
    limits = RateLimitSettings(ratelimit_campaigns="2/minute", _env_file=None)
    async with app_client(database_url, session_factory, ratelimit=limits) as client:
        statuses = []
        for _ in range(3):
            response = await client.post(ROUTE, json={"limit": 1}, headers=shop_with_key[1])
            statuses.append(response.status_code)
        assert statuses == [200, 200, 429]
        assert response.headers["ratelimit-policy"] == '"campaigns";q=2;w=60'
        assert int(response.headers["retry-after"]) >= 1
