"""A voice world for tests: a shop with a customer and its voice integrations, and the
deliveries each provider sends about a call (signed by support/signing.py)."""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

from sqlalchemy import func, select

from bloomer_ai.config import WebhookSettings
from factories.integrations import DEFAULT_SECRETS

BASE = "http://testserver"
TWILIO_TOKEN = DEFAULT_SECRETS["twilio"]["authToken"]
VAPI_SECRET = DEFAULT_SECRETS["vapi"]["serverSecret"]
LILLI_SECRET = DEFAULT_SECRETS["lilli"]["webhookSecret"]
SHOP_NUMBER = "+31201234567"
CALLER = "+31612345678"
_SEQUENCE = itertools.count()  # Vapi names a message by call, type and timestamp


PLATFORM_TWILIO = "platform-twilio-token-31c7"
PLATFORM_VAPI = "platform-vapi-secret-8d02"
PLATFORM_VOICE = "whsec_cGxhdGZvcm0tdm9pY2UtbGlsbGktc2VjcmV0"


def voice_webhooks(**overrides: Any) -> WebhookSettings:
    """The platform's voice secrets set (the platform route on)."""
    values: dict[str, Any] = {
        "twilio_auth_token": PLATFORM_TWILIO,
        "vapi_server_secret": PLATFORM_VAPI,
        "voice_webhook_secret": PLATFORM_VOICE,
        "_env_file": None,
    }
    values.update(overrides)
    return WebhookSettings(**values)


def voice_url(integration: Any = None) -> str:
    return f"/api/ai/voice/webhook/{integration.id}" if integration else "/api/ai/voice/webhook"


async def count(db: Any, model: Any, shop: Any) -> int:
    statement = select(func.count()).select_from(model).where(model.shop_id == shop.id)
    return int(await db.scalar(statement))


def vapi_call(call_id: str | None = None) -> dict[str, Any]:
    return {
        "id": call_id or f"call_{uuid.uuid4().hex}",
        "orgId": "org_1",
        "type": "inboundPhoneCall",
        "createdAt": "2026-12-07T10:00:00.000Z",
        "updatedAt": "2026-12-07T10:00:00.000Z",
    }


def vapi(message_type: str, call: dict[str, Any], **message: Any) -> dict[str, Any]:
    """A Vapi server message as its docs show it (VAPI.md §2-§6)."""
    return {
        "message": {
            "type": message_type,
            "timestamp": int(time.time() * 1000) + next(_SEQUENCE),
            "call": call,
            "customer": {"number": CALLER},
            "phoneNumber": {"number": SHOP_NUMBER},
            **message,
        }
    }


def vapi_tool_calls(
    call: dict[str, Any], *tools: tuple[str, dict[str, Any] | str]
) -> dict[str, Any]:
    listed = [
        {
            "id": f"toolu_{uuid.uuid4().hex[:12]}",
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }
        for name, arguments in tools
    ]
    return vapi(
        "tool-calls",
        call,
        toolCallList=listed,
        toolWithToolCallList=[
            {"type": "function", "function": {"name": t["function"]["name"]}, "toolCall": t}
            for t in listed
        ],
    )


def lilli(kind: str, call_id: str, **data: Any) -> dict[str, Any]:
    """An event of our Lilli voice contract (docs/voice.md)."""
    return {
        "type": kind,
        "callId": call_id,
        "direction": "inbound",
        "callerNumber": CALLER,
        "calledNumber": SHOP_NUMBER,
        "data": data,
    }
