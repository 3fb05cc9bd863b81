"""The interface of a support platform, and the event every platform maps onto."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from bloomer_ai.integrations.inbound import providers as inbound
from bloomer_ai.integrations.inbound.handlers import Provider
from bloomer_ai.integrations.inbound.providers import RawDelivery

EVENT_TYPES: Final = (
    "conversation.created",
    "message.created",
    "conversation.closed",
    "handoff.requested",
    "ticket.created",
    "csat.submitted",
)
CHANNELS: Final = ("chat", "email", "sms", "whatsapp", "voice", "social")
MAX_SUMMARY: Final = 500
MAX_FACT_TEXT: Final = 200


@dataclass(frozen=True, slots=True)
class MappedEvent:
    """One delivery in our terms. ``phone``/``email`` find the customer and are not
    stored; ``facts`` are the few non-personal details kept in the event's payload."""

    type: str
    channel: str | None = None
    conversation_id: str | None = None
    phone: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)
    csat_score: int | None = None
    summary: str | None = field(default=None, repr=False)
    facts: Mapping[str, Any] = field(default_factory=dict)


class SupportProvider(Protocol):
    """A support platform: how it signs, how it names a delivery, what its payload means."""

    name: Provider

    def verify(self, secrets: Sequence[str], raw: RawDelivery, *, tolerance_s: float) -> str:
        """Check the signature (``WebhookVerificationError``); the delivery's id."""
        ...

    def delivery_id(self, headers: Mapping[str, str], body: bytes) -> str: ...

    def to_event(self, payload: Mapping[str, Any]) -> MappedEvent:
        """Our event; ``ValidationFailed`` when a payload of our contract is malformed."""
        ...


class SignedBy:
    """``verify`` and ``delivery_id`` of a provider, as the shared inbound mechanism does
    them for every request (one implementation: ``integrations.inbound.providers``)."""

    name: Provider

    def verify(self, secrets: Sequence[str], raw: RawDelivery, *, tolerance_s: float) -> str:
        parsed = inbound.parse_body(raw)
        return inbound.verify(self.name, secrets, raw, parsed, tolerance_s=tolerance_s)

    def delivery_id(self, headers: Mapping[str, str], body: bytes) -> str:
        return inbound.delivery_id(self.name, headers, body)


def text_or_none(value: Any, limit: int = MAX_FACT_TEXT) -> str | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    text = str(value).strip()
    return text[:limit] or None


def at(payload: Any, *path: str) -> Any:
    value = payload
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
