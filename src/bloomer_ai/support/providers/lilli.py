"""Lilli, and any bot speaking our contract (docs/support.md): Standard Webhooks (or an
API key with ``support:events``), a JSON body ``{type, channel, conversationId,
customer: {phone, email}, data}``. Known types are checked against their schema (a fault is
``422`` with its path); unknown types are kept as they are named."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from bloomer_ai.errors import ValidationFailed
from bloomer_ai.integrations.inbound.handlers import Provider
from bloomer_ai.support.providers.base import (
    CHANNELS,
    EVENT_TYPES,
    MAX_SUMMARY,
    MappedEvent,
    SignedBy,
    text_or_none,
)

Channel = Literal["chat", "email", "sms", "whatsapp", "voice", "social"]


class _Contract(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_alias=True, extra="allow")


class CustomerRef(_Contract):
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)


class Envelope(_Contract):
    """What every event of the contract carries."""

    type: str = Field(min_length=1, max_length=64)
    channel: Channel
    conversation_id: str = Field(min_length=1, max_length=200)
    shop_id: str | None = None
    occurred_at: str | None = None
    customer: CustomerRef | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class ConversationCreated(_Contract):
    summary: str | None = Field(default=None, max_length=MAX_SUMMARY)


class MessageCreated(_Contract):
    direction: Literal["inbound", "outbound"]
    text: str | None = Field(default=None, max_length=20_000)
    summary: str | None = Field(default=None, max_length=MAX_SUMMARY)


class ConversationClosed(_Contract):
    resolution: Literal["resolved", "abandoned", "handed_off"] | None = None
    summary: str | None = Field(default=None, max_length=MAX_SUMMARY)


class HandoffRequested(_Contract):
    reason: str | None = Field(default=None, max_length=200)
    summary: str | None = Field(default=None, max_length=MAX_SUMMARY)


class TicketCreated(_Contract):
    ticket_id: str | None = Field(default=None, max_length=200)
    subject: str | None = Field(default=None, max_length=200)
    summary: str | None = Field(default=None, max_length=MAX_SUMMARY)


class CsatSubmitted(_Contract):
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=MAX_SUMMARY)


DATA_SCHEMAS: dict[str, type[_Contract]] = {
    "conversation.created": ConversationCreated,
    "message.created": MessageCreated,
    "conversation.closed": ConversationClosed,
    "handoff.requested": HandoffRequested,
    "ticket.created": TicketCreated,
    "csat.submitted": CsatSubmitted,
}
assert tuple(DATA_SCHEMAS) == EVENT_TYPES
assert Channel.__args__ == CHANNELS  # type: ignore[attr-defined]


def _invalid(error: ValidationError, prefix: str) -> ValidationFailed:
    details = []
    for fault in error.errors(include_url=False):
        path = prefix
        for part in fault["loc"]:
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
        details.append({"field": path, "message": fault["msg"], "type": fault["type"]})
    return ValidationFailed("The support event is not valid.", details=details)


def parse_contract(payload: Mapping[str, Any]) -> MappedEvent:
    """Our contract's event; ``ValidationFailed`` (422, with ``body.…`` paths) when a
    known type does not have its shape."""
    try:
        envelope = Envelope.model_validate(payload)
    except ValidationError as exc:
        raise _invalid(exc, "body") from None
    facts: dict[str, Any] = {}
    summary: str | None = None
    score: int | None = None
    schema = DATA_SCHEMAS.get(envelope.type)
    if schema is not None:
        try:
            data = schema.model_validate(envelope.data)
        except ValidationError as exc:
            raise _invalid(exc, "body.data") from None
        summary = getattr(data, "summary", None)
        if isinstance(data, MessageCreated):
            facts["direction"] = data.direction
            facts["textLength"] = len(data.text or "")  # the words stay with the platform
        elif isinstance(data, ConversationClosed) and data.resolution:
            facts["resolution"] = data.resolution
        elif isinstance(data, HandoffRequested) and data.reason:
            facts["reason"] = data.reason
        elif isinstance(data, TicketCreated):
            facts.update(
                {k: v for k, v in (("ticketId", data.ticket_id), ("subject", data.subject)) if v}
            )
        elif isinstance(data, CsatSubmitted):
            score = data.score
            summary = summary or data.comment
    customer = envelope.customer
    return MappedEvent(
        type=envelope.type,
        channel=envelope.channel,
        conversation_id=envelope.conversation_id,
        phone=text_or_none(customer.phone) if customer else None,
        email=text_or_none(customer.email) if customer else None,
        csat_score=score,
        summary=text_or_none(summary, MAX_SUMMARY),
        facts=facts,
    )


class Lilli(SignedBy):
    name: Provider = "lilli"

    def to_event(self, payload: Mapping[str, Any]) -> MappedEvent:
        return parse_contract(payload)


PROVIDER = Lilli()
