"""Support automation at the edge: events, rules, tasks, the bot's context, its reads."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field, JsonValue, model_validator

from bloomer_ai.kit.schemas import InputSchema, Schema

TaskStatus = Literal["open", "in_progress", "done"]
TaskPriority = Literal["low", "normal", "high", "urgent"]


class SupportEventRead(Schema):
    id: uuid.UUID
    shop_id: uuid.UUID
    type: str
    channel: str | None
    provider: str
    delivery_id: str
    external_conversation_id: str | None
    customer_id: uuid.UUID | None
    payload: dict[str, Any] = Field(
        description="The event's facts, personal data reduced (no phone, e-mail or name)."
    )
    created_at: datetime


class SupportRuleCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    priority: int = Field(
        strict=True, default=100, ge=-1_000_000, le=1_000_000, description="Lower runs first."
    )
    conditions: JsonValue = Field(description="A JsonLogic expression over the support event.")
    actions: list[dict[str, JsonValue]] = Field(
        min_length=1, max_length=5, description="`create_task` and/or `notify`."
    )
    enabled: bool = Field(default=True, strict=True)
    stop_on_match: bool = Field(default=False, strict=True)


class SupportRuleUpdate(InputSchema):
    """PATCH: only the fields sent change; none of them may be null."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    priority: int | None = Field(strict=True, default=None, ge=-1_000_000, le=1_000_000)
    conditions: JsonValue = None
    actions: list[dict[str, JsonValue]] | None = Field(default=None, min_length=1, max_length=5)
    enabled: bool | None = Field(default=None, strict=True)
    stop_on_match: bool | None = Field(default=None, strict=True)

    @model_validator(mode="after")
    def _no_nulls(self) -> SupportRuleUpdate:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class SupportRuleRead(Schema):
    id: str = Field(description="The rule's id; built-in defaults are `default:<name>`.")
    name: str
    priority: int
    conditions: Any
    actions: list[dict[str, Any]]
    enabled: bool
    stop_on_match: bool
    built_in: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None


class SupportTaskRead(Schema):
    id: uuid.UUID
    title: str
    status: TaskStatus
    priority: TaskPriority
    assignee_role: str | None
    assignee_user_id: uuid.UUID | None
    due_at: datetime | None
    event_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    rule_id: str | None
    created_at: datetime
    updated_at: datetime


class SupportTaskUpdate(InputSchema):
    """PATCH: only the fields sent change. `assigneeUserId: null` unassigns."""

    status: TaskStatus | None = None
    priority: TaskPriority | None = None
    assignee_user_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _something_and_no_null_status(self) -> SupportTaskUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one of status, priority, assigneeUserId")
        for name in ("status", "priority"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class OpeningRange(Schema):
    opens: str = Field(description='Local time "HH:MM".')
    closes: str = Field(description='Local time "HH:MM".')


class ShopContext(Schema):
    name: str
    open_now: bool
    hours_today: list[OpeningRange] = Field(description="Today's opening hours; empty: closed.")
    timezone: str


class CustomerContext(Schema):
    id: uuid.UUID
    first_name: str


class OrderContext(Schema):
    number: str
    status: str
    delivery_date: date | None
    items_summary: str = Field(description='e.g. "2× Red roses, 1× Card".')


class SupportContext(Schema):
    """What the bot may know: nothing personal beyond the first name."""

    shop: ShopContext
    customer: CustomerContext | None = Field(
        description="The customer asked for; null when the phone or e-mail has no match here."
    )
    recent_orders: list[OrderContext] = Field(description="At most 3, newest first.")
    open_order_count: int


class ContextReadRead(Schema):
    id: uuid.UUID
    read_at: datetime
    principal_kind: str
    api_key_id: uuid.UUID | None
    user_id: uuid.UUID | None
    lookup: Literal["customerId", "phone", "email"]
    customer_id: uuid.UUID | None
