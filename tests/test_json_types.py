"""Request bodies take JSON's types as they are: a boolean is `true` or `false` (not 1 or
"true"), a number is a number (not "10", not `false`), as the document's schema says. A
lax reading would accept what the contract refuses (schemathesis found it on products)."""

from __future__ import annotations

from typing import Any

import pytest

from bloomer_ai.auth.scopes import ALL_SCOPES
from factories.core import create_shop
from support.auth import issue_key, key_headers

RULE_ACTION = {"type": "flag", "reason": "big"}
CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    # (route, a good body, the same body with one value of the wrong JSON type, its field)
    (
        "/api/ai/routing/rules",
        {"name": "big", "conditions": {"==": [1, 1]}, "action": RULE_ACTION, "enabled": True},
        {"enabled": 1},
        "body.enabled",
    ),
    (
        "/api/ai/routing/rules",
        {"name": "big", "conditions": {"==": [1, 1]}, "action": RULE_ACTION, "priority": 10},
        {"priority": "10"},
        "body.priority",
    ),
    (
        "/api/ai/routing/evaluate",
        {"items": [{"productType": "bouquet", "quantity": 2, "unitPrice": 100}]},
        {"items": [{"productType": "bouquet", "quantity": "2", "unitPrice": 100}]},
        "body.items[0].quantity",
    ),
    (
        "/api/ai/webhooks/endpoints",
        {"url": "https://hooks.example.com/bloomer", "enabled": False},
        {"enabled": "false"},
        "body.enabled",
    ),
    (
        "/api/ai/support/rules",
        {
            "name": "vip",
            "conditions": {"==": [{"var": "type"}, "ticket.created"]},
            "actions": [{"type": "create_task", "title": "Handoff"}],
            "stopOnMatch": True,
        },
        {"stopOnMatch": 1},
        "body.stopOnMatch",
    ),
    ("/api/ai/campaigns/suggest", {"limit": 2}, {"limit": False}, "body.limit"),
]


@pytest.mark.parametrize(("path", "good", "wrong", "field"), CASES)
async def test_a_value_of_another_json_type_is_422_and_the_right_one_is_not(
    client, db, path: str, good: dict[str, Any], wrong: dict[str, Any], field: str
) -> None:
    shop = await create_shop(db)
    _, key = await issue_key(db, shop, sorted(ALL_SCOPES))
    refused = await client.post(path, json={**good, **wrong}, headers=key_headers(key))
    assert refused.status_code == 422, refused.text
    assert field in [detail["field"] for detail in refused.json()["error"]["details"]]
    accepted = await client.post(path, json=good, headers=key_headers(key))
    assert accepted.status_code in (200, 201), accepted.text
