"""Tools of support: the customer's minimal context, and handing over to a person."""

from __future__ import annotations

import uuid
from typing import Any

from bloomer_ai.support import service as support
from bloomer_ai.support.providers.base import MappedEvent
from bloomer_ai.tools.registry.base import ToolContext
from bloomer_ai.tools.schemas import RequestHandoffArguments, SupportContextArguments

HANDOFF_PROVIDER = "tools"


async def support_context(
    context: ToolContext, arguments: SupportContextArguments
) -> dict[str, Any]:
    """``GET /api/ai/support/context``'s answer (and its recorded read)."""
    facts = await support.support_context(
        context.session,
        context.principal,
        support.ContextQuery(
            customer_id=arguments.customer_id, phone=arguments.phone, email=arguments.email
        ),
        now=context.now,
    )
    return {
        "shop": {
            "name": facts.shop.name,
            "openNow": facts.open_now,
            "hoursToday": [{"opens": a, "closes": b} for a, b in facts.hours_today],
            "timezone": facts.timezone,
        },
        "customer": None
        if facts.customer_id is None
        else {"id": str(facts.customer_id), "firstName": facts.first_name or ""},
        "recentOrders": [
            {
                "number": order.number,
                "status": order.status,
                "deliveryDate": order.delivery_date.isoformat() if order.delivery_date else None,
                "itemsSummary": order.items_summary,
            }
            for order in facts.recent_orders
        ],
        "openOrderCount": facts.open_order_count,
    }


async def request_handoff(
    context: ToolContext, arguments: RequestHandoffArguments
) -> dict[str, Any]:
    """A ``handoff.requested`` support event; the shop's automation rules (or the built-in
    default) turn it into a task for a person, in the same transaction."""
    channel = arguments.channel or ("voice" if context.voice_call_id is not None else "chat")
    belongs_to = context.voice_call_id or context.conversation_id
    event, tasks = await support.record_support_event(
        context.session,
        provider=HANDOFF_PROVIDER,
        delivery_id=f"tool-{uuid.uuid4().hex}",
        mapped=MappedEvent(
            type="handoff.requested",
            channel=channel,
            conversation_id=str(belongs_to) if belongs_to is not None else None,
            phone=arguments.customer_phone,
            summary=arguments.reason,
            facts={"via": "tool"},
        ),
        now=context.now,
    )
    return {
        "eventId": str(event.id),
        "taskIds": [str(task.id) for task in tasks],
        "customerMatched": event.customer_id is not None,
    }
