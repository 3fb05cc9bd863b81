"""The voice agent: calls, their events, orders taken by phone.

The webhook itself (``POST /api/ai/voice/webhook[/{integrationId}]``) is the shared inbound
route of ``integrations``; voice plugs its handler in (``service.receive_delivery``,
registered at start-up)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from bloomer_ai.auth.dependencies import Access, AuthKind
from bloomer_ai.auth.principal import Principal, Role
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.idempotency.dependency import Idempotent
from bloomer_ai.kit.pagination import Page
from bloomer_ai.kit.schemas import IsoDatetime
from bloomer_ai.models import VoiceCall, VoiceCallEvent
from bloomer_ai.orders.schemas import OrderItemRead, OrderRead
from bloomer_ai.ratelimit.policy import RouteGroup
from bloomer_ai.routing import service as routing
from bloomer_ai.routing.endpoints import RuleSets
from bloomer_ai.voice import service
from bloomer_ai.voice.schemas import (
    CallDirection,
    CallStatus,
    VoiceCallDetail,
    VoiceCallEventRead,
    VoiceCallRead,
    VoiceOrderCreate,
    VoiceOrderRead,
)
from bloomer_ai.web.pagination import Paging
from bloomer_ai.web.routes import JsonRoute
from bloomer_ai.web.unit_of_work import ShopSession

router = APIRouter(prefix="/api/ai/voice", tags=["voice"], route_class=JsonRoute)


def _access(scope: Scope, group: RouteGroup, roles: list[Role] | None = None) -> Any:
    return Depends(
        Access(AuthKind.SESSION_OR_KEY, scopes=[scope], roles=roles, group=group, feature="voice")
    )


EventReader = Annotated[Principal, _access(Scope.VOICE_EVENTS, RouteGroup.READ)]
CallEraser = Annotated[
    Principal, _access(Scope.VOICE_EVENTS, RouteGroup.WRITE, [Role.OWNER, Role.ADMIN])
]
OrderTaker = Annotated[Principal, _access(Scope.VOICE_ORDERS, RouteGroup.WRITE)]


CALL_ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "No such call in this shop"}}


def call_read(call: VoiceCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "shop_id": call.shop_id,
        "provider": call.provider,
        "provider_call_id": call.provider_call_id,
        "direction": call.direction,
        "phone_number": call.from_number if call.direction == "inbound" else call.to_number,
        "from_number": call.from_number,
        "to_number": call.to_number,
        "status": call.status,
        "started_at": call.started_at,
        "ended_at": call.ended_at,
        "duration_seconds": call.duration_seconds,
        "ended_reason": call.ended_reason,
        "summary": call.summary,
        "customer_id": call.customer_id,
        "order_id": call.order_id,
        "created_at": call.created_at,
        "updated_at": call.updated_at,
    }


def event_read(event: VoiceCallEvent, call: VoiceCall) -> VoiceCallEventRead:
    return VoiceCallEventRead(
        id=event.id,
        shop_id=event.shop_id,
        call_id=event.call_id,
        provider=event.provider,
        type=event.type,
        phone_number=call.from_number if call.direction == "inbound" else call.to_number,
        direction=call.direction,
        payload=event.payload,
        created_at=event.created_at,
    )


@router.get("/calls", response_model=Page[VoiceCallRead], summary="The shop's phone calls")
async def list_calls(
    principal: EventReader,
    session: ShopSession,
    page: Paging,
    status_: Annotated[CallStatus | None, Query(alias="status")] = None,
    direction: Annotated[CallDirection | None, Query()] = None,
    since: Annotated[
        IsoDatetime | None, Query(description="Only calls that began at or after this time.")
    ] = None,
    customer_id: Annotated[
        uuid.UUID | None, Query(alias="customerId", description="Only this customer's calls.")
    ] = None,
) -> Page[VoiceCallRead]:
    """Calls the voice providers handled for the shop, newest first, by status, direction,
    time and customer (matched by the caller's phone). A `customerId` of another shop is
    `404`."""
    rows, next_cursor = await service.list_calls(
        session,
        page,
        status=status_,
        direction=direction,
        since=since,
        customer_id=customer_id,
    )
    return Page[VoiceCallRead](
        items=[VoiceCallRead.model_validate(call_read(r)) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/calls/{voice_call_id}",
    response_model=VoiceCallDetail,
    responses=CALL_ERRORS,
    summary="A call with its events and transcript",
)
async def get_call(
    voice_call_id: str, principal: EventReader, session: ShopSession
) -> VoiceCallDetail:
    """One call of the shop: its numbers, status, times, summary, the transcript (until the
    retention purge) and its events, oldest first."""
    call = await service.get_call(session, voice_call_id)
    events = await service.call_events(session, call)
    return VoiceCallDetail.model_validate(
        {
            **call_read(call),
            "transcript": call.transcript,
            "transcript_purged_at": call.transcript_purged_at,
            "events": [event_read(event, call) for event in events],
        }
    )


@router.delete(
    "/calls/{voice_call_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=CALL_ERRORS,
    summary="Erase a call, its events and transcript",
)
async def erase_call(voice_call_id: str, principal: CallEraser, session: ShopSession) -> None:
    """Deletes the call record, its events and transcript for good; an order taken on the
    call stays (it is the shop's order). Owners and admins, or a key with `voice:events`."""
    await service.erase_call(session, voice_call_id)


@router.get(
    "/events", response_model=Page[VoiceCallEventRead], summary="The shop's voice call events"
)
async def list_events(
    principal: EventReader,
    session: ShopSession,
    page: Paging,
    call_id: Annotated[
        uuid.UUID | None, Query(alias="callId", description="Only this call's events.")
    ] = None,
    type: Annotated[
        str | None, Query(max_length=64, description="An event type, e.g. `call.ended`.")
    ] = None,
    since: Annotated[
        IsoDatetime | None, Query(description="Only events received at or after this time.")
    ] = None,
) -> Page[VoiceCallEventRead]:
    """Every accepted delivery, newest first, with its call's caller (`phoneNumber`, E.164)
    and `direction`; the payload keeps no phone number, e-mail or words spoken. A `callId`
    of another shop is `404`."""
    rows, next_cursor = await service.list_events(
        session,
        page,
        call_id=call_id,
        type=type,
        since=since,
    )
    return Page[VoiceCallEventRead](
        items=[event_read(event, call) for event, call in rows], next_cursor=next_cursor
    )


@router.post(
    "/orders",
    response_model=VoiceOrderRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        404: {"description": "`callId` names no call of this shop"},
        409: {"description": "The Idempotency-Key was used with another request"},
    },
    summary="Create an order taken on a phone call",
)
async def create_order(
    body: VoiceOrderCreate,
    principal: OrderTaker,
    session: ShopSession,
    idempotent: Idempotent,
    rule_sets: RuleSets,
) -> VoiceOrderRead:
    """An order with `source: "voice"`, status `pending` and flagged for confirmation; the
    customer found or created by phone; the shop's routing rules' suggestion stored with
    it; `order.created` announced. A `callId` links the call to the order. Honours
    `Idempotency-Key`: a retry with the same key and body gets the same order."""
    order, items, call = await service.place_order(
        session, body, suggest_route=routing.route_suggester(rule_sets)
    )
    return VoiceOrderRead.model_validate(
        {
            **OrderRead.model_validate(order).model_dump(),
            "items": [OrderItemRead.model_validate(item) for item in items],
            "call_id": call.id if call is not None else None,
            "needs_confirmation": order.needs_confirmation,
        }
    )
