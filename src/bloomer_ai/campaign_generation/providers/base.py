"""What a generation provider gets (``Brief``) and gives: variants, or "accepted for later"
(``Accepted``: Lilli calls back with the result). The checks every result passes, from
any provider or the callback, are here too (``unusable``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from bloomer_ai.campaign_generation.schemas import BODY_MAX, PREVIEW_MAX, SUBJECT_MAX
from bloomer_ai.campaigns.providers.base import ShopFacts
from bloomer_ai.campaigns.rules.copy import names_shop
from bloomer_ai.campaigns.rules.sms import fits_one_sms


@dataclass(frozen=True, slots=True)
class Brief:
    """One generation request, resolved: what a provider writes for."""

    request_id: str
    shop: ShopFacts
    occasion_key: str
    occasion_name: str
    occasion_date: date
    channel: str
    language: str
    variants: int
    segment: str | None = None
    tone: str | None = None
    notes: str | None = None
    callback_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The body both HTTP providers send (docs/lilli-provider-contract.md)."""
        return {
            "requestId": self.request_id,
            "callbackUrl": self.callback_url,
            "shop": {
                "id": self.shop.id,
                "name": self.shop.name,
                "country": self.shop.country,
                "timezone": self.shop.timezone,
            },
            "brief": {
                "occasion": {
                    "key": self.occasion_key,
                    "name": self.occasion_name,
                    "date": self.occasion_date.isoformat(),
                },
                "channel": self.channel,
                "language": self.language,
                "segment": self.segment,
                "tone": self.tone,
                "notes": self.notes,
                "variants": self.variants,
            },
            "limits": {
                "subjectMaxChars": SUBJECT_MAX,
                "previewMaxChars": PREVIEW_MAX,
                "bodyMaxChars": BODY_MAX,
                "smsMaxSegments": 1,
            },
        }


@dataclass(frozen=True, slots=True)
class Variant:
    subject: str
    preview: str
    body: str
    sms_text: str

    def to_json(self) -> dict[str, str]:
        return {
            "subject": self.subject,
            "preview": self.preview,
            "body": self.body,
            "smsText": self.sms_text,
        }


@dataclass(frozen=True, slots=True)
class Accepted:
    """The provider took the request and will deliver the result by callback."""


class Generator(Protocol):
    name: str
    remote: bool
    """Whether ``generate`` leaves the process (a run then waits outside any transaction)."""

    async def generate(self, brief: Brief) -> Sequence[Variant] | Accepted:
        """The variants, or ``Accepted``. May raise ``ProviderError`` / ``ProviderTimeout``."""
        ...

    async def aclose(self) -> None: ...


def unusable(variant: Variant, shop_name: str) -> tuple[str, str] | None:
    """(field, reason) when a variant cannot be used, else None."""
    for field, text, limit in (
        ("subject", variant.subject, SUBJECT_MAX),
        ("preview", variant.preview, PREVIEW_MAX),
        ("body", variant.body, BODY_MAX),
    ):
        if not text.strip():
            return field, "is empty"
        if len(text) > limit:
            return field, f"is longer than {limit} characters"
    if not variant.sms_text.strip():
        return "smsText", "is empty"
    if not fits_one_sms(variant.sms_text):
        return "smsText", "does not fit one SMS (160 GSM-7 characters, or 70 with others)"
    if not names_shop(shop_name, variant.subject, variant.preview, variant.body):
        return "body", "does not name the shop"
    return None


def variants_of(answer: Any) -> list[Variant] | None:
    """``{"variants": [{"subject", "preview", "body", "smsText"}, …]}`` → variants; None
    when there is no such list or an item lacks one of the four strings."""
    if not isinstance(answer, dict) or not isinstance(answer.get("variants"), list):
        return None
    found: list[Variant] = []
    for item in answer["variants"]:
        if not isinstance(item, dict):
            return None
        texts = [item.get(key) for key in ("subject", "preview", "body", "smsText")]
        if not all(isinstance(text, str) for text in texts):
            return None
        subject, preview, body, sms_text = (str(text).strip() for text in texts)
        found.append(Variant(subject, preview, body, sms_text))
    return found or None


def usable_variants(
    variants: Sequence[Variant], asked: int, shop_name: str
) -> tuple[list[Variant], list[tuple[int, str, str]]]:
    """The variants asked for (more are cut first: only those are kept, so only those are
    checked) and, per unusable one, (index, field, reason). The worker's run and Lilli's
    callback decide alike."""
    kept = list(variants)[:asked]
    problems = []
    for index, variant in enumerate(kept):
        problem = unusable(variant, shop_name)
        if problem is not None:
            problems.append((index, *problem))
    return kept, problems
