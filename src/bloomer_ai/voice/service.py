"""The voice agent: calls in, events recorded, tools run, orders taken by phone.

A verified delivery (``receive_delivery``, the inbound handler of voice for Twilio, Vapi and
Lilli) is mapped by its provider's module onto a call update; the call is found or created
(one per provider call id), its customer matched by the caller's phone, the event stored
with its payload reduced, and the provider answered: TwiML for Twilio by the integration's
mode, Vapi's expected JSON, Lilli's acknowledgement. Tool calls run inline (the one slow
thing allowed here); the rest is a row or two in the request's transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.auth.principal import Principal, PrincipalKind
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.customers import service as customers
from bloomer_ai.errors import ValidationFailed
from bloomer_ai.integrations import service as integrations
from bloomer_ai.integrations.errors import IntegrationNotFound
from bloomer_ai.integrations.inbound.handlers import InboundEvent, InboundReply
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.kit.validation import normalise_phone
from bloomer_ai.models import Order, OrderItem, VoiceCall, VoiceCallEvent
from bloomer_ai.orders import service as orders
from bloomer_ai.outbound_webhooks.service import record_event
from bloomer_ai.shops import service as shops
from bloomer_ai.tools import service as tools
from bloomer_ai.voice.errors import VoiceCallNotFound
from bloomer_ai.voice.providers import lilli, twilio, vapi
from bloomer_ai.voice.providers.base import CallUpdate, ToolRequest, VoiceSettings
from bloomer_ai.voice.repository import (
    VoiceCallEventRepository,
    VoiceCallRepository,
    purge_transcripts,
)
from bloomer_ai.voice.schemas import VoiceOrderCreate

log = structlog.get_logger("bloomer_ai.voice")

# What the voice AI may do through the shop tools (each tool names the scope it needs,
# docs/tools.md): read the shop, its orders and a customer's support context, place an
# order, hand the caller over to a person.
VOICE_TOOL_SCOPES = frozenset(
    {
        Scope.SHOP_READ.value,
        Scope.ORDERS_READ.value,
        Scope.CUSTOMERS_READ.value,
        Scope.ORDERS_WRITE.value,
        Scope.SUPPORT_CONTEXT.value,
        Scope.SUPPORT_EVENTS.value,
    }
)

# --- receiving a delivery -------------------------------------------------------------------


def _update_of(event: InboundEvent) -> CallUpdate:
    if event.provider == "twilio":
        return twilio.to_update(event.payload)
    if event.provider == "vapi":
        return vapi.to_update(event.payload)
    return lilli.to_update(event.payload)


async def _settings_of(session: AsyncSession, event: InboundEvent) -> VoiceSettings:
    """The integration's voice settings: those it came through with, else the integration
    the called number found (defaults when the shop was found by a ``shopId`` alone, or the
    integration went away meanwhile)."""
    if event.integration_settings is not None:
        return VoiceSettings.of(event.integration_settings)
    if event.integration_id is None:
        return VoiceSettings()
    try:
        integration = await integrations.get_integration(session, event.integration_id)
    except IntegrationNotFound:
        return VoiceSettings()
    return VoiceSettings.of(integration.settings)


UNKNOWN_REGION = "ZZ"  # phonenumbers' "no region": enough for a number in E.164


def _e164(raw: str | None, country: str | None) -> str | None:
    return normalise_phone(raw, country) if raw else None


def _caller(call: VoiceCall) -> str | None:
    """The other party: the caller of an inbound call, the number called of an outbound."""
    return call.from_number if call.direction == "inbound" else call.to_number


async def record_update(
    session: AsyncSession,
    *,
    provider: str,
    delivery_id: str,
    update: CallUpdate,
    now: datetime | None = None,
) -> tuple[VoiceCall, VoiceCallEvent]:
    """Find or create the call, apply what the delivery says, store its event."""
    assert update.provider_call_id is not None
    now = now or datetime.now(UTC)
    # Providers send E.164; only a national spelling needs the shop's country (a read).
    national = any(n and not n.startswith("+") for n in (update.from_number, update.to_number))
    country = (await shops.shop_profile(session)).country if national else None
    repository = VoiceCallRepository(session)
    from_number = _e164(update.from_number, country)
    to_number = _e164(update.to_number, country)
    call = await repository.claim(
        provider,
        update.provider_call_id,
        direction=update.direction or "inbound",
        from_number=from_number,
        to_number=to_number,
        status=update.status or "ringing",
        started_at=update.started_at or now,
    )
    was_over = call.status in ("ended", "failed") and call.ended_at is not None
    created = call.created_at == call.updated_at  # inserted by this claim, not found
    caller_before = _caller(call)
    call.from_number = call.from_number or from_number
    call.to_number = call.to_number or to_number
    # An ended call stays ended: a late status of an earlier moment does not reopen it.
    if update.status is not None and (
        call.status not in ("ended", "failed") or update.status in ("ended", "failed")
    ):
        call.status = update.status
    for name in ("started_at", "ended_at", "duration_seconds", "ended_reason", "summary"):
        value = getattr(update, name)
        if value is not None:
            setattr(call, name, value)
    if update.transcript is not None and call.transcript_purged_at is None:
        call.transcript = update.transcript
    if call.status in ("ended", "failed") and call.ended_at is None:
        call.ended_at = now
    if call.duration_seconds is None and call.status == "ended" and call.started_at:
        ended = call.ended_at or now
        call.duration_seconds = max(0, round((ended - call.started_at).total_seconds()))
    # The caller is matched once: when the call is new, or its number first known.
    caller = _caller(call)
    if call.customer_id is None and caller is not None and (created or caller != caller_before):
        call.customer_id = await customers.find_customer_id(
            session, phone=caller, email=None, country=country or UNKNOWN_REGION
        )
    await repository.save(call)
    if call.status in ("ended", "failed") and not was_over:
        await announce_call_ended(session, call)
    event = await VoiceCallEventRepository(session).insert(
        call_id=call.id,
        type=update.type[:64],
        provider=provider,
        delivery_id=delivery_id[:300],
        payload={k: v for k, v in update.facts.items() if v is not None},
        created_at=now,
    )
    return call, event


def call_ended_payload(call: VoiceCall) -> dict[str, Any]:
    """The outbound event's data: the call without its numbers, summary or transcript."""
    return {
        "id": str(call.id),
        "shopId": str(call.shop_id),
        "provider": call.provider,
        "direction": call.direction,
        "status": call.status,
        "startedAt": call.started_at.isoformat() if call.started_at else None,
        "endedAt": call.ended_at.isoformat() if call.ended_at else None,
        "durationSeconds": call.duration_seconds,
        "endedReason": call.ended_reason,
        "summaryGiven": bool(call.summary),
        "customerId": str(call.customer_id) if call.customer_id else None,
        "orderId": str(call.order_id) if call.order_id else None,
    }


