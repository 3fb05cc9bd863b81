"""``AI_PROVIDER=builtin``: offline templates, so the embedded default completes requests.

Each variant takes another angle (remind, thank, welcome, win back, discover), the first
one the requested segment's: the subject and preview are the suggestion rules' copy for
that angle (``campaigns.rules.copy``, within the e-mail limits), the SMS their one-segment
text, and the body frames the preview with a greeting in the requested tone, a closing
line with the occasion's date and the shop's signature. Deterministic: the same brief
gives the same copy. ``notes`` are for a language model and are not read here.
"""

from __future__ import annotations

from collections.abc import Sequence

from bloomer_ai.campaign_generation.providers.base import Accepted, Brief, Variant
from bloomer_ai.campaigns.rules.copy import ANGLES, write_copy
from bloomer_ai.campaigns.rules.segments import Segment
from bloomer_ai.campaigns.rules.text import long_date

# One segment that speaks with each angle, in the order variants take them.
ANGLE_SEGMENTS: dict[str, Segment] = {
    "discover": Segment.NEVER_ORDERED_FOR_OCCASION,
    "thank": Segment.CHAMPIONS,
    "remind": Segment.ORDERED_FOR_LAST_OCCASION,
    "welcome": Segment.RECENT_FIRST_TIME,
    "winback": Segment.LAPSED,
}

GREETINGS: dict[str, dict[str | None, str]] = {
    "en": {
        None: "Hello,",
        "friendly": "Hi there,",
        "warm": "Dear customer,",
        "playful": "Hello, flower lover!",
        "elegant": "Dear friend of {shop},",
        "formal": "Dear Sir or Madam,",
        "urgent": "Don't wait too long:",
    },
    "nl": {
        None: "Hallo,",
        "friendly": "Hoi,",
        "warm": "Beste klant,",
        "playful": "Hallo bloemenliefhebber!",
        "elegant": "Beste vriend van {shop},",
        "formal": "Geachte klant,",
        "urgent": "Wacht niet te lang:",
    },
    "de": {
        None: "Hallo,",
        "friendly": "Hallo,",
        "warm": "Liebe Kundin, lieber Kunde,",
        "playful": "Hallo, Blumenfan!",
        "elegant": "Liebe Freunde von {shop},",
        "formal": "Sehr geehrte Kundin, sehr geehrter Kunde,",
        "urgent": "Nicht zu lange warten:",
    },
    "fr": {
        None: "Bonjour,",
        "friendly": "Bonjour,",
        "warm": "Chère cliente, cher client,",
        "playful": "Bonjour, amoureux des fleurs !",
        "elegant": "Chers amis de {shop},",
        "formal": "Madame, Monsieur,",
        "urgent": "N'attendez pas :",
    },
}
CLOSINGS = {
    "en": "Order online or visit us in the shop: we deliver in time for {date}.",
    "nl": "Bestel online of kom langs in de winkel: we bezorgen op tijd voor {date}.",
    "de": "Bestelle online oder besuche uns im Laden: Wir liefern rechtzeitig zum {date}.",
    "fr": "Commandez en ligne ou passez en boutique : nous livrons à temps pour le {date}.",
}
SIGNOFFS = {
    "en": "Warm regards,\n{shop}",
    "nl": "Hartelijke groet,\n{shop}",
    "de": "Herzliche Grüße\n{shop}",
    "fr": "Bien à vous,\n{shop}",
}


def angles_for(segment: str | None, count: int) -> list[str]:
    """The angles of ``count`` variants: the segment's first, then the others in order."""
    order = list(ANGLE_SEGMENTS)
    first = ANGLES[Segment(segment)] if segment is not None else order[0]
    return ([first] + [angle for angle in order if angle != first])[:count]


def write_variants(brief: Brief) -> list[Variant]:
    shop, language = " ".join(brief.shop.name.split()), brief.language
    when = long_date(brief.occasion_date, language, brief.shop.country)
    variants = []
    for angle in angles_for(brief.segment, brief.variants):
        segment = ANGLE_SEGMENTS[angle]
        common = {
            "shop_name": brief.shop.name,
            "occasion_name": brief.occasion_name,
            "occasion_date": brief.occasion_date,
            "segment": segment,
            "language": language,
            "country": brief.shop.country,
        }
        email = write_copy(channel="email", **common)  # type: ignore[arg-type]
        sms = write_copy(channel="sms", **common)  # type: ignore[arg-type]
        greeting = GREETINGS[language][brief.tone].format(shop=shop)
        body = "\n\n".join(
            [
                greeting,
                email.body_preview,
                CLOSINGS[language].format(date=when),
                SIGNOFFS[language].format(shop=shop),
            ]
        )
        variants.append(Variant(email.subject, email.body_preview, body, sms.body_preview))
    return variants


class BuiltinGenerator:
    name = "builtin"
    remote = False

    async def generate(self, brief: Brief) -> Sequence[Variant] | Accepted:
        return write_variants(brief)

    async def aclose(self) -> None:
        """Nothing to release."""
