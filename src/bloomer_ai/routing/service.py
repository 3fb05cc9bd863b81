"""Routing rules: CRUD with validation, and read-only evaluation against compiled rules.

Every rule change bumps the shop's rule-set version in the same transaction; compiled rule
sets are cached per process by that version (``engine.rule_sets.RuleSetCache``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.customers import service as customers
from bloomer_ai.db.session import after_commit
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import OrderRoutingRule
from bloomer_ai.orders import service as orders
from bloomer_ai.routing.engine.rule_index import Evaluation
from bloomer_ai.routing.engine.rule_sets import RuleSetCache, ShopFacts
from bloomer_ai.routing.engine.validation import validate_action, validate_rule_conditions
from bloomer_ai.routing.errors import InvalidRule, RuleNotFound
from bloomer_ai.routing.repository import RuleRepository
from bloomer_ai.routing.schemas import EvaluateRequest, RuleCreate, RuleUpdate

# Customer segments, from the customer's earlier orders (documented in docs/routing.md).
VIP_ORDER_COUNT = 10
LAPSED_AFTER = timedelta(days=180)


# --- CRUD ----------------------------------------------------------------------------------


def _check_rule(conditions: Any, action: Any) -> None:
    faults = [*validate_rule_conditions(conditions), *validate_action(action)]
    if faults:
        raise InvalidRule(
            details=[
                {"field": f"body.{fault.path}", "message": fault.message, "type": "invalid_rule"}
                for fault in faults
            ]
        )


async def _bump_version(repository: RuleRepository, cache: RuleSetCache | None) -> None:
    version = await repository.bump_version()
    if cache is not None:
        shop_id = repository.shop_id
        # This process need not wait for the announcement to see its own change.
        after_commit(repository.session, lambda: cache.note_version(shop_id, version))


async def get_rule(session: AsyncSession, rule_id: str) -> OrderRoutingRule:
    rule = await RuleRepository(session).get(rule_id)
    if rule is None:
        raise RuleNotFound()
    return rule


async def list_rules(
    session: AsyncSession, params: PageParams
) -> tuple[Sequence[OrderRoutingRule], str | None]:
    return await RuleRepository(session).page(params)


async def create_rule(
    session: AsyncSession, data: RuleCreate, cache: RuleSetCache | None = None
) -> OrderRoutingRule:
    _check_rule(data.conditions, data.action)
    repository = RuleRepository(session)
    rule = await repository.insert(
        name=data.name,
        priority=data.priority,
        conditions=data.conditions,
        action=data.action,
        enabled=data.enabled,
        stop_on_match=data.stop_on_match,
    )
    await _bump_version(repository, cache)
    return rule


async def update_rule(
    session: AsyncSession, rule_id: str, data: RuleUpdate, cache: RuleSetCache | None = None
) -> OrderRoutingRule:
    repository = RuleRepository(session)
    rule = await get_rule(session, rule_id)
    changes = data.model_dump(exclude_unset=True)
    conditions = changes.get("conditions", rule.conditions)
    action = changes.get("action", rule.action)
    if "conditions" in changes or "action" in changes:
        _check_rule(conditions, action)
    for name, value in changes.items():
        setattr(rule, name, value)
    rule = await repository.save(rule)
    await _bump_version(repository, cache)
    return rule


async def delete_rule(
    session: AsyncSession, rule_id: str, cache: RuleSetCache | None = None
) -> None:
    repository = RuleRepository(session)
    await repository.delete(await get_rule(session, rule_id))
    await _bump_version(repository, cache)


# --- order context -------------------------------------------------------------------------


async def _customer_context(
    session: AsyncSession, customer_id: uuid.UUID, before: datetime | None
) -> dict[str, Any]:
    history = await customers.customer_history(session, customer_id, before)
    last_placed = history.last_order.placed_at if history.last_order else None
    return customer_segment(history.order_count, last_placed, before or datetime.now(UTC))


def customer_segment(
    order_count: int, last_placed: datetime | None, now: datetime
) -> dict[str, Any]:
    if order_count == 0:
        segment = "new"
    elif order_count >= VIP_ORDER_COUNT:
        segment = "vip"
    elif last_placed is not None and now - last_placed > LAPSED_AFTER:
        segment = "lapsed"
    else:
        segment = "regular"
    return {"segment": segment, "orderCount": order_count, "isNew": order_count == 0}


def _when(
    delivery_date: date | None, delivery_time: str | None, timezone: str, now: datetime
) -> tuple[int, int]:
    if delivery_date and delivery_time:  # the shop's clock is needed only for what is missing
        return delivery_date.isoweekday(), int(delivery_time[:2])
    local_now = now.astimezone(ZoneInfo(timezone))
    weekday = delivery_date.isoweekday() if delivery_date else local_now.isoweekday()
    hour = int(delivery_time[:2]) if delivery_time else local_now.hour
    return weekday, hour


def build_context(
    *,
    items: Sequence[Mapping[str, Any]],
    delivery_zone: str | None,
    delivery_date: date | None,
    delivery_time: str | None,
    total: int | None,
    currency: str,
    source: str,
    tags: Sequence[str],
    customer: Mapping[str, Any] | None,
    timezone: str,
    now: datetime,
) -> dict[str, Any]:
    """The order context rules read (fields listed in validation.ORDER_CONTEXT_FIELDS)."""
    weekday, hour = _when(delivery_date, delivery_time, timezone, now)
    return {
        "deliveryZone": delivery_zone,
        "deliveryDate": delivery_date.isoformat() if delivery_date else None,
        "deliveryTime": delivery_time,
        "total": total
        if total is not None
        else sum(int(item["unitPrice"]) * int(item["quantity"]) for item in items),
        "currency": currency,
        "source": source,
        "items": list(items),
        "customer": dict(customer) if customer is not None else None,
        "tags": list(tags),
        "weekday": weekday,
        "hour": hour,
    }


async def context_from_request(
    session: AsyncSession, shop: ShopFacts, request: EvaluateRequest, now: datetime
) -> dict[str, Any]:
    """The order context; the session is used only for an orderId or a customerId."""
    if request.order_id is not None or request.order_number is not None:
        return await _context_of_stored_order(session, request, shop, now)
    customer = None
    if request.customer_id is not None:
        known = await customers.get_customer(session, request.customer_id)
        customer = await _customer_context(session, known.id, None)
    items = [
        {
            "productType": item.product_type,
            "sku": item.sku,
            "quantity": item.quantity,
            "unitPrice": item.unit_price,
            "name": item.name,
        }
        for item in request.items or []
    ]
    return build_context(
        items=items,
        delivery_zone=request.delivery_zone,
        delivery_date=request.delivery_date,
        delivery_time=request.delivery_time,
        total=request.total,
        currency=request.currency or shop.currency,
        source=request.source or "web",
        tags=request.tags or [],
        customer=customer,
        timezone=shop.timezone,
        now=now,
    )


async def _context_of_stored_order(
    session: AsyncSession, request: EvaluateRequest, shop: ShopFacts, now: datetime
) -> dict[str, Any]:
    if request.order_number is not None:
        order = await orders.get_order_by_number(session, request.order_number)
    else:
        assert request.order_id is not None
        order = await orders.get_order(session, request.order_id)
    rows = await orders.order_items(session, order.id)
    customer = (
        await _customer_context(session, order.customer_id, order.placed_at)
        if order.customer_id
        else None
    )
    items = [
        {
            "productType": row.product_type,
            "sku": row.sku,
            "quantity": row.quantity,
            "unitPrice": row.unit_price_minor,
            "name": row.name,
        }
        for row in rows
    ]
    return build_context(
        items=items,
        delivery_zone=order.delivery_zone,
        delivery_date=order.delivery_date,
        delivery_time=order.delivery_time,
        total=order.total_minor,
        currency=order.currency,
        source=order.source,
        tags=order.tags,
        customer=customer,
        timezone=shop.timezone,
        now=now,
    )


def route_suggester(cache: RuleSetCache) -> orders.RouteSuggester:
    """``orders.create_order``'s routing: the shop's rules on the draft, stored with the
    order as ``{suggestedRoute, matchedRuleIds, evaluatedRules}`` (evaluate's answer)."""

    async def suggest(
        session: AsyncSession, draft: orders.OrderDraft, customer_id: uuid.UUID | None
    ) -> dict[str, Any]:
        repository = RuleRepository(session)
        rule_set = cache.trusted(repository.shop_id) or await cache.load(session)
        now = datetime.now(UTC)
        customer = await _customer_context(session, customer_id, now) if customer_id else None
        context = build_context(
            items=[
                {
                    "productType": item.product_type,
                    "sku": item.sku,
                    "quantity": item.quantity,
                    "unitPrice": item.unit_price,
                    "name": item.name,
                }
                for item in draft.items
            ],
            delivery_zone=draft.delivery_zone,
            delivery_date=draft.delivery_date,
            delivery_time=draft.delivery_time,
            total=draft.total,
            currency=draft.currency or rule_set.facts.currency,
            source=draft.source,
            tags=draft.tags,
            customer=customer,
            timezone=rule_set.facts.timezone,
            now=now,
        )
        evaluation = rule_set.rules.evaluate(context, explain=False)
        return {
            "suggestedRoute": evaluation.suggested_route,
            "matchedRuleIds": list(evaluation.matched_rule_ids),
            "evaluatedRules": evaluation.evaluated_rules,
        }

    return suggest


async def evaluate(
    session: AsyncSession,
    cache: RuleSetCache,
    request: EvaluateRequest,
    *,
    explain: bool,
    now: datetime | None = None,
) -> Evaluation:
    """Match an order against the shop's enabled rules. Reads only; writes nothing.

    With a trusted cached rule set and an order-like body without a customer, nothing is
    read from the database: the session (lazily begun) is never used.
    """
    repository = RuleRepository(session)
    rule_set = cache.trusted(repository.shop_id)
    if rule_set is None:
        rule_set = await cache.load(session)
    context = await context_from_request(session, rule_set.facts, request, now or datetime.now(UTC))
    return rule_set.rules.evaluate(context, explain=explain)
