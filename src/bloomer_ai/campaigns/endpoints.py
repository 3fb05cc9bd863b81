"""Campaign suggestions: ``POST /api/ai/campaigns/suggest``.

| route | session | API key scope | rate-limit group | feature |
|---|---|---|---|---|
| POST /api/ai/campaigns/suggest | any | campaigns:suggest | campaigns | campaigns |
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from bloomer_ai.auth.dependencies import Access, AuthKind
from bloomer_ai.auth.principal import Principal
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.campaigns import service
from bloomer_ai.campaigns.providers import CopyWriter
from bloomer_ai.campaigns.rules.segments import Segment
from bloomer_ai.campaigns.schemas import (
    AudienceRead,
    OccasionRead,
    SuggestionRead,
    SuggestRequest,
    SuggestResponse,
)
from bloomer_ai.kit.time import utcnow
from bloomer_ai.ratelimit.policy import RouteGroup
from bloomer_ai.web.routes import JsonRoute
from bloomer_ai.web.unit_of_work import ShopSession

router = APIRouter(prefix="/api/ai/campaigns", tags=["campaigns"], route_class=JsonRoute)

Suggester = Annotated[
    Principal,
    Depends(
        Access(
            AuthKind.SESSION_OR_KEY,
            scopes=[Scope.CAMPAIGNS_SUGGEST],
            group=RouteGroup.CAMPAIGNS,
            feature="campaigns",
        )
    ),
]


async def _copy_writer(request: Request) -> CopyWriter:
    writer: CopyWriter = request.app.state.campaign_copy_writer
    return writer


CopyWriterDep = Annotated[CopyWriter, Depends(_copy_writer)]


@router.post(
    "/suggest",
    response_model=SuggestResponse,
    summary="Campaign suggestions from the shop's own orders and calendar",
)
async def suggest(
    body: SuggestRequest, principal: Suggester, session: ShopSession, writer: CopyWriterDep
) -> SuggestResponse:
    """Ranked campaign suggestions computed from the shop's own data: the next occasions
    of its country's calendar (or the one named), the audience segment for each with its
    size among customers who consented to the channel (customers never asked are left
    out and counted), the weekday and hour its customers order most (in the shop's time
    zone, never in the past, never at night), and copy in the shop's language within the
    channel's limits. With an AI provider configured its copy may replace the rules'
    (`source: "provider"`); the rules' copy stands when it fails or is late.
    docs/campaigns.md has the definitions."""
    suggestions = await service.suggest_campaigns(
        session,
        service.SuggestionQuery(
            occasion=body.occasion,
            audience_type=Segment(body.audience_type) if body.audience_type else None,
            channel=body.channel,
            language=body.language,
            limit=body.limit,
        ),
        writer=writer,
        now=utcnow(),
    )
    return SuggestResponse(
        suggestions=[
            SuggestionRead.model_validate(
                {
                    "occasion": OccasionRead(
                        key=s.occasion.key, name=s.occasion_name, date=s.occasion.date
                    ),
                    "channel": s.channel,
                    "language": s.language,
                    "subject": s.subject,
                    "body_preview": s.body_preview,
                    "suggested_audience": AudienceRead.model_validate(
                        {
                            "segment": s.segment.value,
                            "description": s.description,
                            "estimated_size": s.estimated_size,
                            "excluded_without_consent": s.excluded_without_consent,
                        }
                    ),
                    "suggested_time": s.suggested_time,
                    "rationale": s.rationale,
                    "source": s.source,
                }
            )
            for s in suggestions
        ]
    )
