"""Tools on orders: find one, place one."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Final

from bloomer_ai.agent.service import parse_config
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.customers import service as customers
from bloomer_ai.idempotency import store
from bloomer_ai.models import Order, OrderItem
from bloomer_ai.orders import service as orders
from bloomer_ai.routing import service as routing
from bloomer_ai.routing.engine.rule_sets import RuleSetCache
from bloomer_ai.shops import service as shops
from bloomer_ai.tools.registry.base import ToolContext, ToolFailure
from bloomer_ai.tools.registry.shop import delivery_refusal
from bloomer_ai.tools.repository import ProductRepository
from bloomer_ai.tools.schemas import FindOrderArguments, OrderLine, PlaceOrderArguments

IDEMPOTENCY_TTL: Final = timedelta(hours=24)
MAX_SUMMARY_LINES: Final = 5

# A cache that never trusts the change feed: every call loads the shop's rules in its own
# transaction (a tool call is rare next to routing's evaluate, which keeps the app's cache).
_RULES: Final = RuleSetCache(trust_feed=False)


def _order_json(order: Order, items: Sequence[OrderItem]) -> dict[str, Any]:
    lines = [f"{item.quantity}\u00d7 {item.name}" for item in items[:MAX_SUMMARY_LINES]]
    if len(items) > MAX_SUMMARY_LINES:
        lines.append(f"and {len(items) - MAX_SUMMARY_LINES} more")
    return {
        "number": order.number,
        "status": order.status,
        "source": order.source,
        "deliveryZone": order.delivery_zone,
        "deliveryDate": order.delivery_date.isoformat() if order.delivery_date else None,
        "deliveryTime": order.delivery_time,
        "itemsSummary": ", ".join(lines),
        "total": order.total_minor,
        "currency": order.currency,
        "needsConfirmation": order.needs_confirmation,
        "placedAt": order.placed_at.isoformat(),
    }


async def find_order(context: ToolContext, arguments: FindOrderArguments) -> dict[str, Any]:
    """An order of the shop by its number, or the latest order of the customer with this
    phone number; ``found: false`` when there is none (never a hint about other shops).
    By phone it is a customer lookup too: the caller needs ``customers:read`` as well."""
    session = context.session
    order: Order | None = None
    if arguments.phone is not None and Scope.CUSTOMERS_READ.value not in context.principal.scopes:
        raise ToolFailure(
            "insufficient_scope",
            "Finding a phone number's latest order needs the scope customers:read too.",
        )
    if arguments.order_number is not None:
        order = await orders.find_order(session, arguments.order_number)
    else:
        shop = await shops.shop_profile(session)
        customer_id = await customers.find_customer_id(
            session, phone=arguments.phone, email=None, country=shop.country
        )
        if customer_id is not None:
            latest = (await customers.customer_history(session, customer_id)).last_order
            if latest is not None:
                order = await orders.find_order(session, str(latest.id))
    if order is None:
        return {"found": False}
    return {"found": True, "order": _order_json(order, await orders.order_items(session, order.id))}


def _fingerprint(arguments: PlaceOrderArguments) -> bytes:
    canonical = json.dumps(
        arguments.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(b"place_order\n" + canonical.encode()).digest()


async def _draft_items(context: ToolContext, lines: Sequence[OrderLine]) -> list[orders.DraftItem]:
    """Items priced from the catalogue (by id, else by exact name); a name the catalogue
    does not know is kept as written, unpriced, for the shop to confirm."""
    products = ProductRepository(context.session)
    by_id = await products.by_ids([line.product_id for line in lines if line.product_id])
    by_name = await products.by_lower_names(
        [line.name for line in lines if line.product_id is None and line.name]
    )
    items: list[orders.DraftItem] = []
    for index, line in enumerate(lines):
        if line.product_id is not None:
            product = by_id.get(line.product_id)
            if product is None:
                raise ToolFailure(
                    "product_not_found", f"items[{index}].productId is not a product of the shop."
                )
        else:
            product = by_name.get((line.name or "").lower())
        if product is not None and not product.available:
            raise ToolFailure(
                "product_unavailable", f"items[{index}]: {product.name} is not available."
            )
        if product is None:
            items.append(
                orders.DraftItem(
                    product_type="custom", name=line.name or "", quantity=line.quantity
                )
            )
        else:
            items.append(
                orders.DraftItem(
                    product_type=product.product_type,
                    name=product.name,
                    quantity=line.quantity,
                    unit_price=product.price_minor,
                    sku=product.sku,
                )
            )
    return items


async def place_order(context: ToolContext, arguments: PlaceOrderArguments) -> dict[str, Any]:
    """An order through ``orders.create_order`` (customer found or created by phone,
    routed by the shop's rules, ``needs_confirmation``, ``order.created`` recorded);
    with an idempotency key, the same key and arguments answer the first order again."""
    session = context.session
    claimed: store.Claimed | None = None
    if context.idempotency_key is not None:
        fingerprint = _fingerprint(arguments)
        claim = await store.claim(
            session,
            shop_id=context.principal.shop_id,
            key=f"tool:place_order:{context.idempotency_key}"[:255],
            request_hash=fingerprint,
            method="TOOL",
            path="place_order",
            expires_at=context.now + IDEMPOTENCY_TTL,
        )
        if isinstance(claim, store.Used):
            if claim.request_hash != fingerprint:
                raise ToolFailure(
                    "idempotency_key_reused",
                    "This idempotency key was used with other arguments; use a new key.",
                )
            if claim.response is None:
                raise ToolFailure(
                    "idempotency_key_in_use", "This idempotency key's first call has no answer."
                )
            replayed: dict[str, Any] = json.loads(claim.response.body)
            return {**replayed, "replayed": True}
        claimed = claim
    shop = await shops.shop_profile(session)
    config = parse_config(shop.id, shop.lilli_config)
    if arguments.delivery_date is not None:
        refusal = delivery_refusal(
            config, shop, arguments.delivery_date, arguments.delivery_zone, context.now
        )
        if refusal is not None:
            raise refusal
    draft = orders.OrderDraft(
        items=await _draft_items(context, arguments.items),
        source=context.source,
        customer_phone=arguments.customer_phone,
        customer_name=arguments.customer_name,
        delivery_zone=arguments.delivery_zone,
        delivery_date=arguments.delivery_date,
        delivery_time=arguments.delivery_time,
        needs_confirmation=True,
    )
    order, items = await orders.create_order(
        session, draft, suggest_route=routing.route_suggester(_RULES)
    )
    result = {"orderId": str(order.id), "order": _order_json(order, items)}
    if claimed is not None:
        await store.record_response(
            session,
            claimed.record_id,
            store.StoredResponse(200, json.dumps(result).encode(), "application/json"),
        )
    return {**result, "replayed": False}
