"""Chatwoot (4.11+, which signs its webhooks): ``X-Chatwoot-Signature: sha256=<hex>`` over
``"{X-Chatwoot-Timestamp}.{body}"``, ``X-Chatwoot-Delivery`` for repeats. Its events map
onto ours: ``conversation_created`` → ``conversation.created``; ``message_created`` →
``message.created``; ``conversation_status_changed`` to ``open`` (a bot handing over to
people) → ``handoff.requested``, to ``resolved`` → ``conversation.closed``; a CSAT answer
(``message_updated`` with ``csat_survey_response``) → ``csat.submitted``. Anything else is
kept under its own name, prefixed ``chatwoot.``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bloomer_ai.integrations.inbound.handlers import Provider
from bloomer_ai.support.providers.base import MappedEvent, SignedBy, at, text_or_none

CHANNELS: dict[str, str] = {
    "Channel::WebWidget": "chat",
    "Channel::Api": "chat",
    "Channel::Email": "email",
    "Channel::Sms": "sms",
    "Channel::TwilioSms": "sms",
    "Channel::Whatsapp": "whatsapp",
    "Channel::FacebookPage": "social",
    "Channel::Instagram": "social",
    "Channel::TwitterProfile": "social",
    "Channel::Telegram": "social",
    "Channel::Line": "social",
    "Channel::Voice": "voice",
}


def _conversation(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The conversation object: the payload itself for conversation events, its
    ``conversation`` for message events."""
    inner = payload.get("conversation")
    return inner if isinstance(inner, Mapping) else payload


def _channel(conversation: Mapping[str, Any]) -> str | None:
    name = conversation.get("channel")
    channel = CHANNELS.get(str(name)) if name else None
    if channel == "sms" and str(at(conversation, "additional_attributes", "medium")) == "whatsapp":
        return "whatsapp"  # Twilio's channel carries WhatsApp too
    return channel


def _type(event: str, payload: Mapping[str, Any]) -> str:
    if event == "conversation_created":
        return "conversation.created"
    if event == "message_created":
        return "message.created"
    if event == "conversation_status_changed":
        status = payload.get("status")
        if status == "open":
            return "handoff.requested"
        if status == "resolved":
            return "conversation.closed"
    if event == "message_updated" and _csat_rating(payload) is not None:
        return "csat.submitted"
    return f"chatwoot.{event or 'unknown'}"[:64]


def _csat_rating(payload: Mapping[str, Any]) -> int | None:
    rating = at(payload, "content_attributes", "submitted_values", "csat_survey_response", "rating")
    return rating if isinstance(rating, int) and 1 <= rating <= 5 else None


class Chatwoot(SignedBy):
    name: Provider = "chatwoot"

    def to_event(self, payload: Mapping[str, Any]) -> MappedEvent:
        event = str(payload.get("event") or "")
        conversation = _conversation(payload)
        sender = at(conversation, "meta", "sender")
        if not isinstance(sender, Mapping):
            sender = payload.get("sender") if isinstance(payload.get("sender"), Mapping) else {}
        facts: dict[str, Any] = {"event": event[:64]}
        if event == "message_created":
            facts["direction"] = (
                "inbound" if payload.get("message_type") == "incoming" else "outbound"
            )
            facts["private"] = bool(payload.get("private"))
            facts["textLength"] = len(str(payload.get("content") or ""))
        if (status := text_or_none(conversation.get("status"), 32)) is not None:
            facts["status"] = status
        kind = _type(event, payload)
        return MappedEvent(
            type=kind,
            channel=_channel(conversation),
            conversation_id=text_or_none(conversation.get("id")),
            phone=text_or_none(at(sender, "phone_number")),
            email=text_or_none(at(sender, "email")),
            csat_score=_csat_rating(payload) if kind == "csat.submitted" else None,
            facts=facts,
        )


PROVIDER = Chatwoot()
