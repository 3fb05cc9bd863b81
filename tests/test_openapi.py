"""The OpenAPI document is the contract: committed, complete, and true to the routes.

The document is built from the same declarations that enforce access (``Access``), so
these tests check what the builder adds and that nothing drifts from ``openapi.json``;
schemathesis (tests/test_schemathesis.py) checks the running app against it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient

ROOT = Path(__file__).resolve().parents[1]
ERROR_REF = {"$ref": "#/components/schemas/Error"}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(app: Any) -> dict[str, Any]:
    document: dict[str, Any] = app.openapi()
    return document


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_the_committed_document_is_the_apps(document: dict[str, Any]) -> None:
    committed = json.loads((ROOT / "openapi.json").read_text())
    assert committed == document, "openapi.json is stale: run `make openapi` and commit it"


def test_every_error_status_has_the_one_error_shape(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["Error"]["required"] == ["error"]
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                content = response["content"]["application/json"]["schema"]
                assert content == ERROR_REF, (method, path, status)
                assert response["description"], (method, path, status)


def test_api_routes_name_their_credentials_and_refusals(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {"sessionCookie", "sessionToken", "apiKey", "apiKeyHeader"}
    assert schemes["apiKeyHeader"] == {
        **schemes["apiKeyHeader"],
        "in": "header",
        "name": "X-API-Key",
    }
    checked = 0
    for method, path, operation in operations(document):
        if not path.startswith("/api/"):
            continue
        checked += 1
        assert {"401", "403", "429", "503"} <= set(operation["responses"]), (method, path)
        assert "**Access:**" in operation["description"], (method, path)
        if re.search(r"/webhook(/|$)", path):
            # Inbound webhooks authenticate by the sender's signature, not a scheme.
            assert "security" not in operation, (method, path)
            assert "signed by the sender" in operation["description"], (method, path)
            continue
        accepted = {name for requirement in operation["security"] for name in requirement}
        assert accepted and accepted <= set(schemes), (method, path)
    assert checked >= 20


def test_scopes_are_named_where_keys_are_accepted(document: dict[str, Any]) -> None:
    orders = document["paths"]["/api/ai/orders"]["get"]
    assert "`orders:read`" in orders["description"]
    keys = document["paths"]["/api/ai/keys"]["post"]
    assert {name for r in keys["security"] for name in r} == {"sessionCookie", "sessionToken"}


def test_statuses_follow_from_what_a_route_takes(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        statuses = set(operation["responses"])
        if "requestBody" in operation:
            assert {"413", "422"} <= statuses, (method, path)
            if set(operation["requestBody"]["content"]) == {"application/json"}:
                assert "415" in statuses, (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)
        if operation.get("parameters"):
            assert "422" in statuses, (method, path)


def test_every_operation_has_a_written_summary_and_description(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        summary = operation.get("summary", "")
        # FastAPI's generated summary is the function name in title case ("Get Rule").
        assert summary and not re.fullmatch(r"(?:[A-Z][a-z]+ ?)+", summary), (method, path)
        assert operation.get("description"), (method, path)


def test_constraints_the_code_enforces_are_in_the_schema(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    forms = schemas["EvaluateRequest"]["anyOf"]
    assert {"required": ["orderId"]} in forms and {"required": ["orderNumber"]} in forms
    cursor = next(
        p for p in document["paths"]["/api/ai/orders"]["get"]["parameters"] if p["name"] == "cursor"
    )
    assert "pattern" in json.dumps(cursor["schema"])


async def test_a_405_lists_every_method_of_the_path(client: AsyncClient) -> None:
    response = await client.put("/api/ai/routing/rules/some-rule")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PATCH"
    assert response.json()["error"]["code"] == "method_not_allowed"
    response = await client.put("/api/ai/keys")
    assert response.headers["allow"] == "GET, POST"
