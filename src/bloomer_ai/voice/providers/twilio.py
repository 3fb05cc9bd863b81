"""Twilio Programmable Voice: form-encoded voice webhooks and status callbacks
(``X-Twilio-Signature``, checked by the shared mechanism), answered with TwiML.

The first request of an incoming call (no ``CallbackSource``, the call ringing or in
progress) is answered as the integration's ``mode`` says: ``say`` the greeting and hang
up, ``forward`` to the shop's number (``<Dial>``, greeting first if set), ``stream`` the
call to a voice AI (``<Connect><Stream>``). Status callbacks get an empty ``<Response/>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from xml.etree import ElementTree

from bloomer_ai.voice.providers.base import (
    DEFAULT_GREETING,
    CallUpdate,
    VoiceSettings,
    text_or_none,
    whole_seconds,
)

XML_DECLARATION: Final = b'<?xml version="1.0" encoding="UTF-8"?>'
STATUSES: Final = {
    "queued": "ringing",
    "initiated": "ringing",
    "ringing": "ringing",
    "in-progress": "in_progress",
    "answered": "in_progress",
    "completed": "ended",
    "busy": "failed",
    "failed": "failed",
    "no-answer": "failed",
    "canceled": "failed",
}
TERMINAL: Final = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def twiml(*verbs: ElementTree.Element) -> bytes:
    """A TwiML document, serialised as Twilio's own library does."""
    response = ElementTree.Element("Response")
    response.extend(verbs)
    return XML_DECLARATION + ElementTree.tostring(response, encoding="unicode").encode()


def _say(text: str, language: str | None) -> ElementTree.Element:
    say = ElementTree.Element("Say", {"language": language} if language else {})
    say.text = text
    return say


def incoming_call_twiml(settings: VoiceSettings, forward_to: str | None) -> bytes:
    """What the caller hears, by the integration's mode. ``forward_to`` is the shop's number
    in E.164 (None when it is not a valid number: the greeting instead)."""
    greeting = settings.greeting
    if settings.mode == "forward" and forward_to:
        verbs = [_say(greeting, settings.language)] if greeting else []
        dial = ElementTree.Element("Dial")
        dial.text = forward_to
        return twiml(*verbs, dial)
    if settings.mode == "stream" and settings.stream_url:
        verbs = [_say(greeting, settings.language)] if greeting else []
        connect = ElementTree.Element("Connect")
        ElementTree.SubElement(connect, "Stream", {"url": settings.stream_url})
        return twiml(*verbs, connect)
    return twiml(
        _say(greeting or DEFAULT_GREETING, settings.language), ElementTree.Element("Hangup")
    )


def is_status_callback(payload: Mapping[str, Any]) -> bool:
    status = str(payload.get("CallStatus", "")).lower()
    return bool(payload.get("CallbackSource")) or status in TERMINAL


def to_update(payload: Mapping[str, Any]) -> CallUpdate:
    status = str(payload.get("CallStatus", "")).lower()
    direction = str(payload.get("Direction", "inbound")).lower()
    callback = is_status_callback(payload)
    facts: dict[str, Any] = {"callStatus": status[:32] or None}
    if (source := text_or_none(payload.get("CallbackSource"), 64)) is not None:
        facts["callbackSource"] = source
    if (sequence := whole_seconds(payload.get("SequenceNumber"))) is not None:
        facts["sequenceNumber"] = sequence
    duration = whole_seconds(payload.get("CallDuration"))
    if duration is not None:
        facts["durationSeconds"] = duration
    return CallUpdate(
        type="call.status" if callback else "call.incoming",
        provider_call_id=text_or_none(payload.get("CallSid")),
        direction="outbound" if direction.startswith("outbound") else "inbound",
        from_number=text_or_none(payload.get("From"), 40),
        to_number=text_or_none(payload.get("To"), 40),
        status=STATUSES.get(status),
        duration_seconds=duration,
        ended_reason=status if status in TERMINAL else None,
        facts=facts,
    )