async def announce_call_ended(session: AsyncSession, call: VoiceCall) -> None:
    """``voice.call.ended`` as an outbound webhook: recorded in the delivery's own
    transaction, delivered by jobs (the webhook itself does not wait for it)."""
    await record_event(session, call.shop_id, "voice.call.ended", call_ended_payload(call))


async def receive_delivery(session: AsyncSession, delivery: InboundEvent) -> InboundReply:
    """The inbound handler of voice, for every provider (registered at start-up)."""
    update = _update_of(delivery)
    call: VoiceCall | None = None
    if not update.ignored and update.provider_call_id:
        call, event = await record_update(
            session, provider=delivery.provider, delivery_id=delivery.delivery_id, update=update
        )
        log.info(
            "voice_event_recorded",
            provider=delivery.provider,
            event_type=event.type,
            call_status=call.status,
            customer_matched=call.customer_id is not None,
        )
    if delivery.provider == "twilio":
        return await _twilio_answer(session, delivery, update)
    if delivery.provider == "vapi":
        return await _vapi_answer(session, delivery, update, call)
    return await _lilli_answer(session, delivery, update, call)


def _json(body: Mapping[str, Any]) -> InboundReply:
    return InboundReply(200, json.dumps(body, separators=(",", ":")).encode(), "application/json")


