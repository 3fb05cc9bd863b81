"""Voice webhook scenarios: a Vapi delivery through its integration, new every time.

``voice_webhook`` is the whole intake of a delivery: the integration looked up and its
secret opened, the credential checked (``X-Vapi-Secret``), the shop bound and
rate-limited, the inbox row claimed (dedupe), the call created and its event stored, the
answer recorded and sent. Its yardstick, ``bare_webhook``, is a bare FastAPI POST that
inserts one inbox row in a transaction with the shop setting (bench/bare_app.py). Each
request carries a new call id (the load generator's sequence mark), so neither is a repeat.

``voice_tool_calls`` is a Vapi ``tool-calls`` round trip (one tool call per message): the
intake as above, then the tool run inline and its result answered; p50/p99 are the
figures Vapi's timeout is measured against.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from bench.database import BenchContext
from bench.loadgen import SEQUENCE_MARK
from bench.scenarios import Prepared, Scenario, register

SECRET = "bench-vapi-server-secret-5be1"
MARK = SEQUENCE_MARK.decode()


def _message(kind: str, **fields: Any) -> bytes:
    return json.dumps(
        {
            "message": {
                "type": kind,
                "timestamp": int(time.time() * 1000),
                "call": {"id": f"call_{MARK}", "orgId": "org_bench", "type": "inboundPhoneCall"},
                "customer": {"number": "+31612345678"},
                **fields,
            }
        }
    ).encode()


async def _vapi_integration(ctx: BenchContext) -> tuple[str, str]:

    from bloomer_ai.integrations.schemas import IntegrationCreate
    from bloomer_ai.integrations.service import create_integration
    from bloomer_ai.shops.service import create_shop

    shop = await ctx.run(lambda session: create_shop(session, name="Bench voice florist"))
    body = IntegrationCreate.model_validate(
        {"provider": "vapi", "kind": "voice", "secrets": {"serverSecret": SECRET}}
    )
    keyring = ctx.settings.auth.keyring()
    integration = await ctx.run(
        lambda session: create_integration(session, body, keyring), shop_id=shop.id
    )
    return str(shop.id), str(integration.id)


async def _webhook(ctx: BenchContext) -> Prepared:
    _, integration_id = await _vapi_integration(ctx)
    return Prepared(
        path=f"/api/ai/voice/webhook/{integration_id}",
        headers={"X-Vapi-Secret": SECRET, "Content-Type": "application/json"},
        body=_message("status-update", status="in-progress"),
    )


async def _bare_webhook(ctx: BenchContext) -> Prepared:
    shop_id, _ = await _vapi_integration(ctx)
    return Prepared(
        path=f"/db/webhook/{shop_id}",
        headers={"Content-Type": "application/json"},
        body=_message("status-update", status="in-progress"),
    )


async def _tool_calls(ctx: BenchContext) -> Prepared:
    _, integration_id = await _vapi_integration(ctx)
    call = {"id": f"tool_{uuid.uuid4().hex[:8]}", "type": "function"}
    call["function"] = {"name": "opening_hours", "arguments": "{}"}
    return Prepared(
        path=f"/api/ai/voice/webhook/{integration_id}",
        headers={"X-Vapi-Secret": SECRET, "Content-Type": "application/json"},
        body=_message("tool-calls", toolCallList=[call], toolWithToolCallList=[]),
    )


register(
    Scenario(
        "bare_webhook",
        "POST",
        "/db/webhook/{shop}",
        setup=_bare_webhook,
        description="bare FastAPI POST: the body's hash, one inbox row inserted, `{}`",
        app="bare",
    )
)

register(
    Scenario(
        "voice_webhook",
        "POST",
        "/api/ai/voice/webhook/{id}",
        setup=_webhook,
        description="a Vapi status-update, new call each time: verify, shop, inbox, call "
        "and event stored, answer recorded",
        compare_to="bare_webhook",
    )
)

register(
    Scenario(
        "voice_tool_calls",
        "POST",
        "/api/ai/voice/webhook/{id}",
        setup=_tool_calls,
        description="a Vapi tool-calls message (opening_hours), new call each time: the "
        "intake, the tool run inline, its result answered",
        compare_to="voice_webhook",
    )
)
