"""Support automation: events in, rules run, tasks out; and the bot's minimal context.

A verified delivery (``receive_delivery``, the inbound handler of support) is mapped by
its provider's module onto our event, its customer matched by phone or e-mail, stored with
personal data reduced, and the shop's automation rules (or the built-in defaults) run in
the same transaction: the tasks they create are committed with the event or not at all.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.agent.config.schema import closed_reason, hours_for, hours_zone, is_open_at
from bloomer_ai.agent.service import parse_config
from bloomer_ai.auth.principal import Principal
from bloomer_ai.customers import service as customers
from bloomer_ai.errors import ValidationFailed
from bloomer_ai.integrations.inbound.handlers import InboundEvent, InboundReply
from bloomer_ai.kit.ids import parse_id
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import SupportContextRead, SupportEvent, SupportRule, SupportTask
from bloomer_ai.models.support import ASSIGNEE_ROLES, SUPPORT_CHANNELS, TASK_PRIORITIES
from bloomer_ai.orders import service as orders
from bloomer_ai.outbound_webhooks.service import record_event
from bloomer_ai.routing import service as routing
from bloomer_ai.routing.engine.compiler import compile_predicate
from bloomer_ai.routing.engine.validation import Fault, Variables, validate_rule_conditions
from bloomer_ai.shops import service as shops
from bloomer_ai.shops.repository import ShopProfile
from bloomer_ai.support.errors import (
    InvalidSupportQuery,
    InvalidSupportRule,
    SupportEventNotFound,
    SupportRuleNotFound,
    SupportTaskNotFound,
)
from bloomer_ai.support.providers import PROVIDERS
from bloomer_ai.support.providers.base import MappedEvent
from bloomer_ai.support.repository import (
    ContextReadRepository,
    SupportEventRepository,
    SupportRuleRepository,
    SupportTaskRepository,
)
from bloomer_ai.support.schemas import SupportRuleCreate, SupportRuleUpdate, SupportTaskUpdate

log = structlog.get_logger("bloomer_ai.support")

# --- what rules read -----------------------------------------------------------------------

SUPPORT_EVENT_FIELDS: Final[Mapping[str, str]] = {
    "type": 'The event type, e.g. "handoff.requested" (docs/support.md).',
    "channel": 'The channel: "chat", "email", "sms", "whatsapp", "voice", "social" (or null).',
    "provider": 'Who sent it: "lilli", "chatwoot", "zendesk".',
    "csatScore": "The CSAT score 1-5 of a csat.submitted event, else null.",
    "summary": "The event's summary in lower case (reason, ticket subject, CSAT comment), "
    'or ""; test keywords with {"in": ["refund", {"var": "summary"}]}.',
    "customer": "The matched customer (an object), or null when none matched.",
    "customer.known": "True when the event's phone or e-mail matched a customer.",
    "customer.segment": 'The customer\'s segment as routing computes it: "new", "regular", '
    '"vip", "lapsed" (null when no customer matched).',
    "customer.orderCount": "How many orders the customer placed.",
    "shopOpen": "True when the shop is open now (its opening hours, closed dates honoured).",
    "hour": "The hour now in the shop's time zone, 0-23.",
    "weekday": "The ISO weekday now in the shop's time zone, 1 = Monday ... 7 = Sunday.",
}

SUPPORT_VARIABLES: Final = Variables(
    fields=SUPPORT_EVENT_FIELDS,
    item_fields={},
    item_collection=None,
    indexed_paths=False,
    subject="support rules",
    context="support event",
)

ACTION_TYPES: Final = ("create_task", "notify")
TEMPLATE_FIELDS: Final = ("type", "channel", "provider", "csatScore", "conversationId")
_PLACEHOLDER: Final = re.compile(r"\{([^{}]*)\}")
MAX_DUE_MINUTES: Final = 60 * 24 * 30


def _action_faults(actions: Any) -> list[Fault]:
    faults: list[Fault] = []
    if not isinstance(actions, list) or not actions:
        return [Fault("actions", "a list of one to five actions")]
    creates = 0
    for index, action in enumerate(actions):
        path = f"actions[{index}]"
        if not isinstance(action, dict):
            faults.append(Fault(path, "an action is an object with a type"))
            continue
        kind = action.get("type")
        if kind not in ACTION_TYPES:
            faults.append(Fault(f"{path}.type", f"one of {', '.join(ACTION_TYPES)}"))
            continue
        allowed = (
            {"type", "title", "priority", "assigneeRole", "dueInMinutes"}
            if kind == "create_task"
            else {"type"}
        )
        for extra in sorted(set(action) - allowed):
            faults.append(Fault(f"{path}.{extra}", f"not a field of {kind}"))
        if kind == "notify":
            continue
        creates += 1
        title = action.get("title")
        if not isinstance(title, str) or not 1 <= len(title.strip()) <= 200:
            faults.append(Fault(f"{path}.title", "a title template of 1-200 characters"))
        else:
            for name in _PLACEHOLDER.findall(title):
                if name not in TEMPLATE_FIELDS:
                    faults.append(
                        Fault(
                            f"{path}.title",
                            f"unknown placeholder {{{name}}}; use "
                            + ", ".join(f"{{{field}}}" for field in TEMPLATE_FIELDS),
                        )
                    )
        if action.get("priority", "normal") not in TASK_PRIORITIES:
            faults.append(Fault(f"{path}.priority", f"one of {', '.join(TASK_PRIORITIES)}"))
        role = action.get("assigneeRole")
        if role is not None and role not in ASSIGNEE_ROLES:
            faults.append(Fault(f"{path}.assigneeRole", f"one of {', '.join(ASSIGNEE_ROLES)}"))
        due = action.get("dueInMinutes")
        if due is not None and (
            not isinstance(due, int) or isinstance(due, bool) or not 1 <= due <= MAX_DUE_MINUTES
        ):
            faults.append(Fault(f"{path}.dueInMinutes", f"whole minutes, 1-{MAX_DUE_MINUTES}"))
    if creates > 1:
        faults.append(Fault("actions", "at most one create_task per rule"))
    if creates == 0 and any(isinstance(a, dict) and a.get("type") == "notify" for a in actions):
        faults.append(Fault("actions", "notify announces the task a create_task makes"))
    return faults


def check_rule(conditions: Any, actions: Any) -> None:
    """The conditions as the routing engine checks them (over the support event's fields)
    and the actions; ``422 invalid_rule`` with each fault's ``body.…`` path."""
    faults = [
        *validate_rule_conditions(conditions, variables=SUPPORT_VARIABLES),
        *_action_faults(actions),
    ]
    if faults:
        raise InvalidSupportRule(
            details=[
                {"field": f"body.{fault.path}", "message": fault.message, "type": "invalid_rule"}
                for fault in faults
            ]
        )


@dataclass(frozen=True, slots=True)
class RuleSpec:
    id: str
    name: str
    priority: int
    conditions: Any
    actions: list[dict[str, Any]]
    stop_on_match: bool = False


DEFAULT_RULES: Final[tuple[RuleSpec, ...]] = (
    RuleSpec(
        "default:handoff",
        "A person is asked for",
        10,
        {"==": [{"var": "type"}, "handoff.requested"]},
        [
            {"type": "create_task", "title": "Handoff requested ({channel})", "priority": "normal"},
            {"type": "notify"},
        ],
    ),
    RuleSpec(
        "default:ticket",
        "A ticket was opened",
        20,
        {"==": [{"var": "type"}, "ticket.created"]},
        [
            {"type": "create_task", "title": "New ticket ({channel})", "priority": "normal"},
            {"type": "notify"},
        ],
    ),
    RuleSpec(
        "default:low-csat",
        "A customer was unhappy (CSAT 1-2)",
        30,
        {
            "and": [
                {"==": [{"var": "type"}, "csat.submitted"]},
                {"<=": [1, {"var": "csatScore"}, 2]},
            ]
        },
        [
            {"type": "create_task", "title": "Low CSAT ({csatScore}/5)", "priority": "high"},
            {"type": "notify"},
        ],
    ),
)
for _rule in DEFAULT_RULES:  # the defaults obey the rules they stand in for
    check_rule(_rule.conditions, _rule.actions)


# --- rules CRUD -----------------------------------------------------------------------------


async def get_rule(session: AsyncSession, rule_id: str) -> SupportRule:
    rule = await SupportRuleRepository(session).get(rule_id)
    if rule is None:
        raise SupportRuleNotFound()
    return rule


async def list_rules(
    session: AsyncSession, params: PageParams
) -> tuple[Sequence[SupportRule], str | None]:
    return await SupportRuleRepository(session).page(params)


async def create_rule(session: AsyncSession, data: SupportRuleCreate) -> SupportRule:
    check_rule(data.conditions, data.actions)
    return await SupportRuleRepository(session).insert(
        name=data.name,
        priority=data.priority,
        conditions=data.conditions,
        actions=data.actions,
        enabled=data.enabled,
        stop_on_match=data.stop_on_match,
    )


async def update_rule(session: AsyncSession, rule_id: str, data: SupportRuleUpdate) -> SupportRule:
    rule = await get_rule(session, rule_id)
    changes = data.model_dump(exclude_unset=True)
    if "conditions" in changes or "actions" in changes:
        check_rule(changes.get("conditions", rule.conditions), changes.get("actions", rule.actions))
    for name, value in changes.items():
        setattr(rule, name, value)
    return await SupportRuleRepository(session).save(rule)


async def delete_rule(session: AsyncSession, rule_id: str) -> None:
    repository = SupportRuleRepository(session)
    await repository.delete(await get_rule(session, rule_id))


# --- receiving an event --------------------------------------------------------------------


def _reduced_payload(mapped: MappedEvent) -> dict[str, Any]:
    """What is kept of the delivery: no phone, e-mail, name or message text."""
    kept: dict[str, Any] = dict(mapped.facts)
    if mapped.csat_score is not None:
        kept["csatScore"] = mapped.csat_score
    if mapped.summary:
        kept["summary"] = mapped.summary
    kept["customerGiven"] = {"phone": bool(mapped.phone), "email": bool(mapped.email)}
    return kept


def _local_now(shop: ShopProfile, now: datetime) -> tuple[bool, datetime, list[tuple[str, str]]]:
    """Whether the shop is open now, its local time, and today's opening ranges."""
    config = parse_config(shop.id, shop.lilli_config)
    try:
        open_now = is_open_at(config, shop.timezone, now, country=shop.country)
        local = now.astimezone(hours_zone(config, shop.timezone))
    except ValueError:  # a shop row with an unknown zone: closed, UTC
        return False, now.astimezone(UTC), []
    closed = closed_reason(config, shop.country, local.date()) is not None
    today = [] if closed else hours_for(config, local.weekday())
    return open_now, local, today


async def _customer_facts(
    session: AsyncSession, customer_id: uuid.UUID | None, now: datetime
) -> dict[str, Any] | None:
    if customer_id is None:
        return None
    history = await customers.customer_history(session, customer_id)
    last = history.last_order.placed_at if history.last_order else None
    facts = routing.customer_segment(history.order_count, last, now)
    return {"known": True, "segment": facts["segment"], "orderCount": facts["orderCount"]}


def rule_context(
    mapped: MappedEvent,
    provider: str,
    customer: Mapping[str, Any] | None,
    shop_open: bool,
    local_now: datetime,
) -> dict[str, Any]:
    """The support event as rules read it (fields in ``SUPPORT_EVENT_FIELDS``)."""
    return {
        "type": mapped.type,
        "channel": mapped.channel,
        "provider": provider,
        "csatScore": mapped.csat_score,
        "summary": (mapped.summary or "").lower(),
        "customer": dict(customer) if customer is not None else None,
        "shopOpen": shop_open,
        "hour": local_now.hour,
        "weekday": local_now.isoweekday(),
    }


def _title(template: str, values: Mapping[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return "-" if value is None else str(value)

    return _PLACEHOLDER.sub(fill, template)[:300]


def _applicable_rules(stored: Sequence[SupportRule]) -> list[RuleSpec]:
    """The shop's own rules (enabled ones, in order); the built-in defaults when it has
    none at all (a shop that disabled every rule of its own has chosen quiet)."""
    if not stored:
        return list(DEFAULT_RULES)
    return [
        RuleSpec(str(r.id), r.name, r.priority, r.conditions, r.actions, r.stop_on_match)
        for r in stored
        if r.enabled
    ]


def task_payload(task: SupportTask) -> dict[str, Any]:
    """The outbound event's data: the task as the API shows it (no personal data)."""
    return {
        "id": str(task.id),
        "shopId": str(task.shop_id),
        "title": task.title,
        "status": task.status,
        "priority": task.priority,
        "assigneeRole": task.assignee_role,
        "assigneeUserId": str(task.assignee_user_id) if task.assignee_user_id else None,
        "dueAt": task.due_at.isoformat() if task.due_at else None,
        "eventId": str(task.event_id) if task.event_id else None,
        "customerId": str(task.customer_id) if task.customer_id else None,
        "ruleId": task.rule_id,
    }


async def announce_task(session: AsyncSession, task: SupportTask, event_type: str) -> None:
    """``support.task.created`` / ``support.task.updated`` as outbound webhooks, recorded
    in the task's own transaction and delivered by jobs (``outbound_webhooks``)."""
    await record_event(session, task.shop_id, event_type, task_payload(task))


async def run_rules(
    session: AsyncSession,
    event: SupportEvent,
    context: Mapping[str, Any],
    *,
    now: datetime,
) -> list[SupportTask]:
    """Run the shop's rules against an event; the tasks they created (flushed)."""
    rules = _applicable_rules(await SupportRuleRepository(session).in_order())
    tasks: list[SupportTask] = []
    template_values = {
        "type": event.type,
        "channel": event.channel,
        "provider": event.provider,
        "csatScore": context.get("csatScore"),
        "conversationId": event.external_conversation_id,
    }
    repository = SupportTaskRepository(session)
    for rule in rules:
        try:
            matched = compile_predicate(rule.conditions)(context)
        except Exception:  # a stored rule must never lose the event
            log.warning("support_rule_failed", rule_id=rule.id)
            continue
        if not matched:
            continue
        create = next((a for a in rule.actions if a.get("type") == "create_task"), None)
        if create is not None:
            due = create.get("dueInMinutes")
            task = await repository.insert(
                title=_title(str(create["title"]), template_values),
                priority=create.get("priority", "normal"),
                assignee_role=create.get("assigneeRole"),
                due_at=now + timedelta(minutes=int(due)) if due else None,
                event_id=event.id,
                customer_id=event.customer_id,
                rule_id=rule.id,
            )
            tasks.append(task)
            if any(a.get("type") == "notify" for a in rule.actions):
                await announce_task(session, task, "support.task.created")
        if rule.stop_on_match:
            break
    return tasks


async def record_support_event(
    session: AsyncSession,
    *,
    provider: str,
    delivery_id: str,
    mapped: MappedEvent,
    now: datetime | None = None,
) -> tuple[SupportEvent, list[SupportTask]]:
    """Store the event (customer matched) and run the rules, in the caller's transaction."""
    now = now or datetime.now(UTC)
    shop = await shops.shop_profile(session)
    customer_id = await customers.find_customer_id(
        session, phone=mapped.phone, email=mapped.email, country=shop.country
    )
    channel = mapped.channel if mapped.channel in SUPPORT_CHANNELS else None
    event = await SupportEventRepository(session).insert(
        type=mapped.type[:64],
        channel=channel,
        provider=provider,
        delivery_id=delivery_id[:300],
        external_conversation_id=mapped.conversation_id,
        customer_id=customer_id,
        payload=_reduced_payload(mapped),
        created_at=now,
    )
    shop_open, local_now, _hours = _local_now(shop, now)
    customer = await _customer_facts(session, customer_id, now)
    context = rule_context(mapped, provider, customer, shop_open, local_now)
    tasks = await run_rules(session, event, context, now=now)
    log.info(
        "support_event_recorded",
        event_type=event.type,
        provider=provider,
        customer_matched=customer_id is not None,
        tasks=len(tasks),
    )
    return event, tasks


async def receive_delivery(session: AsyncSession, delivery: InboundEvent) -> InboundReply:
    """The inbound handler of support, for every provider (registered at start-up)."""
    provider = PROVIDERS[delivery.provider]
    mapped = provider.to_event(delivery.payload)
    event, tasks = await record_support_event(
        session, provider=delivery.provider, delivery_id=delivery.delivery_id, mapped=mapped
    )
    body = {"received": True, "eventId": str(event.id), "taskIds": [str(t.id) for t in tasks]}
    return InboundReply(200, json.dumps(body).encode(), "application/json")


# --- events and tasks -----------------------------------------------------------------------


async def get_event(session: AsyncSession, event_id: str) -> SupportEvent:
    event = await SupportEventRepository(session).get(event_id)
    if event is None:
        raise SupportEventNotFound()
    return event


def _id_or_error(raw: str | None, field: str) -> uuid.UUID | None:
    if raw is None:
        return None
    parsed = parse_id(raw)
    if parsed is None:
        raise InvalidSupportQuery(
            details=[{"field": field, "message": "not an id of this API", "type": "uuid"}]
        )
    return parsed


async def list_events(
    session: AsyncSession,
    params: PageParams,
    *,
    type: str | None = None,
    channel: str | None = None,
    customer_id: str | None = None,
    conversation_id: str | None = None,
    since: datetime | None = None,
) -> tuple[Sequence[SupportEvent], str | None]:
    return await SupportEventRepository(session).page(
        params,
        type=type,
        channel=channel,
        customer_id=_id_or_error(customer_id, "query.customerId"),
        conversation_id=conversation_id,
        since=since,
    )


async def get_task(session: AsyncSession, task_id: str) -> SupportTask:
    task = await SupportTaskRepository(session).get(task_id)
    if task is None:
        raise SupportTaskNotFound()
    return task


async def list_tasks(
    session: AsyncSession,
    params: PageParams,
    *,
    status: str | None = None,
    assignee_user_id: str | None = None,
    event_id: str | None = None,
) -> tuple[Sequence[SupportTask], str | None]:
    return await SupportTaskRepository(session).page(
        params,
        status=status,
        assignee_user_id=_id_or_error(assignee_user_id, "query.assigneeUserId"),
        event_id=_id_or_error(event_id, "query.eventId"),
    )


async def update_task(session: AsyncSession, task_id: str, data: SupportTaskUpdate) -> SupportTask:
    task = await get_task(session, task_id)
    changes = data.model_dump(exclude_unset=True)
    assignee = changes.get("assignee_user_id")
    if assignee is not None and await shops.role_in_shop(session, assignee) is None:
        raise ValidationFailed(
            details=[
                {
                    "field": "body.assigneeUserId",
                    "message": "not a member of this shop",
                    "type": "not_a_member",
                }
            ]
        )
    for name, value in changes.items():
        setattr(task, name, value)
    task = await SupportTaskRepository(session).save(task)
    await announce_task(session, task, "support.task.updated")
    return task


# --- the bot's context ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContextQuery:
    customer_id: str | None = None
    phone: str | None = None
    email: str | None = None

    @property
    def lookup(self) -> str:
        if self.customer_id is not None:
            return "customerId"
        return "phone" if self.phone is not None else "email"


def check_context_query(query: ContextQuery) -> None:
    given = [
        name
        for name, value in (
            ("customerId", query.customer_id),
            ("phone", query.phone),
            ("email", query.email),
        )
        if value is not None
    ]
    if len(given) != 1:
        fields = given or ["customerId"]
        raise InvalidSupportQuery(
            details=[
                {
                    "field": f"query.{name}",
                    "message": "give exactly one of customerId, phone, email",
                    "type": "one_of",
                }
                for name in fields
            ]
        )


@dataclass(frozen=True, slots=True)
class SupportContextFacts:
    shop: ShopProfile
    open_now: bool
    hours_today: list[tuple[str, str]]
    timezone: str
    customer_id: uuid.UUID | None
    first_name: str | None
    recent_orders: list[orders.OrderGlance]
    open_order_count: int


async def support_context(
    session: AsyncSession,
    principal: Principal,
    query: ContextQuery,
    *,
    now: datetime | None = None,
) -> SupportContextFacts:
    """The minimal context of a customer for a support bot, and the record of the read.

    A ``customerId`` that is not one of this shop's is ``404`` (as any object of another
    shop); a phone or e-mail with no match here is ``customer: null``, never a hint
    whether it exists elsewhere."""
    check_context_query(query)
    now = now or datetime.now(UTC)
    shop = await shops.shop_profile(session)
    first_name: str | None = None
    if query.customer_id is not None:
        customer = await customers.get_customer(session, query.customer_id)
        customer_id: uuid.UUID | None = customer.id
        first_name = customer.first_name
    else:
        found = await customers.find_customer(
            session, phone=query.phone, email=query.email, country=shop.country
        )
        customer_id = found.id if found is not None else None
        first_name = found.first_name if found is not None else None
    recent: list[orders.OrderGlance] = []
    open_count = 0
    if customer_id is not None:
        recent, open_count = await orders.customer_glance(session, customer_id)
    await ContextReadRepository(session).insert(
        principal_kind=principal.kind.value,
        api_key_id=principal.api_key_id,
        user_id=principal.user_id,
        lookup=query.lookup,
        customer_id=customer_id,
        read_at=now,
    )
    open_now, local, hours = _local_now(shop, now)
    return SupportContextFacts(
        shop=shop,
        open_now=open_now,
        hours_today=hours,
        timezone=str(local.tzinfo) if local.tzinfo is not UTC else shop.timezone,
        customer_id=customer_id,
        first_name=first_name,
        recent_orders=recent,
        open_order_count=open_count,
    )


async def list_context_reads(
    session: AsyncSession, params: PageParams
) -> tuple[Sequence[SupportContextRead], str | None]:
    return await ContextReadRepository(session).page(params)
