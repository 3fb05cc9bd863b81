"""Smart order routing: JsonLogic rules (CRUD) and read-only evaluation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from bloomer_ai.auth.dependencies import Access, AuthKind
from bloomer_ai.auth.principal import Principal
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.kit.pagination import Page
from bloomer_ai.ratelimit.policy import RouteGroup
from bloomer_ai.routing import service
from bloomer_ai.routing.engine.rule_sets import RuleSetCache
from bloomer_ai.routing.schemas import (
    ConditionCheck,
    EvaluateRequest,
    EvaluateResponse,
    RuleCreate,
    RuleExplanationRead,
    RuleRead,
    RuleUpdate,
)
from bloomer_ai.web.pagination import Paging
from bloomer_ai.web.routes import JsonRoute
from bloomer_ai.web.unit_of_work import ShopSession

router = APIRouter(prefix="/api/ai/routing", tags=["routing"], route_class=JsonRoute)


def _access(scope: Scope, group: RouteGroup) -> Access:
    return Access(AuthKind.SESSION_OR_KEY, scopes=[scope], group=group, feature="routing")


Reader = Annotated[Principal, Depends(_access(Scope.ROUTING_READ, RouteGroup.READ))]
Writer = Annotated[Principal, Depends(_access(Scope.ROUTING_WRITE, RouteGroup.WRITE))]
Evaluator = Annotated[Principal, Depends(_access(Scope.ROUTING_EVALUATE, RouteGroup.EVALUATE))]


async def _rule_sets(request: Request) -> RuleSetCache:
    cache: RuleSetCache = request.app.state.rule_sets
    return cache


RuleSets = Annotated[RuleSetCache, Depends(_rule_sets)]

RULE_ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "No such rule in this shop"}}


# Evaluate first: routes are matched in the order they are declared, and it is the hot one.
@router.post(
    "/evaluate",
    response_model=EvaluateResponse,
    response_model_exclude_none=False,
    summary="Evaluate the enabled rules against an order (read-only)",
)
async def evaluate(
    body: EvaluateRequest,
    principal: Evaluator,
    session: ShopSession,
    rule_sets: RuleSets,
    explain: Annotated[bool, Query(description="Say why each rule matched or not.")] = False,
) -> EvaluateResponse:
    """Runs the shop's enabled rules, in priority order, against an order: a stored one
    (`orderId` or `orderNumber`) or one described in the body (at least one item or a
    total). Changes nothing; `explain=true` says why each rule matched or not."""
    result = await service.evaluate(session, rule_sets, body, explain=explain)
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


@router.get("/rules", response_model=Page[RuleRead], summary="The shop's routing rules")
async def list_rules(principal: Reader, session: ShopSession, page: Paging) -> Page[RuleRead]:
    """The shop's routing rules in the order they run (priority, lower first, then
    creation), in cursor pages."""
    rows, next_cursor = await service.list_rules(session, page)
    return Page[RuleRead](items=[RuleRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/rules",
    response_model=RuleRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a rule (validated: operators, order fields, size, action)",
)
async def create_rule(
    body: RuleCreate, principal: Writer, session: ShopSession, rule_sets: RuleSets
) -> RuleRead:
    """A rule is JsonLogic `conditions` over the order's fields and one `action`. Refused
    with each fault's path when an operator, field, size or action is not valid."""
    return RuleRead.model_validate(await service.create_rule(session, body, rule_sets))


@router.get(
    "/rules/{rule_id}", response_model=RuleRead, responses=RULE_ERRORS, summary="A routing rule"
)
async def get_rule(rule_id: str, principal: Reader, session: ShopSession) -> RuleRead:
    """One routing rule of the shop."""
    return RuleRead.model_validate(await service.get_rule(session, rule_id))


@router.patch(
    "/rules/{rule_id}",
    response_model=RuleRead,
    responses=RULE_ERRORS,
    summary="Change a routing rule",
)
async def update_rule(
    rule_id: str, body: RuleUpdate, principal: Writer, session: ShopSession, rule_sets: RuleSets
) -> RuleRead:
    """Changes the fields sent; the others stay. The result is validated as a whole."""
    return RuleRead.model_validate(await service.update_rule(session, rule_id, body, rule_sets))


@router.delete(
    "/rules/{rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=RULE_ERRORS,
    summary="Delete a routing rule",
)
async def delete_rule(
    rule_id: str, principal: Writer, session: ShopSession, rule_sets: RuleSets
) -> None:
    """Deletes the rule; evaluations from the next request on no longer see it."""
    await service.delete_rule(session, rule_id, rule_sets)
