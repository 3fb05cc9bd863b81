"""Lilli voice, and any voice service speaking our contract (docs/voice.md): Standard
Webhooks, a JSON body ``{type, callId, direction?, callerNumber?, calledNumber?, shopId?,
data}``. Types: ``call.started``, ``call.ended``, ``call.transcript``, ``tool.called``
(answered with the tool's result). Known types are checked against their schema (``422``
with the path of the fault); unknown ones are acknowledged and not recorded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError
from pydantic.alias_generators import to_camel

from bloomer_ai.errors import ValidationFailed
from bloomer_ai.voice.providers.base import (
    MAX_SUMMARY,
    MAX_TRANSCRIPT,
    CallUpdate,
    ToolRequest,
    instant,
    tool_arguments,
)


class _Contract(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_alias=True, extra="allow")


class Envelope(_Contract):
    type: str = Field(min_length=1, max_length=64)
    call_id: str = Field(min_length=1, max_length=200)
    direction: Literal["inbound", "outbound"] = "inbound"
    caller_number: str | None = Field(default=None, max_length=40)
    called_number: str | None = Field(default=None, max_length=40)
    shop_id: str | None = None
    occurred_at: str | None = Field(default=None, max_length=40)
    data: dict[str, Any] = Field(default_factory=dict)


class CallStarted(_Contract):
    started_at: str | None = Field(default=None, max_length=40)


class CallEnded(_Contract):
    ended_at: str | None = Field(default=None, max_length=40)
    duration_seconds: int | None = Field(default=None, ge=0, le=10**7)
    ended_reason: str | None = Field(default=None, max_length=100)
    summary: str | None = Field(default=None, max_length=MAX_SUMMARY)


class CallTranscript(_Contract):
    transcript: str = Field(max_length=MAX_TRANSCRIPT)


class ToolCalled(_Contract):
    tool_call_id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=100)
    arguments: dict[str, JsonValue] | str = Field(default_factory=dict)


DATA_SCHEMAS: dict[str, type[_Contract]] = {
    "call.started": CallStarted,
    "call.ended": CallEnded,
    "call.transcript": CallTranscript,
    "tool.called": ToolCalled,
}


def _invalid(error: ValidationError, prefix: str) -> ValidationFailed:
    details = []
    for fault in error.errors(include_url=False):
        path = prefix
        for part in fault["loc"]:
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
        details.append({"field": path, "message": fault["msg"], "type": fault["type"]})
    return ValidationFailed("The voice event is not valid.", details=details)


def to_update(payload: Mapping[str, Any]) -> CallUpdate:
    try:
        envelope = Envelope.model_validate(payload)
    except ValidationError as exc:
        raise _invalid(exc, "body") from None
    schema = DATA_SCHEMAS.get(envelope.type)
    caller, called = envelope.caller_number, envelope.called_number
    inbound = envelope.direction == "inbound"
    common: dict[str, Any] = {
        "provider_call_id": envelope.call_id,
        "direction": envelope.direction,
        "from_number": caller if inbound else called,
        "to_number": called if inbound else caller,
    }
    if schema is None:
        return CallUpdate(type=envelope.type, ignored=True, **common)
    try:
        data = schema.model_validate(envelope.data)
    except ValidationError as exc:
        raise _invalid(exc, "body.data") from None
    facts: dict[str, Any] = {}
    if isinstance(data, CallStarted):
        return CallUpdate(
            type="call.started",
            status="in_progress",
            started_at=instant(data.started_at) or instant(envelope.occurred_at),
            facts=facts,
            **common,
        )
    if isinstance(data, CallEnded):
        facts.update(
            endedReason=data.ended_reason,
            durationSeconds=data.duration_seconds,
            summaryGiven=bool(data.summary),
        )
        return CallUpdate(
            type="call.ended",
            status="ended",
            ended_at=instant(data.ended_at) or instant(envelope.occurred_at),
            duration_seconds=data.duration_seconds,
            ended_reason=data.ended_reason,
            summary=data.summary,
            facts=facts,
            **common,
        )
    if isinstance(data, CallTranscript):
        facts["transcriptLength"] = len(data.transcript)
        return CallUpdate(type="call.transcript", transcript=data.transcript, facts=facts, **common)
    assert isinstance(data, ToolCalled)
    tool = ToolRequest(data.tool_call_id, data.name, tool_arguments(data.arguments))
    facts["tools"] = [{"id": tool.id, "name": tool.name}]
    return CallUpdate(type="tool.called", tools=[tool], facts=facts, **common)
