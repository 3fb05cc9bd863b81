"""Shop tools at the edge: a tool's definition and outcome, each tool's arguments (their
JSON Schema is what models and MCP clients see), and the product catalogue's bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, JsonValue, model_validator

from bloomer_ai.kit.schemas import InputSchema, IsoDate, Schema

# --- the registry's interface --------------------------------------------------------------


class ToolDefinition(Schema):
    """A tool as offered to a model or an MCP client."""

    name: str
    description: str
    parameters: dict[str, Any] = Field(description="JSON Schema of the arguments object.")
    scope: str = Field(description="The API-key scope a caller needs to use it.")


class ToolError(Schema):
    code: str
    message: str


class ToolOutcome(Schema):
    """How a call ended: ``ok`` with its ``result``, or not with an ``error``."""

    name: str
    ok: bool
    result: dict[str, JsonValue] | None = None
    error: ToolError | None = None
    duration_ms: int = 0


# --- arguments of each tool ----------------------------------------------------------------


class ToolArguments(InputSchema):
    """Arguments of a tool: camelCase, unknown fields refused."""


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Phone = str


class FindOrderArguments(ToolArguments):
    """Exactly one of ``orderNumber`` and ``phone``."""

    order_number: str | None = Field(
        default=None, min_length=1, max_length=64, description="The order's number, e.g. 1042."
    )
    phone: Phone | None = Field(
        default=None,
        min_length=3,
        max_length=40,
        description="The caller's phone number: their latest order is found.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> FindOrderArguments:
        if (self.order_number is None) == (self.phone is None):
            raise ValueError("give exactly one of orderNumber and phone")
        return self


class OpeningHoursArguments(ToolArguments):
    """A date, or a weekday, or neither (today in the shop's time zone)."""

    date: IsoDate | None = Field(default=None, description="A date, YYYY-MM-DD.")
    weekday: Weekday | None = Field(default=None, description="A weekday's usual hours.")

    @model_validator(mode="after")
    def _not_both(self) -> OpeningHoursArguments:
        if self.date is not None and self.weekday is not None:
            raise ValueError("give a date or a weekday, not both")
        return self


class DeliveryInfoArguments(ToolArguments):
    zone: str | None = Field(default=None, min_length=1, max_length=100)
    postal_code: str | None = Field(default=None, min_length=2, max_length=12)
    date: IsoDate | None = Field(default=None, description="A delivery date to check (YYYY-MM-DD).")


class SearchProductsArguments(ToolArguments):
    query: str | None = Field(
        default=None, max_length=100, description="Words of the name or description."
    )
    available_only: bool = True
    limit: int = Field(default=5, ge=1, le=20)


class SupportContextArguments(ToolArguments):
    """Exactly one of ``customerId``, ``phone``, ``email``."""

    customer_id: str | None = Field(default=None, max_length=64)
    phone: Phone | None = Field(default=None, min_length=3, max_length=40)
    email: str | None = Field(default=None, min_length=3, max_length=320)

    @model_validator(mode="after")
    def _exactly_one(self) -> SupportContextArguments:
        given = [v for v in (self.customer_id, self.phone, self.email) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of customerId, phone, email")
        return self


class OrderLine(ToolArguments):
    """A product of the catalogue (by id or exact name); a name it does not know is taken
    as written, without a price, for the shop to confirm."""

    product_id: uuid.UUID | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    quantity: int = Field(default=1, ge=1, le=100)

    @model_validator(mode="after")
    def _named(self) -> OrderLine:
        if self.product_id is None and self.name is None:
            raise ValueError("give productId or name")
        return self


class PlaceOrderArguments(ToolArguments):
    items: list[OrderLine] = Field(min_length=1, max_length=20)
    customer_phone: Phone = Field(min_length=3, max_length=40)
    customer_name: str | None = Field(default=None, min_length=1, max_length=200)
    delivery_zone: str | None = Field(default=None, min_length=1, max_length=100)
    delivery_date: IsoDate | None = None
    delivery_time: str | None = Field(
        default=None, pattern=r"^(?:[01]\d|2[0-3]):[0-5]\d$", description="HH:MM"
    )


HandoffChannel = Literal["chat", "email", "sms", "whatsapp", "voice", "social"]


class RequestHandoffArguments(ToolArguments):
    reason: str | None = Field(
        default=None, max_length=500, description="Why a person is needed, in a sentence."
    )
    channel: HandoffChannel | None = None
    customer_phone: Phone | None = Field(default=None, min_length=3, max_length=40)


# --- the product catalogue -----------------------------------------------------------------


class ProductCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    product_type: str = Field(
        default="product",
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9_\-]+$",
        description="What routing rules read as productType, e.g. bouquet.",
    )
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    price: int = Field(ge=0, le=100_000_000, strict=True, description="Minor units.")
    currency: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}$", description="The shop's currency when absent."
    )
    available: bool = Field(default=True, strict=True)


class ProductUpdate(InputSchema):
    """PATCH: only the fields sent change; ``description`` and ``sku`` may be null."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    product_type: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$"
    )
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    price: int | None = Field(default=None, ge=0, le=100_000_000, strict=True)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    available: bool | None = Field(default=None, strict=True)

    @model_validator(mode="after")
    def _no_nulls(self) -> ProductUpdate:
        for name in self.model_fields_set - {"description", "sku"}:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ProductRead(Schema):
    id: uuid.UUID
    name: str
    description: str | None
    product_type: str
    sku: str | None
    price: int = Field(validation_alias="price_minor", description="Minor units.")
    currency: str
    available: bool
    created_at: datetime
    updated_at: datetime
