"""Smart order routing: JsonLogic rules (CRUD) and read-only evaluation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from bloomer_ai.auth.dependencies import Access, ShopSession
from bloomer_ai.auth.principal import Principal
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.db.session import request_session_of, uses_engine_connections
from bloomer_ai.kit.features import require_feature
from bloomer_ai.kit.http import JsonRoute
from bloomer_ai.kit.pagination import Page, PageParams, page_params
from bloomer_ai.ratelimit.policy import RouteGroup
from bloomer_ai.routing import service
from bloomer_ai.routing.rule_sets import RuleSetCache
from bloomer_ai.routing.schemas import (
    ConditionCheck,
    EvaluateRequest,
    EvaluateResponse,
    RuleCreate,
    RuleExplanationRead,
    RuleRead,
    RuleUpdate,
)

router = APIRouter(
    prefix="/api/ai/routing",
    tags=["routing"],
    route_class=JsonRoute,
    dependencies=[Depends(require_feature("routing"))],
)

Reader = Annotated[Principal, Depends(Access(scopes=[Scope.ROUTING_READ], group=RouteGroup.READ))]
Writer = Annotated[Principal, Depends(Access(scopes=[Scope.ROUTING_WRITE], group=RouteGroup.WRITE))]
Evaluator = Annotated[
    Principal, Depends(Access(scopes=[Scope.ROUTING_EVALUATE], group=RouteGroup.EVALUATE))
]


def _cache(request: Request) -> RuleSetCache:
    cache: RuleSetCache = request.app.state.routing_cache
    return cache


RULE_ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "No such rule in this shop"}}


@router.get("/rules", response_model=Page[RuleRead], summary="The shop's routing rules")
async def list_rules(
    principal: Reader,
    session: ShopSession,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[RuleRead]:
    rows, next_cursor = await service.list_rules(session, page)
    return Page[RuleRead](items=[RuleRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/rules",
    response_model=RuleRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a rule (validated: operators, order fields, size, action)",
)
async def create_rule(
    body: RuleCreate, principal: Writer, session: ShopSession, request: Request
) -> RuleRead:
    rule = await service.create_rule(session, principal.shop_id, body, _cache(request))
    return RuleRead.model_validate(rule)


@router.get("/rules/{rule_id}", response_model=RuleRead, responses=RULE_ERRORS)
async def get_rule(rule_id: str, principal: Reader, session: ShopSession) -> RuleRead:
    return RuleRead.model_validate(await service.get_rule(session, rule_id))


@router.patch("/rules/{rule_id}", response_model=RuleRead, responses=RULE_ERRORS)
async def update_rule(
    rule_id: str, body: RuleUpdate, principal: Writer, session: ShopSession, request: Request
) -> RuleRead:
    rule = await service.update_rule(session, principal.shop_id, rule_id, body, _cache(request))
    return RuleRead.model_validate(rule)


@router.delete("/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, responses=RULE_ERRORS)
async def delete_rule(
    rule_id: str, principal: Writer, session: ShopSession, request: Request
) -> None:
    await service.delete_rule(session, principal.shop_id, rule_id, _cache(request))


@router.post(
    "/evaluate",
    response_model=EvaluateResponse,
    response_model_exclude_none=False,
    summary="Evaluate the enabled rules against an order (read-only)",
)
async def evaluate(
    body: EvaluateRequest,
    principal: Evaluator,
    request: Request,
    explain: Annotated[bool, Query(description="Say why each rule matched or not.")] = False,
) -> EvaluateResponse:
    # No session parameter: with the rule set cached, an order-like body reads nothing.
    result = await service.evaluate(
        lambda: request_session_of(request),
        _cache(request),
        principal.shop_id,
        body,
        explain=explain,
        trust_change_feed=uses_engine_connections(request.app.state.session_factory),
    )
    return EvaluateResponse(
        suggested_route=dict(result.suggested_route) if result.suggested_route else None,
        matched_rule_ids=list(result.matched_rule_ids),
        evaluated_rules=result.evaluated_rules,
        explain=[
            RuleExplanationRead(
                rule_id=item.rule_id,
                outcome=item.outcome,
                decided_by=item.decided_by,
                checked=[
                    ConditionCheck(path=check.path, value=check.value, held=check.held)
                    for check in item.checked
                ],
                error=item.error,
            )
            for item in result.explain
        ]
        if result.explain is not None
        else None,
    )
