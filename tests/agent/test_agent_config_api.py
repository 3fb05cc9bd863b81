"""GET/PATCH /api/ai/agent/config: who may read and change it, JSON merge patch semantics,
validation with the field's path, and a chat that sees every change at once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from bloomer_ai.agent.config.schema import DEFAULT_GREETING
from bloomer_ai.models import Shop
from factories.agent import create_agent_world
from factories.core import add_member, create_user
from support.auth import V4_COOKIE, bearer, issue_key, key_headers, session_tokens

OWNER_ID = uuid.UUID("01900000-0000-7000-8000-0000000000c1")
STAFF_ID = uuid.UUID("01900000-0000-7000-8000-0000000000c2")
OTHER_OWNER_ID = uuid.UUID("01900000-0000-7000-8000-0000000000c3")
ADMIN_ID = uuid.UUID("01900000-0000-7000-8000-0000000000c4")
URL = "/api/ai/agent/config"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_CONFIG = {
    "greeting": DEFAULT_GREETING,
    "businessHours": None,
    "language": "en",
    "handoff": {"enabled": False, "afterMessages": None, "keywords": []},
    "delivery": None,
}
HOURS = {
    "timezone": "Europe/Amsterdam",
    "weekly": {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], "sat": [["10:00", "16:00"]]},
    "closedDates": ["2026-12-25"],
}


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    return session_tokens(
        {"owner": OWNER_ID, "staff": STAFF_ID, "other_owner": OTHER_OWNER_ID, "admin": ADMIN_ID}
    )


@pytest.fixture
async def world(db):
    world = await create_agent_world(
        db, owner_id=OWNER_ID, staff_id=STAFF_ID, other_owner_id=OTHER_OWNER_ID
    )
    await add_member(db, world.shop, await create_user(db, id=ADMIN_ID), "admin")
    return world


async def stored(db, shop_id: uuid.UUID) -> Shop:
    shop = await db.scalar(
        select(Shop).where(Shop.id == shop_id).execution_options(populate_existing=True)
    )
    assert shop is not None
    return shop


# --- GET ------------------------------------------------------------------------------------------


async def test_read_needs_credentials_and_the_scope(client, world, db):
    response = await client.get(URL)
    assert response.status_code == 401
    _, secret = await issue_key(db, world.shop, ["agent:chat", "conversations:read"])
    response = await client.get(URL, headers=key_headers(secret))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"


async def test_read_with_key_and_with_session(client, world, db, tokens):
    _, secret = await issue_key(db, world.shop, ["agent:config:read"])
    for headers in (key_headers(secret), bearer(tokens["staff"])):
        response = await client.get(URL, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"lilliEnabled": True, "config": DEFAULT_CONFIG}


async def test_each_shop_reads_its_own_config(client, world, db, tokens):
    other = await stored(db, world.other.id)
    other.lilli_config = {"greeting": "Welkom bij Tulpenhuis"}
    other.lilli_enabled = False
    await db.flush()
    _, secret = await issue_key(db, world.shop, ["agent:config:read"])
    assert (await client.get(URL, headers=key_headers(secret))).json()["config"][
        "greeting"
    ] == DEFAULT_GREETING
    # Naming the other shop with this shop's key or a non-member session is refused.
    response = await client.get(
        URL, headers={**key_headers(secret), "X-Shop-Id": str(world.other.id)}
    )
    assert response.status_code == 403
    response = await client.get(
        URL, headers={**bearer(tokens["owner"]), "X-Shop-Id": str(world.other.id)}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_shop"
    response = await client.get(URL, headers=bearer(tokens["other_owner"]))
    assert response.json() == {
        "lilliEnabled": False,
        "config": {**DEFAULT_CONFIG, "greeting": "Welkom bij Tulpenhuis"},
    }


# --- PATCH: who -------------------------------------------------------------------------------


async def test_patch_is_for_owners_and_admins_of_the_shop(client, world, db, tokens):
    body = {"config": {"greeting": "Hallo!"}}
    assert (await client.patch(URL, json=body)).status_code == 401
    response = await client.patch(URL, json=body, headers=bearer(tokens["staff"]))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_role"
    _, secret = await issue_key(db, world.shop)  # every scope: still not a session
    response = await client.patch(URL, json=body, headers=key_headers(secret))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "session_required"
    assert (await stored(db, world.shop.id)).lilli_config == {}

    for role in ("owner", "admin"):
        response = await client.patch(
            URL,
            json={"config": {"greeting": f"Hallo from the {role}"}},
            headers=bearer(tokens[role]),
        )
        assert response.status_code == 200, response.text
    assert (await stored(db, world.shop.id)).lilli_config == {"greeting": "Hallo from the admin"}
    assert (await stored(db, world.other.id)).lilli_config == {}


async def test_cookie_patch_needs_the_web_apps_origin(client, world, tokens):
    headers = {"Cookie": f"{V4_COOKIE}={tokens['owner']}"}
    body = {"lilliEnabled": False}
    response = await client.patch(URL, json=body, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_rejected"
    response = await client.patch(
        URL, json=body, headers={**headers, "Origin": "http://localhost:3000"}
    )
    assert response.status_code == 200
    assert response.json()["lilliEnabled"] is False


# --- PATCH: merge semantics ----------------------------------------------------------------------


async def test_patch_merges(client, world, db, tokens):
    headers = bearer(tokens["owner"])

    async def patch(body: dict[str, Any]) -> dict[str, Any]:
        response = await client.patch(URL, json=body, headers=headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        assert (await client.get(URL, headers=headers)).json() == result
        return result

    result = await patch({"config": {"greeting": "Welkom!", "businessHours": HOURS}})
    assert result["config"]["greeting"] == "Welkom!"
    # Served whole: every weekday (closed ones empty).
    assert result["config"]["businessHours"] == {
        **HOURS,
        "weekly": {day: HOURS["weekly"].get(day, []) for day in WEEKDAYS},
        "closesOnPublicHolidays": False,
        "holidaySubdivision": None,
    }
    assert result["config"]["language"] == "en"

    # Only what is named changes; objects merge key by key; arrays are replaced.
    result = await patch(
        {"config": {"businessHours": {"weekly": {"sun": [["11:00", "15:00"]]}}, "language": "nl"}}
    )
    weekly = result["config"]["businessHours"]["weekly"]
    assert weekly["mon"] == HOURS["weekly"]["mon"]
    assert weekly["sun"] == [["11:00", "15:00"]]
    assert result["config"]["greeting"] == "Welkom!"
    assert result["config"]["language"] == "nl"

    # null removes a key (back to its default); lilliEnabled alone leaves the config be.
    result = await patch({"config": {"greeting": None}, "lilliEnabled": False})
    assert result["lilliEnabled"] is False
    assert result["config"]["greeting"] == DEFAULT_GREETING
    assert result["config"]["language"] == "nl"
    assert (await stored(db, world.shop.id)).lilli_enabled is False

    result = await patch({})
    assert result["lilliEnabled"] is False

    # "config": null resets the whole config.
    result = await patch({"config": None, "lilliEnabled": True})
    assert result == {"lilliEnabled": True, "config": DEFAULT_CONFIG}
    assert (await stored(db, world.shop.id)).lilli_config == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"config": {"colour": "pink"}}, "config.colour"),
        ({"config": {"greeting": "x" * 501}}, "config.greeting"),
        ({"config": {"greeting": ""}}, "config.greeting"),
        ({"config": {"language": "english please"}}, "config.language"),
        (
            {"config": {"businessHours": {"timezone": "Mars/Olympus"}}},
            "config.businessHours.timezone",
        ),
        (
            {"config": {"businessHours": {"weekly": {"mon": [["18:00", "09:00"]]}}}},
            "config.businessHours.weekly.mon[0]",
        ),
        (
            {"config": {"businessHours": {"weekly": {"tue": [["09:00", "25:00"]]}}}},
            "config.businessHours.weekly.tue[0][1]",
        ),
        (
            {"config": {"businessHours": {"closedDates": ["2026-12-25", "someday"]}}},
            "config.businessHours.closedDates[1]",
        ),
        ({"config": {"handoff": {"enabled": "yes"}}}, "config.handoff.enabled"),
        ({"config": {"handoff": {"afterMessages": 0}}}, "config.handoff.afterMessages"),
        ({"config": "friendly"}, "config"),
        ({"lilliEnabled": "yes"}, "lilliEnabled"),
        ({"lilliEnabled": None}, "lilliEnabled"),
        ({"greeting": "top-level"}, "greeting"),
    ],
)
async def test_bad_patches_are_422_with_the_path(client, world, db, tokens, body, field):
    response = await client.patch(URL, json=body, headers=bearer(tokens["owner"]))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [detail["field"] for detail in error["details"]] == [f"body.{field}"]
    shop = await stored(db, world.shop.id)
    assert shop.lilli_config == {} and shop.lilli_enabled is True


# --- the chat reads the config on every request --------------------------------------------


async def test_chat_sees_config_changes_at_once(client, world, db, tokens):
    owner = bearer(tokens["owner"])
    _, secret = await issue_key(db, world.shop, ["agent:chat"])
    chat_key = key_headers(secret)

    async def say_hello() -> Any:
        return await client.post("/api/ai/agent", json={"message": "hello"}, headers=chat_key)

    assert (await say_hello()).json()["reply"] == DEFAULT_GREETING
    await client.patch(URL, json={"config": {"greeting": "Goedemorgen!"}}, headers=owner)
    assert (await say_hello()).json()["reply"] == "Goedemorgen!"

    await client.patch(URL, json={"lilliEnabled": False}, headers=owner)
    response = await say_hello()
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "agent_disabled"
    await client.patch(URL, json={"lilliEnabled": True}, headers=owner)
    assert (await say_hello()).status_code == 200


async def test_config_broken_in_the_database_falls_back_to_defaults(client, world, db, tokens):
    shop = await stored(db, world.shop.id)
    shop.lilli_config = {"greeting": 42, "businessHours": "always"}
    await db.flush()
    response = await client.get(URL, headers=bearer(tokens["owner"]))
    assert response.status_code == 200
    assert response.json()["config"] == DEFAULT_CONFIG
    _, secret = await issue_key(db, world.shop, ["agent:chat"])
    response = await client.post(
        "/api/ai/agent", json={"message": "hi"}, headers=key_headers(secret)
    )
    assert response.json()["reply"] == DEFAULT_GREETING
    # PATCH validates the merged result, so the broken value is named and can be fixed.
    response = await client.patch(
        URL, json={"config": {"language": "nl"}}, headers=bearer(tokens["owner"])
    )
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert fields == {"body.config.greeting", "body.config.businessHours"}
    response = await client.patch(URL, json={"config": None}, headers=bearer(tokens["owner"]))
    assert response.status_code == 200
