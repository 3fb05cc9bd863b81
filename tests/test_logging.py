"""Logging: one request line per request, and no personal data or secret in any line."""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog
from fastapi import APIRouter, Request
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel
from sqlalchemy import text

from bloomer_ai.logging import REDACTED, configure_logging, redact
from bloomer_ai.web.routes import JsonRoute
from bloomer_ai.web.unit_of_work import ShopSession as DbSession

PHONE_E164 = "+31612345678"
PHONE_LOCAL = "06 1234 5678"
PHONE_DIGITS = ("612345678", "12345678", "1234 5678")
EMAIL = "anna.jansen@example.com"


class Lookup(BaseModel):
    email: str
    phone: str
    message: str


def careless_router() -> APIRouter:
    """A handler that logs everything it receives, as a hurried one might."""
    router = APIRouter(prefix="/test-log", route_class=JsonRoute)
    log = structlog.get_logger("bloomer_ai.test")

    @router.post("/lookup")
    async def lookup(request: Request, body: Lookup, phone: str) -> dict[str, bool]:
        log.info(
            "lookup_requested",
            phone=phone,
            caller=phone,
            body=body.model_dump(),
            headers=dict(request.headers),
            note=f"customer {body.email} called from {phone}",
        )
        logging.getLogger("thirdparty.sdk").warning("calling %s for %s", phone, body.email)
        return {"ok": True}

    return router


@pytest.fixture
async def log_client(app: Any) -> AsyncIterator[AsyncClient]:
    app.include_router(careless_router())
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def send_personal_request(client: AsyncClient, request_id: str, token: str) -> None:
    response = await client.post(
        "/test-log/lookup",
        params={"phone": PHONE_E164},
        json={
            "email": EMAIL,
            "phone": PHONE_LOCAL,
            "message": f"Please call me on {PHONE_LOCAL} or mail {EMAIL}",
        },
        headers={
            "Authorization": f"Bearer {token}",
            "X-Request-ID": request_id,
            "Cookie": f"next-auth.session-token={token}",
        },
    )
    assert response.status_code == 200, response.text


def assert_no_personal_data(output: str, token: str) -> None:
    for digits in PHONE_DIGITS:
        assert digits not in output
    assert EMAIL not in output
    assert "anna.jansen" not in output
    assert token not in output
    assert token[:12] not in output


@pytest.mark.usefixtures("restore_logging")
async def test_json_logs_have_a_request_line_and_no_personal_data(
    log_client: AsyncClient,
) -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", json_output=True, stream=stream)
    request_id = f"log-test-{secrets.token_hex(6)}"
    token = f"sess{secrets.token_hex(20)}"

    await send_personal_request(log_client, request_id, token)

    output = stream.getvalue()
    events = [json.loads(line) for line in output.splitlines() if line.strip()]
    requests = [e for e in events if e.get("event") == "request"]
    assert len(requests) == 1, output
    line = requests[0]
    assert line["method"] == "POST"
    assert line["route"] == "/test-log/lookup"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], int | float) and line["duration_ms"] >= 0
    assert line["request_id"] == request_id
    assert line["level"] == "info"
    assert "timestamp" in line

    # The careless handler's lines were written, but masked.
    handler_line = next(e for e in events if e.get("event") == "lookup_requested")
    assert handler_line["phone"] == REDACTED
    assert handler_line["caller"] == "[PHONE]"
    assert handler_line["body"]["email"] == REDACTED
    assert handler_line["headers"]["authorization"] == REDACTED
    assert "[EMAIL]" in handler_line["note"] and "[PHONE]" in handler_line["note"]
    library_line = next(e for e in events if "calling" in str(e.get("event")))
    assert library_line["event"] == "calling [PHONE] for [EMAIL]"
    assert_no_personal_data(output, token)


@pytest.mark.usefixtures("restore_logging")
async def test_request_lines_carry_the_error_code_of_an_error_answer(
    log_client: AsyncClient,
) -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", json_output=True, stream=stream)
    await log_client.post("/test-log/lookup?phone=1", json={"email": "x"})  # 422
    await log_client.get("/no-such-route")  # 404
    await log_client.get("/healthz")  # 200
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    codes = [(e["status"], e.get("error_code")) for e in lines if e.get("event") == "request"]
    assert codes == [(422, "validation_error"), (404, "not_found"), (200, None)]


