"""The extension point of campaign suggestions: a copy writer may rewrite the rules' copy.

Suggestions are computed by rules (occasion, audience, send time, copy). With
``AI_PROVIDER`` ``lilli`` or ``openai`` the copy of every suggestion of a request is sent in
**one** call to the provider, which may return a better subject and preview for each.
A rewrite is used only when it keeps the rules' promises (``acceptable``): not empty,
within the channel's limits, naming the shop. Otherwise, or when the provider fails or
does not answer within ``CAMPAIGN_COPY_TIMEOUT_SECONDS``, the rules' copy stands
(``source: "rules"``). Occasion, audience, send time and rationale are never the
provider's: they come from the shop's data. A new provider implements ``CopyWriter``;
``docs/campaigns.md`` has the contract.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from bloomer_ai.campaigns.rules.copy import LIMITS, fits, names_shop


@dataclass(frozen=True, slots=True)
class ShopFacts:
    id: str
    name: str
    country: str
    timezone: str


@dataclass(frozen=True, slots=True)
class CopyDraft:
    """One suggestion as the rules made it: what the provider may rewrite, and the facts
    it may use."""

    occasion_key: str
    occasion_name: str
    occasion_date: date
    segment: str
    segment_description: str
    estimated_size: int
    send_at: datetime
    subject: str
    body_preview: str

    def to_json(self) -> dict[str, Any]:
        return {
            "occasion": {
                "key": self.occasion_key,
                "name": self.occasion_name,
                "date": self.occasion_date.isoformat(),
            },
            "audience": {
                "segment": self.segment,
                "description": self.segment_description,
                "estimatedSize": self.estimated_size,
            },
            "sendAt": self.send_at.isoformat(),
            "subject": self.subject,
            "bodyPreview": self.body_preview,
        }


@dataclass(frozen=True, slots=True)
class CopyRequest:
    shop: ShopFacts
    channel: str
    language: str
    drafts: Sequence[CopyDraft]

    def limits_json(self) -> dict[str, Any]:
        limits = LIMITS[self.channel]
        return {
            "subjectMaxChars": limits.subject_max,
            "bodyMaxChars": limits.body_max,
            "bodyMaxSmsSegments": 1 if limits.body_max is None else None,
        }


@dataclass(frozen=True, slots=True)
class RewrittenCopy:
    subject: str
    body_preview: str


class CopyWriter(Protocol):
    name: str
    remote: bool
    """Whether ``rewrite`` leaves the process (the request's reads end before it)."""

    async def rewrite(self, request: CopyRequest) -> Sequence[RewrittenCopy | None]:
        """A rewrite per draft, in order (None: keep the rules' copy of that draft). May
        raise ``ProviderError`` / ``ProviderTimeout``."""
        ...

    async def aclose(self) -> None: ...


class RulesOnly:
    """``AI_PROVIDER=builtin``: the rules' copy as it is."""

    name = "builtin"
    remote = False

    async def rewrite(self, request: CopyRequest) -> Sequence[RewrittenCopy | None]:
        return [None] * len(request.drafts)

    async def aclose(self) -> None:
        """Nothing to release."""


def acceptable(request: CopyRequest, copy: RewrittenCopy) -> str | None:
    """Why a rewrite cannot be used (a short reason for the log), or None when it can."""
    if not fits(request.channel, copy.subject, copy.body_preview):
        return "outside the channel's limits"
    if not names_shop(request.shop.name, copy.subject, copy.body_preview):
        return "does not name the shop"
    return None


def copies_of(answer: Any, count: int) -> list[RewrittenCopy | None] | None:
    """``{"copies": [{"subject", "bodyPreview"} | null, …]}`` read leniently per item (an
    item without both strings is None); None when there is no such list at all."""
    if not isinstance(answer, dict) or not isinstance(answer.get("copies"), list):
        return None
    found: list[RewrittenCopy | None] = []
    for item in answer["copies"][:count]:
        if (
            isinstance(item, dict)
            and isinstance(item.get("subject"), str)
            and isinstance(item.get("bodyPreview"), str)
        ):
            found.append(RewrittenCopy(item["subject"].strip(), item["bodyPreview"].strip()))
        else:
            found.append(None)
    return found + [None] * (count - len(found))


def request_json(request: CopyRequest) -> dict[str, Any]:
    """The body both HTTP providers build on (docs/campaigns.md has it)."""
    return {
        "shop": {
            "id": request.shop.id,
            "name": request.shop.name,
            "country": request.shop.country,
            "timezone": request.shop.timezone,
        },
        "channel": request.channel,
        "language": request.language,
        "limits": request.limits_json(),
        "drafts": [draft.to_json() for draft in request.drafts],
    }