async def _twilio_answer(
    session: AsyncSession, delivery: InboundEvent, update: CallUpdate
) -> InboundReply:
    if update.type != "call.incoming":
        return InboundReply(200, twilio.twiml(), "text/xml")
    settings = await _settings_of(session, delivery)
    forward_to = None
    if settings.mode == "forward" and settings.forward_to:
        shop = await shops.shop_profile(session)
        forward_to = _e164(settings.forward_to, shop.country)
    return InboundReply(200, twilio.incoming_call_twiml(settings, forward_to), "text/xml")


async def _vapi_answer(
    session: AsyncSession,
    delivery: InboundEvent,
    update: CallUpdate,
    call: VoiceCall | None,
) -> InboundReply:
    if update.type == "assistant.requested":
        settings = await _settings_of(session, delivery)
        return _json(vapi.assistant_answer(settings, str(delivery.shop_id)))
    if update.type == "tool.called":
        outcomes = [
            await run_tool(session, delivery.shop_id, request, call=call)
            for request in update.tools
        ]
        return _json(vapi.tool_results(outcomes))
    return _json({})


async def _lilli_answer(
    session: AsyncSession, delivery: InboundEvent, update: CallUpdate, call: VoiceCall | None
) -> InboundReply:
    if update.type == "tool.called" and update.tools:
        request = update.tools[0]
        _, ok, value = await run_tool(session, delivery.shop_id, request, call=call)
        body: dict[str, Any] = {"toolCallId": request.id, "name": request.name, "ok": ok}
        body["result" if ok else "error"] = value
        return _json(body)
    answer: dict[str, Any] = {"received": True}
    if call is not None:
        answer["callId"] = str(call.id)
    return _json(answer)


# --- tools ----------------------------------------------------------------------------------


async def run_tool(
    session: AsyncSession,
    shop_id: uuid.UUID,
    request: ToolRequest,
    *,
    call: VoiceCall | None,
) -> tuple[ToolRequest, bool, object]:
    """Run one shop tool the voice AI asked for, inline, through the shop tools'
    ``call_tool`` (scoped, validated, recorded on the call); never raises for an unknown
    tool, bad arguments or the tool's own failure: ``(request, ok, result or error)``.

    The tool call's id makes a retry safe: Vapi or Lilli sending the same ``place_order``
    again (a new delivery) gets the first order back, not a second one. An order placed
    on a call is linked to it."""
    principal = Principal(kind=PrincipalKind.WEBHOOK, shop_id=shop_id, scopes=VOICE_TOOL_SCOPES)
    key = f"voice:{call.id}:{request.id}" if call is not None and request.id else None
    outcome = await tools.call_tool(
        session,
        principal,
        request.name,
        request.arguments,
        voice_call_id=call.id if call is not None else None,
        idempotency_key=key,
    )
    if not outcome.ok:
        error = outcome.error
        return (
            request,
            False,
            (error.model_dump() if error is not None else {"code": "tool_failed", "message": ""}),
        )
    result: dict[str, Any] = dict(outcome.result or {})
    order_id = result.get("orderId")
    if call is not None and request.name == "place_order" and isinstance(order_id, str):
        await _link_order(session, call, order_id)
    return request, True, result


async def _link_order(session: AsyncSession, call: VoiceCall, order_id: str) -> None:
    order = await orders.get_order(session, order_id)
    call.order_id = order.id
    call.customer_id = call.customer_id or order.customer_id
    await VoiceCallRepository(session).save(call)


# --- reading calls and events ---------------------------------------------------------------


async def get_call(session: AsyncSession, call_id: str | uuid.UUID) -> VoiceCall:
    call = await VoiceCallRepository(session).get(call_id)
    if call is None:
        raise VoiceCallNotFound()
    return call


