"""What every voice provider's delivery maps onto, and the settings of a voice integration."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

Mode = Literal["say", "forward", "stream"]
DEFAULT_GREETING: Final = "Hello! Thank you for calling. How can we help you today?"
MAX_TEXT: Final = 200
MAX_SUMMARY: Final = 4000
MAX_TRANSCRIPT: Final = 200_000


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    """A voice integration's ``settings`` as the webhook reads them (docs/voice.md); a
    setting that is missing or malformed falls back, never fails a call."""

    mode: Mode = "say"
    greeting: str | None = None
    forward_to: str | None = field(default=None, repr=False)
    stream_url: str | None = None
    vapi_assistant_id: str | None = None
    language: str | None = None

    @classmethod
    def of(cls, settings: Mapping[str, Any] | None) -> VoiceSettings:
        raw = settings or {}

        def text(name: str, limit: int = 500) -> str | None:
            value = raw.get(name)
            return value.strip()[:limit] or None if isinstance(value, str) else None

        mode = raw.get("mode")
        return cls(
            mode=mode if mode in ("say", "forward", "stream") else "say",
            greeting=text("greeting"),
            forward_to=text("forwardTo", 40),
            stream_url=text("streamUrl", 2000),
            vapi_assistant_id=text("vapiAssistantId", 200),
            language=text("language", 16),
        )


@dataclass(frozen=True, slots=True)
class ToolRequest:
    """A tool the voice AI asks us to run during the call."""

    id: str
    name: str
    arguments: Mapping[str, object] | str = field(repr=False)


@dataclass(frozen=True, slots=True)
class CallUpdate:
    """One delivery in our terms: which call, what happened, and what we learn of it.
    Numbers are the caller's and the shop's (kept on the call, E.164); ``facts`` are the
    few non-personal details kept in the event's payload."""

    type: str
    """``call.incoming``, ``call.started``, ``call.status``, ``call.ended``,
    ``call.transcript``, ``tool.called``, ``assistant.requested``; None-like types are
    not recorded (``ignored``)."""
    provider_call_id: str | None
    direction: Literal["inbound", "outbound"] | None = None
    from_number: str | None = field(default=None, repr=False)
    to_number: str | None = field(default=None, repr=False)
    status: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    ended_reason: str | None = None
    summary: str | None = field(default=None, repr=False)
    transcript: str | None = field(default=None, repr=False)
    tools: Sequence[ToolRequest] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)
    ignored: bool = False


def at(payload: Any, *path: str) -> Any:
    value = payload
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def text_or_none(value: Any, limit: int = MAX_TEXT) -> str | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    text = str(value).strip()
    return text[:limit] or None


def whole_seconds(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if not 0 <= seconds < 10**7:
        return None
    return round(seconds)


def instant(value: Any) -> datetime | None:
    """An ISO 8601 time or epoch seconds / milliseconds; None when it is neither."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value >= 10**11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and 0 < len(value) <= 40:
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return None


def tool_arguments(value: Any) -> Mapping[str, object] | str:
    """Arguments as sent: an object, or JSON text (Vapi types them as a string)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        return value
    return json.dumps(value) if value is not None else {}