@pytest.mark.usefixtures("restore_logging")
async def test_console_logs_have_a_request_line_and_no_personal_data(
    log_client: AsyncClient,
) -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", json_output=False, stream=stream)
    request_id = f"log-test-{secrets.token_hex(6)}"
    token = f"sess{secrets.token_hex(20)}"

    await send_personal_request(log_client, request_id, token)

    output = stream.getvalue()
    request_lines = [line for line in output.splitlines() if f"request_id={request_id}" in line]
    assert len(request_lines) == 1, output
    line = request_lines[0]
    assert " request " in f" {line} "
    assert "method=POST" in line
    assert "route=/test-log/lookup" in line
    assert "status=200" in line
    assert "duration_ms=" in line
    assert "lookup_requested" in output
    assert "calling [PHONE] for [EMAIL]" in output
    assert_no_personal_data(output, token)


@pytest.mark.usefixtures("restore_logging")
async def test_log_level_filters_lines(log_client: AsyncClient) -> None:
    stream = io.StringIO()
    configure_logging(level="WARNING", json_output=True, stream=stream)
    token = f"sess{secrets.token_hex(20)}"
    await send_personal_request(log_client, "log-level-test", token)
    events = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    assert [e["event"] for e in events] == ["calling [PHONE] for [EMAIL]"]


@pytest.mark.usefixtures("restore_logging")
def test_exceptions_in_logs_are_redacted_too() -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", json_output=True, stream=stream)
    log = structlog.get_logger("bloomer_ai.test")
    try:
        raise ValueError(f"no customer with phone {PHONE_E164} or e-mail {EMAIL}")
    except ValueError:
        log.exception("lookup_failed")
    output = stream.getvalue()
    assert "lookup_failed" in output
    assert "ValueError" in output
    assert_no_personal_data(output, "unused-token-value")


# --- redact, unit by unit -----------------------------------------------------------------


def run_redact(**event: Any) -> dict[str, Any]:
    return dict(redact(None, "info", dict(event)))


def test_redact_masks_nested_structures() -> None:
    event = run_redact(
        event="customer_synced",
        customer={
            "profile": {"phone": PHONE_E164, "name": "Anna", "orders": 3},
            "notes": [f"mail {EMAIL}", {"contact": f"call {PHONE_LOCAL}"}, 42],
            "tags": ("vip", f"ph {PHONE_E164}"),
        },
    )
    customer = event["customer"]
    assert customer["profile"] == {"phone": REDACTED, "name": "Anna", "orders": 3}
    assert customer["notes"] == ["mail [EMAIL]", {"contact": "call [PHONE]"}, 42]
    assert customer["tags"] == ["vip", "ph [PHONE]"]
    assert event["event"] == "customer_synced"


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "db_password",
        "client_secret",
        "session_token",
        "Authorization",
        "x-api-key",
        "api_key",
        "cookie",
        "webhook_signature",
        "credentials",
        "pepper",
    ],
)
def test_redact_masks_values_of_secret_named_keys(key: str) -> None:
    for value in ("plain-value-123", {"nested": "x"}, ["a", "b"], 12345):
        event = run_redact(**{key: value, "nested": {key: value}})
        assert event[key] == REDACTED, (key, value)
        assert event["nested"][key] == REDACTED, (key, value)


def test_redact_masks_api_keys_anywhere() -> None:
    key = "blm_live_AbC123xyz_987654"
    event = run_redact(event=f"auth with {key}", detail={"used": [key]}, header=f"X-API-Key: {key}")
    text = json.dumps(event)
    assert key not in text
    assert "AbC123xyz" not in text
    assert event["event"] == "auth with blm_[REDACTED]"
    assert event["detail"]["used"] == ["blm_[REDACTED]"]


def test_redact_masks_jwt_looking_strings() -> None:
    jwt = (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFubmEifQ."
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    )
    jwe = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..qwerty123.ciphertext-abc.tag_xyz"
    event = run_redact(event=f"session {jwt}", other=[f"cookie value {jwe}"])
    assert jwt not in json.dumps(event)
    assert "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV" not in json.dumps(event)
    assert "ciphertext-abc" not in json.dumps(event)
    assert event["event"] == "session [JWT]"