async def call_events(session: AsyncSession, call: VoiceCall) -> Sequence[VoiceCallEvent]:
    return await VoiceCallEventRepository(session).of_call(call.id)


async def list_calls(
    session: AsyncSession,
    params: PageParams,
    *,
    status: str | None = None,
    direction: str | None = None,
    since: datetime | None = None,
    customer_id: uuid.UUID | None = None,
) -> tuple[Sequence[VoiceCall], str | None]:
    if customer_id is not None:
        await customers.existing_customer_id(session, str(customer_id))  # another shop's: 404
    return await VoiceCallRepository(session).page(
        params, status=status, direction=direction, since=since, customer_id=customer_id
    )


async def list_events(
    session: AsyncSession,
    params: PageParams,
    *,
    call_id: uuid.UUID | None = None,
    type: str | None = None,
    since: datetime | None = None,
) -> tuple[list[tuple[VoiceCallEvent, VoiceCall]], str | None]:
    """Events newest first, each with its call (for the caller's number and direction)."""
    if call_id is not None:
        await get_call(session, call_id)  # another shop's: 404
    repository = VoiceCallEventRepository(session)
    rows, next_cursor = await repository.page(params, call_id=call_id, type=type, since=since)
    calls = await repository.calls_of({row.call_id for row in rows})
    return [(row, calls[row.call_id]) for row in rows], next_cursor


async def erase_call(session: AsyncSession, call_id: str) -> None:
    """The call, its events and transcript, gone (an order taken on it stays)."""
    call = await get_call(session, call_id)
    await VoiceCallRepository(session).delete(call)
    log.info("voice_call_erased")


# --- orders taken by phone ------------------------------------------------------------------


async def place_order(
    session: AsyncSession,
    body: VoiceOrderCreate,
    *,
    suggest_route: orders.RouteSuggester,
) -> tuple[Order, Sequence[OrderItem], VoiceCall | None]:
    """An order from a call, through ``orders.create_order`` (``source: "voice"``,
    customer found or created by phone, routing suggested, ``order.created`` recorded);
    the call, when named, is linked to the order and its customer."""
    shop = await shops.shop_profile(session)
    if _e164(body.customer.phone, shop.country) is None:
        raise ValidationFailed(
            "That is not a phone number.",
            details=[
                {
                    "field": "body.customer.phone",
                    "message": "a phone number, e.g. +31 6 1234 5678 or 06 12345678",
                    "type": "phone",
                }
            ],
        )
    call = await get_call(session, body.call_id) if body.call_id is not None else None
    delivery = body.delivery
    draft = orders.OrderDraft(
        items=[
            orders.DraftItem(
                product_type=item.product_type,
                name=item.name,
                quantity=item.quantity,
                unit_price=item.unit_price,
                sku=item.sku,
            )
            for item in body.items
        ],
        source="voice",
        customer_phone=body.customer.phone,
        customer_name=body.customer.name,
        delivery_zone=delivery.zone if delivery else None,
        delivery_date=delivery.date if delivery else None,
        delivery_time=delivery.time if delivery else None,
        currency=body.currency,
    )
    order, items = await orders.create_order(session, draft, suggest_route=suggest_route)
    if call is not None:
        call.order_id = order.id
        call.customer_id = call.customer_id or order.customer_id
        await VoiceCallRepository(session).save(call)
    log.info("voice_order_placed", linked_to_call=call is not None, items=len(items))
    return order, items, call


# --- retention ------------------------------------------------------------------------------


async def purge_expired_transcripts(
    session: AsyncSession, *, retention: timedelta, now: datetime | None = None
) -> int:
    """Transcripts of calls older than ``retention``, every shop's: cleared, the time of the
    purge kept. Idempotent."""
    before = (now or datetime.now(UTC)) - retention
    purged = await purge_transcripts(session, before=before)
    if purged:
        log.info("voice_transcripts_purged", count=purged)
    return purged
