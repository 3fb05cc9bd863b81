"""Request and response bodies of the agent routes (camelCase JSON at the edge)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, StrictBool, field_validator

from bloomer_ai.kit.pagination import Page
from bloomer_ai.kit.schemas import InputSchema, Schema

MessageRole = Literal["user", "assistant", "system", "tool"]

MAX_STORED_MESSAGE_CHARS = 20_000
"""Messages Lilli appends itself (replies included) may be longer than a user's message."""
MAX_METADATA_BYTES = 8_192
_ID_FIELD = Field(default=None, max_length=64, description="An id from this API.")
_SHOP_FIELD = Field(
    default=None,
    max_length=64,
    description="Optional; must be the caller's shop (or a shop the user is a member of).",
)

# --- chat ------------------------------------------------------------------------------------


class ChatRequest(InputSchema):
    message: str = Field(
        min_length=1,
        max_length=100_000,
        description="The user's message; at most AGENT_MAX_MESSAGE_CHARS characters.",
    )
    conversation_id: str | None = Field(
        default=None, max_length=64, description="Omit to start a new conversation."
    )
    shop_id: str | None = _SHOP_FIELD
    customer_id: str | None = Field(
        default=None,
        max_length=64,
        description="Links a new (or not yet linked) conversation to a customer of the shop.",
    )


class ChatReply(Schema):
    reply: str
    conversation_id: uuid.UUID
    message_id: uuid.UUID
    """The assistant's stored reply."""


# --- conversations -----------------------------------------------------------------------


class ConversationCreate(InputSchema):
    customer_id: str | None = _ID_FIELD
    title: str | None = Field(default=None, min_length=1, max_length=200)
    shop_id: str | None = _SHOP_FIELD


class ConversationRead(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID | None
    user_id: uuid.UUID | None
    title: str | None
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None


class MessageRead(Schema):
    id: uuid.UUID
    conversation_id: uuid.UUID
    role: str
    content: str
    status: str = Field(description="complete, or incomplete for a reply cut off mid-stream.")
    metadata: dict[str, Any] | None = Field(validation_alias="message_metadata")
    created_at: datetime


class ConversationDetail(ConversationRead):
    messages: Page[MessageRead] = Field(description="Newest first; nextCursor pages to older.")


class MessageCreate(InputSchema):
    role: MessageRole
    content: str = Field(min_length=1, max_length=MAX_STORED_MESSAGE_CHARS)
    metadata: dict[str, Any] | None = None

    @field_validator("metadata")
    @classmethod
    def _small_metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(json.dumps(value)) > MAX_METADATA_BYTES:
            raise ValueError(f"must be at most {MAX_METADATA_BYTES} bytes of JSON")
        return value


class MessagesAppend(InputSchema):
    messages: list[MessageCreate] = Field(min_length=1, max_length=100)
    shop_id: str | None = _SHOP_FIELD


class MessagesAppended(Schema):
    items: list[MessageRead]


# --- configuration -----------------------------------------------------------------------


class AgentConfigRead(Schema):
    lilli_enabled: bool
    config: dict[str, Any] = Field(
        description="greeting, businessHours {timezone, weekly, closedDates}, language, "
        "handoff {enabled, afterMessages, keywords}; defaults filled in."
    )


class AgentConfigPatch(InputSchema):
    lilli_enabled: StrictBool | None = None
    config: dict[str, Any] | None = Field(
        default=None,
        description="A JSON merge patch (RFC 7396) of the config: named keys change, "
        "null removes a key (back to its default); null for the whole config resets it.",
    )
    shop_id: str | None = _SHOP_FIELD

    @field_validator("lilli_enabled")
    @classmethod
    def _not_null(cls, value: bool | None) -> bool | None:
        # Only runs for a value that was sent: absent stays "unchanged", null is an error.
        if value is None:
            raise ValueError("must be true or false")
        return value
