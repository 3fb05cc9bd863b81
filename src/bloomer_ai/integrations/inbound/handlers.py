"""The handlers of verified inbound deliveries, one per (kind, provider).

Later features register theirs (``InboundHandlers.register``, on the app's registry at
start-up); until then, and for any pair without one, a delivery is recorded in the inbox
(raw body included) and acknowledged the way its provider expects.

A handler runs in the request's transaction, bound to the delivery's shop, exactly once
per delivery (a repeat gets its stored answer): it may write, and it must not commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

Kind = Literal["voice", "support"]
Provider = Literal["twilio", "vapi", "lilli", "chatwoot", "zendesk"]

TWIML_EMPTY = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
TWIML_NOT_IN_SERVICE = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response>'
    b"<Say>Sorry, the number you have called is not in service.</Say><Hangup /></Response>"
)


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """A delivery whose signature verified, for a shop that was found and bound."""

    kind: Kind
    provider: Provider
    shop_id: uuid.UUID
    integration_id: uuid.UUID | None
    """The integration it came through or was found by (number, account); None when the
    platform route found the shop by a ``shopId`` in the payload alone."""
    delivery_id: str
    """The provider's id of the delivery (what makes a repeat a repeat)."""
    content_type: str
    body: bytes = field(repr=False)
    """The exact bytes received (what was signed)."""
    payload: Mapping[str, Any] = field(repr=False)
    """The parsed body: the JSON object, or the form's fields (the last value of each)."""
    form: Mapping[str, list[str]] | None = field(default=None, repr=False)
    """A form body's fields with every value (Twilio), else None."""
    called_number: str | None = field(default=None, repr=False)
    """The shop's own number the call reached (E.164), when the provider says."""
    integration_settings: Mapping[str, Any] | None = field(default=None, repr=False)
    """The settings of the integration it came through (None on the platform route)."""


@dataclass(frozen=True, slots=True)
class InboundReply:
    status: int = 200
    body: bytes = b""
    media_type: str = "application/json"


InboundHandler = Callable[[AsyncSession, InboundEvent], Awaitable[InboundReply]]


def acknowledgement(provider: str) -> InboundReply:
    """What each provider takes as "received": Twilio an empty TwiML document (no
    instructions), Vapi an empty object (informational messages need no answer), the
    others a small JSON acknowledgement."""
    if provider == "twilio":
        return InboundReply(200, TWIML_EMPTY, "text/xml")
    if provider == "vapi":
        return InboundReply(200, b"{}", "application/json")
    return InboundReply(200, b'{"received":true}', "application/json")


async def acknowledge(_session: AsyncSession, event: InboundEvent) -> InboundReply:
    """The default handler: the inbox has recorded the delivery; say it was received."""
    return acknowledgement(event.provider)


class InboundHandlers:
    """The registry: one handler per (kind, provider), the acknowledgement otherwise."""

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], InboundHandler] = {}

    def register(
        self, kind: Kind, provider: Provider, handler: InboundHandler, *, replace: bool = False
    ) -> None:
        if (kind, provider) in self._handlers and not replace:
            raise ValueError(f"a handler for {kind}/{provider} is registered already")
        self._handlers[(kind, provider)] = handler

    def handler_for(self, kind: str, provider: str) -> InboundHandler:
        return self._handlers.get((kind, provider), acknowledge)
