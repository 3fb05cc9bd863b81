"""Outbound webhooks at the edge: endpoints, attempts, redelivery; and the event types."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from bloomer_ai.kit.schemas import InputSchema, Schema


class EventType(StrEnum):
    """Every event this service sends (docs/webhooks.md has their payloads)."""

    ORDER_CREATED = "order.created"
    INTEGRATION_UPDATED = "integration.updated"
    SUPPORT_TASK_CREATED = "support.task.created"
    SUPPORT_TASK_UPDATED = "support.task.updated"
    CAMPAIGN_GENERATION_COMPLETED = "campaign.generation.completed"
    CAMPAIGN_GENERATION_FAILED = "campaign.generation.failed"
    VOICE_CALL_ENDED = "voice.call.ended"


class EndpointCreate(InputSchema):
    url: str = Field(min_length=1, max_length=2048, description="Where events are POSTed.")
    description: str | None = Field(default=None, max_length=200)
    event_types: list[EventType] = Field(
        default_factory=list, max_length=32, description="Empty: every event type."
    )
    enabled: bool = Field(default=True, strict=True)


class EndpointUpdate(InputSchema):
    """Fields left out keep their value; ``description`` may be null (cleared)."""

    url: str | None = Field(default=None, min_length=1, max_length=2048)
    description: str | None = Field(default=None, max_length=200)
    event_types: list[EventType] | None = Field(default=None, max_length=32)
    enabled: bool | None = Field(
        strict=True, default=None, description="true also re-enables an endpoint disabled by a 410."
    )

    @model_validator(mode="after")
    def _no_null_but_description(self) -> EndpointUpdate:
        for name in ("url", "event_types", "enabled"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the request named, with their new values."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class EndpointRead(Schema):
    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None = Field(
        description="`gone`: disabled because the endpoint answered 410."
    )
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the previous secret signs too (after a rotation)."
    )
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(EndpointRead):
    secret: str = Field(
        description="The signing secret (whsec_…), for Standard Webhooks verification. "
        "Shown once: store it now."
    )


class AttemptRead(Schema):
    id: uuid.UUID
    event_id: uuid.UUID
    endpoint_id: uuid.UUID
    attempt: int
    attempted_at: datetime
    outcome: str = Field(description="succeeded | failed | gone (410) | refused (address)")
    status_code: int | None
    error: str | None
    duration_ms: int


class RedeliveryRead(Schema):
    event_id: uuid.UUID
    endpoints: int = Field(description="Deliveries queued to the shop's endpoints.")
