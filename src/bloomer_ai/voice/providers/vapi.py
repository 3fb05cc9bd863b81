"""Vapi server messages (``{"message": {"type": …}}``; ../shared/reference/VAPI.md).

``assistant-request`` is answered with the integration's ``vapiAssistantId`` (or an inline
assistant that greets with the ``greeting``); ``status-update`` and ``end-of-call-report``
update the call; ``tool-calls`` run the shop tools and are answered
``{"results": [{"toolCallId", "name", "result" | "error"}]}``; every other type is
answered ``{}`` and not recorded (the inbox keeps the delivery).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from bloomer_ai.voice.providers.base import (
    DEFAULT_GREETING,
    MAX_SUMMARY,
    MAX_TRANSCRIPT,
    CallUpdate,
    ToolRequest,
    VoiceSettings,
    at,
    instant,
    text_or_none,
    tool_arguments,
    whole_seconds,
)

STATUSES: Final = {
    "scheduled": "ringing",
    "queued": "ringing",
    "ringing": "ringing",
    "in-progress": "in_progress",
    "forwarding": "forwarding",
    "ended": "ended",
}
TYPES: Final = {
    "assistant-request": "assistant.requested",
    "status-update": "call.status",
    "end-of-call-report": "call.ended",
    "tool-calls": "tool.called",
}


def _tool_requests(message: Mapping[str, Any]) -> list[ToolRequest]:
    """``toolCallList`` (else the OpenAI-style ``toolCalls``), each as
    ``{id, function: {name, arguments}}`` or the flatter ``{id, name, arguments|parameters}``."""
    listed = message.get("toolCallList")
    if not isinstance(listed, list):
        listed = message.get("toolCalls")
    requests: list[ToolRequest] = []
    for call in listed if isinstance(listed, list) else []:
        if not isinstance(call, Mapping):
            continue
        function = call.get("function") if isinstance(call.get("function"), Mapping) else {}
        assert isinstance(function, Mapping)
        name = function.get("name") or call.get("name")
        arguments = function.get("arguments")
        if arguments is None:
            arguments = call.get("arguments", call.get("parameters"))
        requests.append(
            ToolRequest(
                id=str(call.get("id") or "")[:200],
                name=str(name or "")[:100],
                arguments=tool_arguments(arguments),
            )
        )
    return requests


def to_update(payload: Mapping[str, Any]) -> CallUpdate:
    message = payload.get("message")
    message = message if isinstance(message, Mapping) else {}
    kind = str(message.get("type") or "")
    ours = TYPES.get(kind)
    call = message.get("call") if isinstance(message.get("call"), Mapping) else {}
    assert isinstance(call, Mapping)
    call_type = str(call.get("type") or "")
    direction: Literal["inbound", "outbound"] = (
        "outbound" if call_type.startswith("outbound") else "inbound"
    )
    caller = at(message, "customer", "number") or at(call, "customer", "number")
    ours_number = at(message, "phoneNumber", "number") or at(call, "phoneNumber", "number")
    facts: dict[str, Any] = {"vapiType": kind[:64]}
    update: dict[str, Any] = {}
    if kind == "status-update":
        status = str(message.get("status") or "")
        facts["status"] = status[:32]
        update["status"] = STATUSES.get(status)
        if (reason := text_or_none(message.get("endedReason"), 100)) is not None:
            update["ended_reason"] = facts["endedReason"] = reason
    elif kind == "end-of-call-report":
        started = instant(message.get("startedAt") or call.get("startedAt"))
        ended = instant(message.get("endedAt") or call.get("endedAt"))
        duration = whole_seconds(message.get("durationSeconds"))
        if duration is None and started and ended and ended >= started:
            duration = round((ended - started).total_seconds())
        summary = at(message, "analysis", "summary") or message.get("summary")
        transcript = at(message, "artifact", "transcript") or message.get("transcript")
        reason = text_or_none(message.get("endedReason"), 100)
        update.update(
            status="ended",
            started_at=started,
            ended_at=ended,
            duration_seconds=duration,
            ended_reason=reason,
            summary=text_or_none(summary, MAX_SUMMARY),
            transcript=text_or_none(transcript, MAX_TRANSCRIPT),
        )
        facts.update(
            endedReason=reason,
            durationSeconds=duration,
            summaryGiven=bool(summary),
            transcriptLength=len(transcript) if isinstance(transcript, str) else 0,
        )
    elif kind == "tool-calls":
        update["tools"] = tools = _tool_requests(message)
        facts["tools"] = [{"id": t.id, "name": t.name} for t in tools]
    return CallUpdate(
        type=ours or f"vapi.{kind or 'unknown'}"[:64],
        provider_call_id=text_or_none(call.get("id")),
        direction=direction,
        from_number=text_or_none(caller if direction == "inbound" else ours_number, 40),
        to_number=text_or_none(ours_number if direction == "inbound" else caller, 40),
        facts=facts,
        ignored=ours is None,
        **update,
    )


def assistant_answer(settings: VoiceSettings, shop_id: str) -> dict[str, Any]:
    """The answer to ``assistant-request``: the configured assistant, else an inline one
    that greets (Vapi then runs it with the org's defaults)."""
    metadata = {"shopId": shop_id}
    if settings.vapi_assistant_id:
        return {
            "assistantId": settings.vapi_assistant_id,
            "assistantOverrides": {"metadata": metadata},
        }
    return {
        "assistant": {
            "firstMessage": settings.greeting or DEFAULT_GREETING,
            "metadata": metadata,
        }
    }


def tool_results(outcomes: Sequence[tuple[ToolRequest, bool, object]]) -> dict[str, Any]:
    """``{"results": […]}`` in the order asked: ``result`` on success, ``error`` otherwise,
    each a single-line string (Vapi reads strings only)."""
    results = []
    for request, ok, value in outcomes:
        entry: dict[str, Any] = {"toolCallId": request.id, "name": request.name}
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        entry["result" if ok else "error"] = text.replace("\n", " ")
        results.append(entry)
    return {"results": results}
