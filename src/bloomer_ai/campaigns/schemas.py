"""Bodies of the campaign routes (camelCase JSON at the edge)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from bloomer_ai.kit.schemas import InputSchema, Schema

Channel = Literal["email", "sms"]
Language = Literal["en", "nl", "de", "fr"]
AudienceType = Literal[
    "ordered_for_last_occasion",
    "champions",
    "loyal",
    "recent_first_time",
    "at_risk",
    "never_ordered_for_occasion",
    "lapsed",
]
Source = Literal["rules", "provider"]


class SuggestRequest(InputSchema):
    occasion: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9_]{1,64}$",
        description="An occasion key of the shop's country (`mothers_day`, `christmas`, …; "
        "docs/campaigns.md lists them): suggestions for its next date. Omit for the next "
        "occasions on the calendar.",
    )
    audience_type: AudienceType | None = Field(
        default=None, description="Only this segment. Omit to let each suggestion pick the best."
    )
    channel: Channel = Field(default="email", description="Consent and limits are per channel.")
    language: Language | None = Field(
        default=None,
        description="Of the copy; default: the shop's country's (nl, de, fr, else en).",
    )
    limit: int = Field(
        strict=True, default=3, ge=1, le=10, description="At most this many suggestions."
    )
    shop_id: str | None = Field(
        default=None,
        max_length=64,
        description="Optional; must be the caller's shop (or a shop the user is a member of).",
    )


class OccasionRead(Schema):
    key: str = Field(description="Stable across countries and years.")
    name: str = Field(description="In the language of the copy.")
    date: date


class AudienceRead(Schema):
    segment: AudienceType
    description: str
    estimated_size: int = Field(
        description="Customers in the segment who consented to the channel and have an "
        "address on it."
    )
    excluded_without_consent: int = Field(
        description="Customers in the segment left out for lack of consent (never asked, "
        "which counts as no, or refused)."
    )


class SuggestionRead(Schema):
    occasion: OccasionRead
    channel: Channel
    language: Language
    subject: str = Field(description="E-mail subject; for SMS, the campaign's name (not sent).")
    body_preview: str = Field(description="E-mail preview text, or the whole SMS.")
    suggested_audience: AudienceRead
    suggested_time: datetime = Field(
        description="When to send, in the shop's time zone: never in the past, never at night."
    )
    rationale: str = Field(description="Why, with the numbers (English).")
    source: Source = Field(
        description="`rules`, or `provider` when the AI provider's copy is used."
    )


class SuggestResponse(Schema):
    suggestions: list[SuggestionRead] = Field(description="Ranked, best first.")
