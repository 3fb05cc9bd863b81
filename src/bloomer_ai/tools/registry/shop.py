"""Tools that read the shop: opening hours, delivery, the product catalogue."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from bloomer_ai.agent.config.schema import (
    WEEKDAY_KEYS,
    AgentConfig,
    clock_to_minutes,
    closed_reason,
    hours_for,
    hours_zone,
    is_open_at,
    public_holiday,
)
from bloomer_ai.agent.service import parse_config
from bloomer_ai.shops import service as shops
from bloomer_ai.shops.repository import ShopProfile
from bloomer_ai.tools.registry.base import ToolContext, ToolFailure
from bloomer_ai.tools.repository import ProductRepository
from bloomer_ai.tools.schemas import (
    DeliveryInfoArguments,
    OpeningHoursArguments,
    SearchProductsArguments,
)

UPCOMING_DAYS = 30
MAX_UPCOMING_CLOSED = 5


def _local_now(config: AgentConfig, shop: ShopProfile, now: datetime) -> datetime:
    try:
        return now.astimezone(hours_zone(config, shop.timezone))
    except ValueError:  # a shop row with an unknown zone: say so rather than guess
        raise ToolFailure("shop_timezone_unknown", "The shop's time zone is not known.") from None


def _ranges(ranges: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"opens": opens, "closes": closes} for opens, closes in ranges]


def _day(config: AgentConfig, shop: ShopProfile, day: date) -> dict[str, Any]:
    reason = closed_reason(config, shop.country, day)
    hours = [] if reason is not None else hours_for(config, day.weekday())
    return {
        "date": day.isoformat(),
        "weekday": WEEKDAY_KEYS[day.weekday()],
        "open": bool(hours),
        "hours": _ranges(hours),
        "closedReason": reason if reason is not None else (None if hours else "weekly"),
        "holiday": public_holiday(config, shop.country, day),
    }


async def opening_hours(context: ToolContext, arguments: OpeningHoursArguments) -> dict[str, Any]:
    """The shop's hours on a date (closed dates and public holidays honoured) or a weekday,
    in its own time zone; today when neither is given."""
    shop = await shops.shop_profile(context.session)
    config = parse_config(shop.id, shop.lilli_config)
    if config.business_hours is None:
        return {"known": False, "timezone": shop.timezone}
    local = _local_now(config, shop, context.now)
    result: dict[str, Any] = {"known": True, "timezone": str(local.tzinfo)}
    if arguments.weekday is not None:
        weekday = WEEKDAY_KEYS.index(arguments.weekday)
        result["weekday"] = arguments.weekday
        result["hours"] = _ranges(hours_for(config, weekday))
    else:
        day = arguments.date or local.date()
        result.update(_day(config, shop, day))
        if day == local.date():
            result["openNow"] = is_open_at(config, shop.timezone, context.now, country=shop.country)
    closed: list[dict[str, Any]] = []
    for offset in range(UPCOMING_DAYS):
        day = local.date() + timedelta(days=offset)
        reason = closed_reason(config, shop.country, day)
        if reason is not None and hours_for(config, day.weekday()):
            closed.append(
                {
                    "date": day.isoformat(),
                    "reason": reason,
                    "holiday": public_holiday(config, shop.country, day),
                }
            )
            if len(closed) == MAX_UPCOMING_CLOSED:
                break
    result["upcomingClosedDates"] = closed
    return result


async def delivery_info(context: ToolContext, arguments: DeliveryInfoArguments) -> dict[str, Any]:
    """Zones, weekdays, the same-day cut-off and the fee; for a zone or postal code, that
    zone's fee; for a date, whether the shop delivers then."""
    shop = await shops.shop_profile(context.session)
    config = parse_config(shop.id, shop.lilli_config)
    delivery = config.delivery
    if delivery is None:
        return {"known": False, "currency": shop.currency}
    result: dict[str, Any] = {
        "known": True,
        "currency": shop.currency,
        "zones": [
            {"name": zone.name, "fee": zone.fee if zone.fee is not None else delivery.fee}
            for zone in delivery.zones
        ],
        "days": list(delivery.days),
        "cutoffTime": delivery.cutoff_time,
        "fee": delivery.fee,
    }
    zone = None
    if arguments.zone is not None:
        zone = delivery.zone_named(arguments.zone)
    elif arguments.postal_code is not None:
        zone = delivery.zone_of_postal_code(arguments.postal_code)
    if arguments.zone is not None or arguments.postal_code is not None:
        result["zone"] = (
            None
            if zone is None
            else {"name": zone.name, "fee": zone.fee if zone.fee is not None else delivery.fee}
        )
        result["deliversThere"] = zone is not None or not delivery.zones
    if arguments.date is not None:
        # The same rule place_order applies: one answer to "can it be delivered then?".
        refusal = delivery_refusal(config, shop, arguments.date, None, context.now)
        result["date"] = {
            "date": arguments.date.isoformat(),
            "deliversThen": refusal is None,
            "refusal": refusal.code if refusal is not None else None,
            "closedReason": closed_reason(config, shop.country, arguments.date),
        }
    return result


def delivery_refusal(
    config: AgentConfig, shop: ShopProfile, day: date, zone: str | None, now: datetime
) -> ToolFailure | None:
    """Why an order cannot be delivered on ``day`` (to ``zone``), by the shop's delivery
    settings; None when it can (or the shop has none)."""
    delivery = config.delivery
    if delivery is None:
        return None
    local = _local_now(config, shop, now)
    if day < local.date():
        return ToolFailure("delivery_date_past", "The delivery date is in the past.")
    if not delivery.delivers_on(day):
        return ToolFailure(
            "not_a_delivery_day",
            "The shop does not deliver on that weekday; it delivers on "
            + ", ".join(delivery.days)
            + ".",
        )
    reason = closed_reason(config, shop.country, day)
    if reason is not None:
        return ToolFailure("shop_closed", f"The shop is closed on that date ({reason}).")
    if (
        day == local.date()
        and delivery.cutoff_time is not None
        and local.hour * 60 + local.minute >= clock_to_minutes(delivery.cutoff_time)
    ):
        return ToolFailure(
            "past_cutoff", f"Same-day orders must be placed before {delivery.cutoff_time}."
        )
    if zone is not None and delivery.zones and delivery.zone_named(zone) is None:
        return ToolFailure(
            "unknown_delivery_zone",
            "The shop does not deliver to that zone; its zones are "
            + ", ".join(z.name for z in delivery.zones)
            + ".",
        )
    return None


async def search_products(
    context: ToolContext, arguments: SearchProductsArguments
) -> dict[str, Any]:
    """Products of the catalogue whose name or description holds every word of the query."""
    words = (arguments.query or "").split()[:8]
    rows = await ProductRepository(context.session).search(
        words, available_only=arguments.available_only, limit=arguments.limit
    )
    return {
        "products": [
            {
                "id": str(row.id),
                "name": row.name,
                "description": row.description,
                "productType": row.product_type,
                "price": row.price_minor,
                "currency": row.currency,
                "available": row.available,
            }
            for row in rows
        ]
    }
