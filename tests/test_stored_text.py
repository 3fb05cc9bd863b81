"""Input that passes a schema but that PostgreSQL, JSON or our serialisers cannot take is a
422 with the field's path, never a 500 (the probe found 27 such cases): one rule at the
edge for all text (``web.input_checks``). Bodies that are not UTF-8 are 415."""

from __future__ import annotations

import codecs
import json
from typing import Any

import pytest

from factories.agent import create_conversation
from factories.core import add_member, create_shop, create_user
from factories.routing import create_rule_row
from support.auth import bearer, database_session, issue_key, key_headers

NUL = "a\x00b"
ZONE = {"var": "deliveryZone"}


@pytest.fixture
async def world(db) -> dict[str, Any]:
    shop = await create_shop(db)
    owner = await create_user(db)
    await add_member(db, shop, owner)
    _, key = await issue_key(db, shop)
    conversation = await create_conversation(db, shop)
    rule = await create_rule_row(db, shop)
    return {
        "key": key_headers(key),
        "owner": bearer(await database_session(db, owner.id)),
        "conversation": str(conversation.id),
        "rule": str(rule.id),
    }


def rule(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "r",
        "conditions": {"==": [ZONE, "north"]},
        "action": {"type": "flag", "reason": "ok"},
    }
    body.update(overrides)
    return body


def message(**overrides: Any) -> dict[str, Any]:
    return {"messages": [{"role": "assistant", "content": "hi", **overrides}]}


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = {"x": value}
    return value


# (method, path template, who, raw body, the path the 422 names)
CASES = [
    ("POST", "/api/ai/routing/rules", "key", rule(name=NUL), "name"),
    (
        "POST",
        "/api/ai/routing/rules",
        "key",
        rule(conditions={"==": [ZONE, NUL]}),
        "conditions.==[1]",
    ),
    (
        "POST",
        "/api/ai/routing/rules",
        "key",
        rule(action={"type": "flag", "reason": NUL}),
        "action.reason",
    ),
    (
        "POST",
        "/api/ai/routing/rules",
        "key",
        rule(action={"type": "assign", "target": {"kind": "team", "id": "a"}, "note": NUL}),
        "action.note",
    ),
    ("PATCH", "/api/ai/routing/rules/{rule}", "key", {"name": NUL}, "name"),
    (
        "POST",
        "/api/ai/routing/rules",
        "key",
        rule(conditions={">": [{"var": "total"}, "NaN"]}),
        "conditions.>[1]",
    ),
    (
        "POST",
        "/api/ai/routing/rules",
        "key",
        rule(conditions={">": [{"var": "total"}, "Infinity"]}),
        "conditions.>[1]",
    ),
    (
        "POST",
        "/api/ai/routing/rules",
        "key",
        rule(conditions={"<": [{"var": "total"}, "-Infinity"]}),
        "conditions.<[1]",
    ),
    (
        "POST",
        "/api/ai/routing/rules",
        "key",
        rule(conditions={">": [{"var": "total"}, "1e400"]}),
        "conditions.>[1]",
    ),
    ("POST", "/api/ai/conversations", "key", {"title": NUL}, "title"),
    (
        "POST",
        "/api/ai/conversations/{conversation}/messages",
        "key",
        message(content=NUL),
        "messages[0].content",
    ),
    (
        "POST",
        "/api/ai/conversations/{conversation}/messages",
        "key",
        message(metadata={"note": NUL}),
        "messages[0].metadata.note",
    ),
    (
        "POST",
        "/api/ai/conversations/{conversation}/messages",
        "key",
        message(metadata={NUL: 1}),
        "messages[0].metadata.a\\x00b",
    ),
    (
        "POST",
        "/api/ai/conversations/{conversation}/messages",
        "key",
        message(metadata={"score": "NaN"}),
        "messages[0].metadata.score",
    ),
    (
        "POST",
        "/api/ai/conversations/{conversation}/messages",
        "key",
        message(metadata={"score": "1e400"}),
        "messages[0].metadata.score",
    ),
    (
        "POST",
        "/api/ai/conversations/{conversation}/messages",
        "key",
        message(metadata={"note": "\ud800"}),
        "messages[0].metadata.note",
    ),
    ("POST", "/api/ai/agent", "key", {"message": NUL}, "message"),
    ("POST", "/api/lilli/chat", "key", {"message": NUL}, "message"),
    ("POST", "/api/ai/agent", "stream", {"message": NUL}, "message"),
    ("PATCH", "/api/ai/agent/config", "owner", {"config": {"greeting": NUL}}, "config.greeting"),
    (
        "PATCH",
        "/api/ai/agent/config",
        "owner",
        {"config": {"handoff": {"keywords": ["ok", NUL]}}},
        "config.handoff.keywords[1]",
    ),
    ("POST", "/api/ai/keys", "owner", {"name": NUL, "scopes": ["routing:read"]}, "name"),
    (
        "POST",
        "/api/ai/routing/evaluate",
        "key",
        {"items": [{"productType": NUL}]},
        "items[0].productType",
    ),
]


