"""Support automation: events received, automation rules, staff tasks, the bot's context.

The webhook itself (``POST /api/ai/support/webhook[/{integrationId}]``) is the shared
inbound route of ``integrations``; support plugs its handler in (``service.receive_delivery``,
registered at start-up)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from bloomer_ai.auth.dependencies import Access, AuthKind
from bloomer_ai.auth.principal import Principal, Role
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.kit.pagination import Page
from bloomer_ai.kit.schemas import IsoDatetime
from bloomer_ai.ratelimit.policy import RouteGroup
from bloomer_ai.support import service
from bloomer_ai.support.schemas import (
    ContextReadRead,
    CustomerContext,
    OpeningRange,
    OrderContext,
    ShopContext,
    SupportContext,
    SupportEventRead,
    SupportRuleCreate,
    SupportRuleRead,
    SupportRuleUpdate,
    SupportTaskRead,
    SupportTaskUpdate,
    TaskStatus,
)
from bloomer_ai.web.pagination import Paging
from bloomer_ai.web.routes import JsonRoute
from bloomer_ai.web.unit_of_work import ShopSession

router = APIRouter(prefix="/api/ai/support", tags=["support"], route_class=JsonRoute)


def _access(scope: Scope, group: RouteGroup, roles: list[Role] | None = None) -> Any:
    return Depends(
        Access(AuthKind.SESSION_OR_KEY, scopes=[scope], roles=roles, group=group, feature="support")
    )


ContextReader = Annotated[Principal, _access(Scope.SUPPORT_CONTEXT, RouteGroup.READ)]
ContextAuditor = Annotated[
    Principal, _access(Scope.SUPPORT_CONTEXT, RouteGroup.READ, [Role.OWNER, Role.ADMIN])
]
EventReader = Annotated[Principal, _access(Scope.SUPPORT_EVENTS, RouteGroup.READ)]
RuleReader = Annotated[Principal, _access(Scope.SUPPORT_RULES_READ, RouteGroup.READ)]
RuleWriter = Annotated[
    Principal, _access(Scope.SUPPORT_RULES_WRITE, RouteGroup.WRITE, [Role.OWNER, Role.ADMIN])
]
TaskReader = Annotated[Principal, _access(Scope.SUPPORT_TASKS_READ, RouteGroup.READ)]
TaskWriter = Annotated[Principal, _access(Scope.SUPPORT_TASKS_WRITE, RouteGroup.WRITE)]

EVENT_ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "No such event in this shop"}}
RULE_ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "No such rule in this shop"}}
TASK_ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "No such task in this shop"}}
CONTEXT_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "The customerId is not a customer of this shop"}
}


# The bot's context first: routes are matched in the order they are declared, and it is
# the hot one.
@router.get(
    "/context",
    response_model=SupportContext,
    response_model_exclude_none=False,
    responses=CONTEXT_ERRORS,
    summary="The minimal context a support bot may know about a customer",
)
async def get_context(
    principal: ContextReader,
    session: ShopSession,
    customer_id: Annotated[
        str | None, Query(alias="customerId", max_length=64, description="Our customer id.")
    ] = None,
    phone: Annotated[
        str | None,
        Query(min_length=3, max_length=40, description="Any common spelling (shop's region)."),
    ] = None,
    email: Annotated[
        str | None, Query(min_length=3, max_length=320, description="Any letter case.")
    ] = None,
) -> SupportContext:
    """Exactly one of `customerId`, `phone`, `email`. The shop's name, whether it is open
    now and its hours today; the customer's id and first name; their three newest orders
    (number, status, delivery date, items) and how many are open. Nothing else personal:
    no last name, address, phone, e-mail or amounts. A phone or e-mail with no match is
    `customer: null`; a `customerId` of another shop is `404`. Every read is recorded."""
    facts = await service.support_context(
        session,
        principal,
        service.ContextQuery(customer_id=customer_id, phone=phone, email=email),
    )
    return SupportContext(
        shop=ShopContext(
            name=facts.shop.name,
            open_now=facts.open_now,
            hours_today=[OpeningRange(opens=a, closes=b) for a, b in facts.hours_today],
            timezone=facts.timezone,
        ),
        customer=CustomerContext(id=facts.customer_id, first_name=facts.first_name or "")
        if facts.customer_id is not None
        else None,
        recent_orders=[
            OrderContext(
                number=o.number,
                status=o.status,
                delivery_date=o.delivery_date,
                items_summary=o.items_summary,
            )
            for o in facts.recent_orders
        ],
        open_order_count=facts.open_order_count,
    )


@router.get(
    "/context-reads",
    response_model=Page[ContextReadRead],
    summary="Who read which customer's support context, and when",
)
async def list_context_reads(
    principal: ContextAuditor, session: ShopSession, page: Paging
) -> Page[ContextReadRead]:
    """Every read of `GET /api/ai/support/context`, newest first: when, by which key or
    user, how the customer was asked for, and the customer it matched (no personal data)."""
    rows, next_cursor = await service.list_context_reads(session, page)
    return Page[ContextReadRead](
        items=[ContextReadRead.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/events",
    response_model=Page[SupportEventRead],
    summary="The support events the shop received",
)
async def list_events(
    principal: EventReader,
    session: ShopSession,
    page: Paging,
    type: Annotated[str | None, Query(max_length=64, description="An event type.")] = None,
    channel: Annotated[
        str | None, Query(pattern=r"^(chat|email|sms|whatsapp|voice|social)$")
    ] = None,
    customer_id: Annotated[str | None, Query(alias="customerId", max_length=64)] = None,
    conversation_id: Annotated[
        str | None,
        Query(alias="conversationId", max_length=200, description="The platform's id."),
    ] = None,
    since: Annotated[
        IsoDatetime | None, Query(description="Only events received at or after this time.")
    ] = None,
) -> Page[SupportEventRead]:
    """Support events, newest first, filtered by type, channel, customer, the platform's
    conversation id and time; the payload keeps no phone, e-mail, name or message text."""
    rows, next_cursor = await service.list_events(
        session,
        page,
        type=type,
        channel=channel,
        customer_id=customer_id,
        conversation_id=conversation_id,
        since=since,
    )
    return Page[SupportEventRead](
        items=[SupportEventRead.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/events/{support_event_id}",
    response_model=SupportEventRead,
    responses=EVENT_ERRORS,
    summary="A support event",
)
async def get_event(
    support_event_id: str, principal: EventReader, session: ShopSession
) -> SupportEventRead:
    """One support event of the shop."""
    return SupportEventRead.model_validate(await service.get_event(session, support_event_id))


def _rule_read(rule: Any) -> SupportRuleRead:
    return SupportRuleRead(
        id=str(rule.id),
        name=rule.name,
        priority=rule.priority,
        conditions=rule.conditions,
        actions=rule.actions,
        enabled=rule.enabled,
        stop_on_match=rule.stop_on_match,
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


@router.get(
    "/rules", response_model=Page[SupportRuleRead], summary="The shop's support automation rules"
)
async def list_rules(
    principal: RuleReader, session: ShopSession, page: Paging
) -> Page[SupportRuleRead]:
    """The shop's own automation rules in the order they run (priority, lower first, then
    creation). A shop with none runs the built-in defaults (`/api/ai/support/default-rules`)."""
    rows, next_cursor = await service.list_rules(session, page)
    return Page[SupportRuleRead](items=[_rule_read(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/default-rules",
    response_model=list[SupportRuleRead],
    summary="The built-in rules a shop without rules of its own runs",
)
async def default_rules(principal: RuleReader) -> list[SupportRuleRead]:
    """Handoff requests and new tickets create a task; a CSAT of 1 or 2 creates a
    high-priority one. They are not stored: creating a rule of its own replaces them all."""
    return [
        SupportRuleRead(
            id=rule.id,
            name=rule.name,
            priority=rule.priority,
            conditions=rule.conditions,
            actions=rule.actions,
            enabled=True,
            stop_on_match=rule.stop_on_match,
            built_in=True,
        )
        for rule in service.DEFAULT_RULES
    ]


@router.post(
    "/rules",
    response_model=SupportRuleRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create an automation rule (JsonLogic over the event, validated)",
)
async def create_rule(
    body: SupportRuleCreate, principal: RuleWriter, session: ShopSession
) -> SupportRuleRead:
    """JsonLogic `conditions` over the support event's fields (docs/support.md) and its
    `actions` (`create_task`, `notify`); refused with each fault's path when an operator,
    field, size or action is not valid."""
    return _rule_read(await service.create_rule(session, body))


@router.get(
    "/rules/{support_rule_id}",
    response_model=SupportRuleRead,
    responses=RULE_ERRORS,
    summary="A support automation rule",
)
async def get_rule(
    support_rule_id: str, principal: RuleReader, session: ShopSession
) -> SupportRuleRead:
    """One automation rule of the shop."""
    return _rule_read(await service.get_rule(session, support_rule_id))


@router.patch(
    "/rules/{support_rule_id}",
    response_model=SupportRuleRead,
    responses=RULE_ERRORS,
    summary="Change a support automation rule",
)
async def update_rule(
    support_rule_id: str, body: SupportRuleUpdate, principal: RuleWriter, session: ShopSession
) -> SupportRuleRead:
    """Changes the fields sent; the others stay. The result is validated as a whole."""
    return _rule_read(await service.update_rule(session, support_rule_id, body))


@router.delete(
    "/rules/{support_rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=RULE_ERRORS,
    summary="Delete a support automation rule",
)
async def delete_rule(support_rule_id: str, principal: RuleWriter, session: ShopSession) -> None:
    """Deletes the rule; the next event no longer sees it (with none left, the defaults
    run again)."""
    await service.delete_rule(session, support_rule_id)


@router.get("/tasks", response_model=Page[SupportTaskRead], summary="The shop's support tasks")
async def list_tasks(
    principal: TaskReader,
    session: ShopSession,
    page: Paging,
    status_: Annotated[TaskStatus | None, Query(alias="status")] = None,
    assignee_user_id: Annotated[str | None, Query(alias="assigneeUserId", max_length=64)] = None,
    event_id: Annotated[str | None, Query(alias="eventId", max_length=64)] = None,
) -> Page[SupportTaskRead]:
    """Tasks automation created for the shop's staff, newest first, by status, assignee or
    the event they came from."""
    rows, next_cursor = await service.list_tasks(
        session, page, status=status_, assignee_user_id=assignee_user_id, event_id=event_id
    )
    return Page[SupportTaskRead](
        items=[SupportTaskRead.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/tasks/{task_id}", response_model=SupportTaskRead, responses=TASK_ERRORS, summary="A task"
)
async def get_task(task_id: str, principal: TaskReader, session: ShopSession) -> SupportTaskRead:
    """One support task of the shop."""
    return SupportTaskRead.model_validate(await service.get_task(session, task_id))


@router.patch(
    "/tasks/{task_id}",
    response_model=SupportTaskRead,
    responses=TASK_ERRORS,
    summary="Change a task's status, priority or assignee",
)
async def update_task(
    task_id: str, body: SupportTaskUpdate, principal: TaskWriter, session: ShopSession
) -> SupportTaskRead:
    """Moves a task along (`open` → `in_progress` → `done`, or back), changes its priority,
    or assigns it to a member of the shop (`assigneeUserId: null` unassigns). Announced as
    `support.task.updated`."""
    return SupportTaskRead.model_validate(await service.update_task(session, task_id, body))
