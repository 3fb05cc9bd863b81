"""Zendesk: ``X-Zendesk-Webhook-Signature`` = base64 HMAC-SHA256 of timestamp + body, with
``X-Zendesk-Webhook-Signature-Timestamp``; the invocation id for repeats. Two kinds of body:
an event subscription (``{"type": "zen:event-type:ticket.created", "detail": {…}}``) —
``ticket.created`` → ``ticket.created``, ``ticket.comment_added`` → ``message.created``,
``ticket.status_changed`` to solved/closed → ``conversation.closed`` — or a trigger's JSON
body template written in our own contract (docs/support.md), read as Lilli's is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bloomer_ai.integrations.inbound.handlers import Provider
from bloomer_ai.support.providers.base import MappedEvent, SignedBy, at, text_or_none
from bloomer_ai.support.providers.lilli import parse_contract

EVENT_PREFIX = "zen:event-type:"
VIA_CHANNELS: dict[str, str] = {
    "email": "email",
    "web": "chat",
    "chat": "chat",
    "native_messaging": "chat",
    "api": "chat",
    "sms": "sms",
    "voice": "voice",
    "whatsapp": "whatsapp",
    "facebook": "social",
    "twitter": "social",
    "instagram_dm": "social",
}


def _type(name: str, detail: Mapping[str, Any]) -> str:
    if name == "ticket.created":
        return "ticket.created"
    if name == "ticket.comment_added":
        return "message.created"
    if name == "ticket.status_changed" and str(detail.get("status", "")).upper() in {
        "SOLVED",
        "CLOSED",
    }:
        return "conversation.closed"
    return f"zendesk.{name or 'unknown'}"[:64]


class Zendesk(SignedBy):
    name: Provider = "zendesk"

    def to_event(self, payload: Mapping[str, Any]) -> MappedEvent:
        kind = str(payload.get("type") or "")
        if not kind.startswith(EVENT_PREFIX):
            return parse_contract(payload)  # a trigger's body in our contract
        name = kind.removeprefix(EVENT_PREFIX)
        detail = payload.get("detail") if isinstance(payload.get("detail"), Mapping) else {}
        assert isinstance(detail, Mapping)
        via = str(at(detail, "via", "channel") or "").lower()
        facts: dict[str, Any] = {"event": name[:64]}
        for key in ("status", "priority"):
            if (value := text_or_none(detail.get(key), 32)) is not None:
                facts[key] = value
        if name == "ticket.created" and (subject := text_or_none(detail.get("subject"))):
            facts["subject"] = subject
        return MappedEvent(
            type=_type(name, detail),
            channel=VIA_CHANNELS.get(via),
            conversation_id=text_or_none(detail.get("id")),
            email=text_or_none(at(detail, "requester", "email")),
            facts=facts,
        )


PROVIDER = Zendesk()