def encode(body: Any) -> bytes:
    """JSON as a client library writes it; NaN, Infinity and 1e400 as bare tokens."""
    text = json.dumps(body)
    for token in ("NaN", "-Infinity", "Infinity", "1e400"):
        text = text.replace(f'"{token}"', token)
    return text.encode()


@pytest.mark.parametrize(
    ("method", "template", "who", "body", "field"),
    CASES,
    ids=[f"{c[0]} {c[1]} {c[4]}" for c in CASES],
)
async def test_text_no_table_could_store_is_422_with_its_path(
    client, world, method, template, who, body, field
):
    headers = {
        "key": world["key"],
        "owner": world["owner"],
        "stream": {**world["key"], "Accept": "text/event-stream"},
    }[who]
    response = await client.request(
        method,
        template.format(**world),
        content=encode(body),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert f"body.{field}" in [detail["field"] for detail in details], details


async def test_nesting_deeper_than_the_limit_is_422_at_the_depth_it_broke(client, world):
    path = f"/api/ai/conversations/{world['conversation']}/messages"
    response = await client.post(path, json=message(metadata=nested(256)), headers=world["key"])
    assert response.status_code == 422
    (detail,) = response.json()["error"]["details"]
    assert detail["field"].startswith("body.messages[0].metadata.x.x.x")
    assert "nested deeper than 64" in detail["message"]
    shallow = await client.post(path, json=message(metadata=nested(10)), headers=world["key"])
    assert shallow.status_code == 201


async def test_a_nul_in_a_query_value_is_422(client, world):
    response = await client.get("/api/ai/customers?name=a%00b", headers=world["key"])
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "query.name"


@pytest.mark.parametrize(
    ("encoding", "content_type"),
    [
        ("utf-16", "application/json"),
        ("utf-16-le", "application/json"),
        ("utf-32", "application/json"),
        ("utf-8-sig", "application/json"),
        ("utf-8", "application/json; charset=latin-1"),
    ],
)
async def test_a_body_that_is_not_utf8_is_415(client, world, encoding, content_type):
    body = json.dumps({"title": "Bloemen"}).encode(encoding)
    if encoding == "utf-8-sig":
        assert body.startswith(codecs.BOM_UTF8)
    response = await client.post(
        "/api/ai/conversations",
        content=body,
        headers={**world["key"], "Content-Type": content_type},
    )
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_media_type"


async def test_invalid_utf8_bytes_are_415(client, world):
    response = await client.post(
        "/api/ai/conversations",
        content=b'{"title": "\xff\xfe bad"}',
        headers={**world["key"], "Content-Type": "application/json"},
    )
    assert response.status_code == 415


async def test_ordinary_text_is_untouched(client, world):
    text = "Rozen 🌹 für Oma — ‘café’ \\u0000 as characters, NaN as a word, 1e400 in prose"
    response = await client.post(
        "/api/ai/conversations", json={"title": text}, headers=world["key"]
    )
    assert response.status_code == 201, response.text
    assert response.json()["title"] == text
