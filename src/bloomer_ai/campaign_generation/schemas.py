"""Bodies of the generation routes (camelCase JSON at the edge)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from bloomer_ai.campaigns.rules.copy import EMAIL_PREVIEW_MAX, EMAIL_SUBJECT_MAX
from bloomer_ai.campaigns.schemas import AudienceType, Channel, Language
from bloomer_ai.kit.schemas import InputSchema, Schema

Status = Literal["pending", "processing", "awaiting_callback", "completed", "failed", "cancelled"]
Tone = Literal["friendly", "warm", "playful", "elegant", "formal", "urgent"]
SUBJECT_MAX = EMAIL_SUBJECT_MAX
PREVIEW_MAX = EMAIL_PREVIEW_MAX
BODY_MAX = 5000
SMS_MAX = 160
MAX_VARIANTS = 5


class GenerationInput(InputSchema):
    occasion: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9_]{1,64}$",
        description="An occasion key of the shop's country (`mothers_day`, `christmas`, …; "
        "docs/campaigns.md lists them). Omit for the next occasion on the calendar.",
    )
    segment: AudienceType | None = Field(
        default=None, description="Who the copy speaks to (its angle); omit for everyone."
    )
    channel: Channel = Field(description="`email` or `sms`: the limits the copy keeps.")
    language: Language | None = Field(
        default=None,
        description="Of the copy; default: the shop's country's (nl, de, fr, else en).",
    )
    tone: Tone | None = Field(default=None, description="The voice of the copy.")
    notes: str | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="What the staff want said (products, an offer…), for the AI provider; "
        "the offline builtin provider does not read it.",
    )
    variants: int = Field(
        strict=True, default=3, ge=1, le=MAX_VARIANTS, description="How many variants to write."
    )


class GenerateRequest(InputSchema):
    campaign_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The web app's campaign this copy is for (kept, filterable).",
    )
    input: GenerationInput


class GenerationAccepted(Schema):
    request_id: uuid.UUID = Field(description="Poll `GET /api/ai/campaigns/generate/{id}`.")
    status: Status


class VariantRead(Schema):
    subject: str = Field(description="E-mail subject (≤ 60 characters).")
    preview: str = Field(description="E-mail preview text (≤ 140 characters).")
    body: str = Field(description="E-mail body, plain text, paragraphs split by blank lines.")
    sms_text: str = Field(description="The SMS: one segment, opt-out included.")


class OccasionRead(Schema):
    key: str
    name: str = Field(description="In the language of the copy.")
    date: date


class GenerationOutput(Schema):
    variants: list[VariantRead]
    occasion: OccasionRead
    channel: Channel
    language: Language
    provider: str = Field(description="`builtin`, `openai` or `lilli`.")


class GenerationError(Schema):
    code: str = Field(description="Stable, for programs (`provider_error`, …).")
    message: str = Field(description="For people.")


class GenerationRead(Schema):
    id: uuid.UUID
    campaign_id: str | None
    status: Status
    input: dict[str, Any] = Field(description="What was asked, as sent.")
    output: GenerationOutput | None = Field(description="Set when `completed`.")
    attempts: int = Field(description="Generation runs started (a run killed mid-way counts).")
    error: GenerationError | None = Field(description="Why it failed, or the last run's failure.")
    completed_by: Literal["worker", "callback"] | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = Field(description="The first run began.")
    awaiting_callback_at: datetime | None = Field(description="Lilli accepted it for later.")
    callback_deadline_at: datetime | None = Field(
        description="Lilli's result must arrive before this; later, the request fails."
    )
    completed_at: datetime | None
    failed_at: datetime | None
    cancelled_at: datetime | None


class VariantIn(InputSchema):
    subject: str = Field(min_length=1, max_length=SUBJECT_MAX)
    preview: str = Field(min_length=1, max_length=PREVIEW_MAX)
    body: str = Field(min_length=1, max_length=BODY_MAX)
    sms_text: str = Field(min_length=1, max_length=SMS_MAX, description="One SMS segment.")


class CallbackError(InputSchema):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    message: str = Field(min_length=1, max_length=300)


class CallbackResult(InputSchema):
    """Lilli's result for a generation it accepted for later."""

    request_id: uuid.UUID | None = Field(
        default=None,
        description="The request this result is for. Required when the delivery is signed "
        "(the signature covers the body, not the URL); with a key, when given, it must match.",
    )
    status: Literal["completed", "failed"]
    variants: list[VariantIn] | None = Field(
        default=None, min_length=1, max_length=MAX_VARIANTS, description="With `completed`."
    )
    error: CallbackError | None = Field(default=None, description="With `failed`.")

    @model_validator(mode="after")
    def _matches_status(self) -> CallbackResult:
        if self.status == "completed" and self.variants is None:
            raise ValueError('"completed" needs "variants"')
        if self.status == "failed" and self.error is None:
            raise ValueError('"failed" needs "error"')
        return self