def test_redact_masks_bearer_tokens_and_webhook_secrets() -> None:
    event = run_redact(
        event="outgoing",
        header="Bearer opaque-token-value.123",
        secret_hint="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    )
    assert event["header"] == "Bearer [REDACTED]"
    assert event["secret_hint"] == REDACTED
    assert "MfKQ9r8" not in run_redact(event="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")["event"]


def test_redact_keeps_ids_numbers_and_addresses() -> None:
    event = run_redact(
        event="request",
        request_id="0f2c9a7d",
        route="/api/ai/conversations/{conversation_id}",
        status=404,
        duration_ms=12.5,
        shop_id="019367a2-7c1e-7d3a-9f00-1b2c3d4e5f60",
        client="127.0.0.1",
        attempts=3,
        ok=True,
        missing=None,
    )
    assert event == {
        "event": "request",
        "request_id": "0f2c9a7d",
        "route": "/api/ai/conversations/{conversation_id}",
        "status": 404,
        "duration_ms": 12.5,
        "shop_id": "019367a2-7c1e-7d3a-9f00-1b2c3d4e5f60",
        "client": "127.0.0.1",
        "attempts": 3,
        "ok": True,
        "missing": None,
    }


@pytest.mark.parametrize(
    "phone",
    ["+31 6 1234 5678", "+31612345678", "0612345678", "(415) 555-0100", "06-12345678"],
)
def test_redact_masks_common_phone_spellings(phone: str) -> None:
    event = run_redact(event=f"call from {phone} received")
    assert event["event"] == "call from [PHONE] received"


# --- what an unhandled error writes (issue: secrets in development logs) -------------------

LOCAL_SECRET = "plain-local-value-7f3a9c"  # matches no redaction pattern: only locals hold it
API_KEY = "blm_abcdefghjk_" + "S" * 43
PHONE_IN_REQUEST = "+31 6 9876 5432"


def failing_router() -> APIRouter:
    router = APIRouter(prefix="/test-fail", route_class=JsonRoute)

    @router.get("/boom")
    async def boom(request: Request) -> dict[str, str]:
        secret_local = LOCAL_SECRET  # a local variable a rich traceback would print
        authorization = request.headers["authorization"]
        phone = request.query_params["phone"]
        raise RuntimeError(f"could not call {phone} with {authorization} ({len(secret_local)})")

    @router.get("/bad-value")
    async def bad_value(session: DbSession) -> dict[str, str]:
        # PostgreSQL quotes the value it refuses in its message; SQLAlchemy adds parameters.
        await session.execute(text("select cast(:value as integer)"), {"value": LOCAL_SECRET})
        return {"unreachable": "yes"}

    return router


@pytest.fixture
async def failing_client(app: Any) -> AsyncIterator[AsyncClient]:
    app.include_router(failing_router())
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("json_output", [True, False], ids=["json", "console"])
async def test_an_unhandled_error_logs_no_key_phone_or_local_variable(
    failing_client: AsyncClient, json_output: bool
) -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", json_output=json_output, stream=stream)
    response = await failing_client.get(
        "/test-fail/boom",
        params={"phone": PHONE_IN_REQUEST},
        headers={"Authorization": f"Bearer {API_KEY}", "X-API-Key": API_KEY},
    )
    assert response.status_code == 500
    output = stream.getvalue()
    assert "unhandled_error" in output and "RuntimeError" in output
    assert "Traceback (most recent call last)" in output  # the error is still traceable
    assert API_KEY not in output and API_KEY[4:14] not in output
    assert "9876" not in output
    assert LOCAL_SECRET not in output


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("json_output", [True, False], ids=["json", "console"])
async def test_a_database_error_logs_no_statement_parameter_or_quoted_value(
    failing_client: AsyncClient, json_output: bool
) -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", json_output=json_output, stream=stream)
    response = await failing_client.get("/test-fail/bad-value")
    assert response.status_code == 500
    output = stream.getvalue()
    assert "InvalidTextRepresentation" in output and "sqlstate=22P02" in output
    assert LOCAL_SECRET not in output
    assert "[parameters:" not in output


def test_a_traceback_is_plain_and_keeps_the_chain() -> None:
    from bloomer_ai.logging import format_exception

    def inner(secret: str) -> None:
        raise KeyError("inner")

    try:
        try:
            inner(LOCAL_SECRET)
        except KeyError as exc:
            raise ValueError("outer") from exc
    except ValueError as exc:
        text_ = format_exception(exc)
    assert text_.index("KeyError") < text_.index("direct cause") < text_.index("ValueError: outer")
    assert "raise KeyError" in text_  # the frame's code line
    assert LOCAL_SECRET not in text_


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("json_output", [True, False], ids=["json", "console"])
def test_the_servers_own_traceback_carries_no_local_variable(json_output: bool) -> None:
    """uvicorn logs an exception that escaped the app through the standard library logger,
    with exc_info: the path where a rich traceback would print every frame's locals."""
    stream = io.StringIO()
    configure_logging(level="INFO", json_output=json_output, stream=stream)

    def handler(headers: dict[str, str]) -> None:
        secret_local = LOCAL_SECRET
        raise RuntimeError(f"failed for {headers['authorization']} ({len(secret_local)})")

    try:
        handler({"authorization": f"Bearer {API_KEY}", "x-caller": PHONE_IN_REQUEST})
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    output = stream.getvalue()
    assert "Exception in ASGI application" in output and "RuntimeError" in output
    assert LOCAL_SECRET not in output
    assert API_KEY not in output and "9876" not in output
