"""The registry of shop tools: every tool by name, with its scope and implementation."""

from __future__ import annotations

from typing import Final

from bloomer_ai.auth.scopes import Scope
from bloomer_ai.tools.registry.base import Tool, ToolContext, ToolFailure
from bloomer_ai.tools.registry.orders import find_order, place_order
from bloomer_ai.tools.registry.shop import delivery_info, opening_hours, search_products
from bloomer_ai.tools.registry.support import request_handoff, support_context
from bloomer_ai.tools.schemas import (
    DeliveryInfoArguments,
    FindOrderArguments,
    OpeningHoursArguments,
    PlaceOrderArguments,
    RequestHandoffArguments,
    SearchProductsArguments,
    SupportContextArguments,
)

__all__ = ["TOOLS", "Tool", "ToolContext", "ToolFailure"]

TOOLS: Final[dict[str, Tool]] = {
    tool.name: tool
    for tool in (
        Tool(
            "find_order",
            "Find an order of the shop by its number, or the latest order of the caller by "
            "their phone number. Answers found: false when there is none.",
            FindOrderArguments,
            Scope.ORDERS_READ,
            find_order,
        ),
        Tool(
            "opening_hours",
            "The shop's opening hours on a date or a weekday (today when neither is given), "
            "in the shop's time zone, with closed dates and public holidays it closes on.",
            OpeningHoursArguments,
            Scope.SHOP_READ,
            opening_hours,
        ),
        Tool(
            "delivery_info",
            "How the shop delivers: zones and their fees, weekdays, the same-day cut-off "
            "time; for a zone or postal code its fee, for a date whether it delivers then.",
            DeliveryInfoArguments,
            Scope.SHOP_READ,
            delivery_info,
        ),
        Tool(
            "search_products",
            "Search the shop's product catalogue by words of a product's name or "
            "description: name, price (minor units), availability.",
            SearchProductsArguments,
            Scope.SHOP_READ,
            search_products,
        ),
        Tool(
            "support_context",
            "What support may know of a customer (by id, phone or e-mail): the shop's hours "
            "today, the customer's first name, their three newest orders.",
            SupportContextArguments,
            Scope.SUPPORT_CONTEXT,
            support_context,
        ),
        Tool(
            "place_order",
            "Place an order for the caller: items from the catalogue (by productId or exact "
            "name), their phone number, the delivery zone, date and time. The order waits "
            "for the shop's confirmation.",
            PlaceOrderArguments,
            Scope.ORDERS_WRITE,
            place_order,
        ),
        Tool(
            "request_handoff",
            "Hand the conversation over to a person of the shop (creates a task for the "
            "staff). Use it when you cannot help.",
            RequestHandoffArguments,
            Scope.SUPPORT_EVENTS,
            request_handoff,
        ),
    )
}
