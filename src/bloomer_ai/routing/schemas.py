from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, JsonValue, model_validator

from bloomer_ai.kit.schemas import InputSchema, IsoDate, Schema

HHMM_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"


class RuleCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    priority: int = Field(
        strict=True, default=100, ge=-1_000_000, le=1_000_000, description="Lower runs first."
    )
    conditions: JsonValue = Field(description="A JsonLogic expression over the order context.")
    action: dict[str, JsonValue] = Field(description="What to suggest when the rule matches.")
    enabled: bool = Field(default=True, strict=True)
    stop_on_match: bool = Field(default=False, strict=True)


class RuleUpdate(InputSchema):
    """PATCH: only the fields sent change; none of them may be null."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    priority: int | None = Field(strict=True, default=None, ge=-1_000_000, le=1_000_000)
    conditions: JsonValue = None
    action: dict[str, JsonValue] | None = None
    enabled: bool | None = Field(default=None, strict=True)
    stop_on_match: bool | None = Field(default=None, strict=True)

    @model_validator(mode="after")
    def _no_nulls(self) -> RuleUpdate:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class RuleRead(Schema):
    id: uuid.UUID
    name: str
    priority: int
    conditions: Any
    action: dict[str, Any]
    enabled: bool
    stop_on_match: bool
    created_at: datetime
    updated_at: datetime


class OrderItemInput(InputSchema):
    product_type: str = Field(min_length=1, max_length=40)
    sku: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    quantity: int = Field(strict=True, default=1, ge=1, le=100_000)
    unit_price: int = Field(strict=True, default=0, ge=0, description="Minor units.")


class EvaluateRequest(InputSchema):
    """One of: ``orderId`` or ``orderNumber`` (an order of the shop), or an order-like body
    with at least one item or a total."""

    # What JSON Schema can say of the rule below: at least one of the forms is there.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["orderId"]},
                {"required": ["orderNumber"]},
                {"required": ["items"], "properties": {"items": {"minItems": 1}}},
                {"required": ["total"]},
            ]
        }
    )

    order_id: str | None = None
    order_number: str | None = Field(
        default=None, min_length=1, max_length=40, description="The number people use."
    )
    customer_id: str | None = None
    items: list[OrderItemInput] | None = Field(default=None, max_length=500)
    delivery_zone: str | None = Field(default=None, max_length=64)
    delivery_date: IsoDate | None = None
    delivery_time: str | None = Field(default=None, pattern=HHMM_PATTERN)
    total: int | None = Field(
        strict=True, default=None, ge=0, description="Minor units; default: items."
    )
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    source: str | None = Field(default=None, max_length=20)
    tags: list[str] | None = Field(default=None, max_length=50)
    shop_id: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> EvaluateRequest:
        stored = [name for name in ("order_id", "order_number") if getattr(self, name) is not None]
        order_fields = self.model_fields_set - {"order_id", "order_number", "shop_id"}
        if len(stored) > 1:
            raise ValueError("send orderId or orderNumber, not both")
        if stored and order_fields:
            raise ValueError(f"send either {_camel(stored[0])} or order fields, not both")
        if not stored and not self.items and self.total is None:
            raise ValueError(
                "send orderId, orderNumber, or an order with at least one item or a total"
            )
        return self


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class ConditionCheck(Schema):
    path: str
    value: Any
    held: bool


class RuleExplanationRead(Schema):
    rule_id: str
    outcome: str
    decided_by: str | None
    checked: list[ConditionCheck]
    error: str | None


class EvaluateResponse(Schema):
    suggested_route: dict[str, Any] | None
    matched_rule_ids: list[str]
    evaluated_rules: int
    explain: list[RuleExplanationRead] | None = None
