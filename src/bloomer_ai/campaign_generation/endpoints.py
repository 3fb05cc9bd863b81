"""Campaign copy generation: ask, poll, list, cancel; Lilli's callback.

| route | session | API key scope | rate-limit group | feature |
|---|---|---|---|---|
| POST /api/ai/campaigns/generate | any | campaigns:generate | campaigns | campaigns |
| GET /api/ai/campaigns/generate | any | campaigns:generate | read | campaigns |
| GET /api/ai/campaigns/generate/{id} | any | campaigns:generate | read | campaigns |
| POST /api/ai/campaigns/generate/{id}/cancel | any | campaigns:generate | write | campaigns |
| POST …/generate/{id}/result | — (signed, or key) | campaigns:callback | webhooks | campaigns |
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from bloomer_ai.auth.dependencies import Access, AuthKind
from bloomer_ai.auth.principal import Principal
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.campaign_generation import service
from bloomer_ai.campaign_generation.callback.access import CallbackSender, SignedCallback
from bloomer_ai.campaign_generation.schemas import (
    CallbackResult,
    GenerateRequest,
    GenerationAccepted,
    GenerationRead,
    Status,
)
from bloomer_ai.campaign_generation.worker.runs import to_read
from bloomer_ai.idempotency.dependency import Idempotent
from bloomer_ai.kit.pagination import Page
from bloomer_ai.kit.schemas import IsoDatetime
from bloomer_ai.kit.time import utcnow
from bloomer_ai.ratelimit.policy import RouteGroup
from bloomer_ai.web.pagination import Paging
from bloomer_ai.web.routes import JsonRoute
from bloomer_ai.web.unit_of_work import ShopSession

router = APIRouter(prefix="/api/ai/campaigns/generate", tags=["campaigns"], route_class=JsonRoute)


def _access(group: RouteGroup) -> Any:
    return Depends(
        Access(
            AuthKind.SESSION_OR_KEY,
            scopes=[Scope.CAMPAIGNS_GENERATE],
            group=group,
            feature="campaigns",
        )
    )


Requester = Annotated[Principal, _access(RouteGroup.CAMPAIGNS)]
Reader = Annotated[Principal, _access(RouteGroup.READ)]
Canceller = Annotated[Principal, _access(RouteGroup.WRITE)]
Sender = Annotated[CallbackSender, Depends(SignedCallback())]

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such generation request in this shop"}
}
FINISHED: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"description": "The request is finished (`generation_finished`)"},
}


@router.post(
    "",
    response_model=GenerationAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ask for campaign copy, written in the background",
)
async def request_generation(
    body: GenerateRequest, principal: Requester, session: ShopSession, idempotent: Idempotent
) -> GenerationAccepted:
    """Records the request and queues its generation in the same transaction; answers
    `202` with its `requestId` at once. The worker writes the variants with the configured
    provider (the offline builtin templates by default, `openai`, or `lilli`, which may
    call back later). Poll `GET /api/ai/campaigns/generate/{id}`, or take the
    `campaign.generation.completed` / `.failed` webhook. An `occasion` that is not on the
    shop's calendar is `422` (`body.input.occasion`). Honours `Idempotency-Key`."""
    row = await service.request_generation(session, body, now=utcnow())
    return GenerationAccepted(request_id=row.id, status="pending")


@router.get(
    "",
    response_model=Page[GenerationRead],
    summary="The shop's campaign generation requests",
)
async def list_generations(
    principal: Reader,
    session: ShopSession,
    page: Paging,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    campaign_id: Annotated[
        str | None, Query(alias="campaignId", min_length=1, max_length=64)
    ] = None,
    since: Annotated[
        IsoDatetime | None, Query(description="Only requests made at or after this time.")
    ] = None,
) -> Page[GenerationRead]:
    """Newest first, by status, the web app's campaign id and time."""
    rows, next_cursor = await service.list_generations(
        session,
        page,
        status=status_,
        campaign_id=campaign_id,
        since=since,
    )
    return Page[GenerationRead](items=[to_read(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/{generation_id}",
    response_model=GenerationRead,
    responses=NOT_FOUND,
    summary="A campaign generation request: its status and result",
)
async def get_generation(
    generation_id: str, principal: Reader, session: ShopSession
) -> GenerationRead:
    """Status (`pending`, `processing`, `awaiting_callback`, `completed`, `failed`,
    `cancelled`) with its timestamps, the runs started, the error of a failure, and the
    `output` once completed."""
    return to_read(await service.get_generation(session, generation_id))


@router.post(
    "/{generation_id}/cancel",
    response_model=GenerationRead,
    responses=FINISHED,
    summary="Cancel a campaign generation request",
)
async def cancel_generation(
    generation_id: str, principal: Canceller, session: ShopSession
) -> GenerationRead:
    """Cancels a request that is not finished: a run still going drops its result and a
    later callback is `409`. Cancelling a cancelled request answers it as it is; a completed
    or failed one is `409 generation_finished`."""
    return to_read(await service.cancel_generation(session, generation_id, now=utcnow()))


@router.post(
    "/{generation_id}/result",
    response_model=GenerationRead,
    responses={
        **FINISHED,
        409: {
            "description": "The request is finished (`generation_finished`) or its deadline "
            "passed (`callback_deadline_passed`)"
        },
    },
    summary="Lilli delivers the result of a generation it accepted for later",
)
async def deliver_result(
    generation_id: str, body: CallbackResult, sender: Sender, session: ShopSession
) -> GenerationRead:
    """`{"requestId", "status": "completed", "variants": [...]}` or `{"requestId", "status":
    "failed", "error": {"code", "message"}}` (`requestId` required when signed: the
    signature covers the body, not the URL). The first valid result wins and finishes the
    request (the `campaign.generation.*` webhook follows); the same delivery again (same
    `webhook-id`, or the same body with a key) gets the request as it is. A result for a
    cancelled, failed or completed request, or after the deadline, is `409`; variants
    outside the channel's limits are `422` with their field (`body.variants[0].smsText`)."""
    row = await service.deliver_result(
        session,
        generation_id,
        body,
        callback_id=sender.callback_id,
        signed=sender.via == "signature",
        now=utcnow(),
    )
    return to_read(row)
