"""What a customer's message asks, in any of the four languages: a small, explicit reading.

The offline assistant answers only what it can answer from the shop's own facts, so the
reading is narrow and ordered: an explicit wish for a person first, then an order number,
then delivery (before opening hours: "do you deliver on Sunday?" is not about the shop's
door), opening hours, products, the customer's own order, a follow-up about the order
being discussed, and last the small talk (greetings, thanks). Anything else is ``unknown``
and goes to the team.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from bloomer_ai.agent.assistant.language import word_set, words_of
from bloomer_ai.agent.assistant.order_numbers import extract_order_number
from bloomer_ai.agent.assistant.when import When, find_when

IntentKind = Literal[
    "handoff",
    "order_number",
    "my_order",
    "order_followup",
    "delivery",
    "hours",
    "products",
    "greeting",
    "thanks",
    "goodbye",
    "unknown",
]
DeliveryAspect = Literal["cost", "days", "zones", "cutoff", "general"]


@dataclass(frozen=True, slots=True)
class Intent:
    kind: IntentKind
    when: When | None = None
    order_number: str | None = None
    delivery_aspect: DeliveryAspect = "general"
    product_words: tuple[str, ...] = field(default=())
    asks_price: bool = False
    weekly: bool = False
    """Asks for the opening hours in general ("what are your opening hours?")."""
    greeted: bool = False
    """The message also opened with a greeting ("Good morning! Are you open today?")."""


def _pattern(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?!\w)")


HANDOFF = _pattern(
    r"(?:speak|talk|chat)\s+(?:to|with)\s+(?:a\s+)?(?:human|person|someone|somebody|staff"
    r"|an?\s+(?:agent|employee|florist))",
    r"real\s+person",
    r"(?:een\s+)?medewerker",
    r"mens(?:en)?",
    r"iemand\s+spreken",
    r"mitarbeiter(?:in)?",
    r"einem\s+menschen",
    r"mensch",
    r"quelqu'un",
    r"un\s+humain",
    r"une\s+personne",
    r"un\s+conseiller",
)

DELIVERY = _pattern(
    r"deliver(?:s|y|ies|ed|ing)?",
    r"shipping",
    r"bezorg(?:en|t|ing|kosten|dagen)?",
    r"lever(?:en|t|ing)?",
    r"bezorgd",
    r"thuisbezorg\w*",
    r"liefer(?:n|t|ung|ungen|kosten|tage|gebiet)?",
    r"zustell\w*",
    r"versand\w*",
    r"livr(?:er|ez|e|ons|aison|aisons|é|ée)",
)
COST = _pattern(
    r"cost(?:s)?",
    r"price",
    r"fee",
    r"charge",
    r"how\s+much",
    r"kost(?:en|t)?",
    r"prijs",
    r"hoeveel",
    r"kostet",
    r"preis",
    r"gebühr",
    r"wie\s+viel",
    r"coûte(?:nt)?",
    r"co[uû]t",
    r"prix",
    r"frais",
    r"tarif",
    r"combien",
)
CUTOFF = _pattern(
    r"same[\s-]day",
    r"order\s+(?:by|before)",
    r"(?:how|what)\s+late\s+can\s+i\s+order",
    r"dezelfde\s+dag",
    r"vandaag\s+nog",
    r"uiterlijk",
    r"am\s+selben\s+tag",
    r"noch\s+heute",
    r"bis\s+wann",
    r"le\s+jour\s+même",
    r"jusqu'à\s+quelle\s+heure",
)
ZONES = _pattern(
    r"where",
    r"area",
    r"areas",
    r"zones?",
    r"waar",
    r"welke\s+plaatsen",
    r"gebied",
    r"wohin",
    r"gebiet",
    r"où",
    r"quelles?\s+(?:villes|zones)",
)
HOURS = _pattern(
    r"open(?:s|ed|ing)?",
    r"clos(?:e|es|ed|ing)",
    r"hours",
    r"what\s+time",
    r"how\s+late",
    r"openingstijden",
    r"geopend",
    r"gesloten",
    r"dicht",
    r"hoe\s+laat",
    r"geöffnet",
    r"geoeffnet",
    r"offen",
    r"geschlossen",
    r"öffnungszeiten",
    r"wann\s+(?:habt|haben|hat|macht|machen)",
    r"ouvert(?:e|s|es)?",
    r"ouvrez",
    r"fermé(?:e|s|es)?",
    r"fermez",
    r"horaires?",
    r"à\s+quelle\s+heure",
    r"quelle\s+heure",
)
WEEKLY_HOURS = _pattern(
    r"opening\s+hours",
    r"(?:your|the|shop)\s+hours",
    r"openingstijden",
    r"openingsuren",
    r"öffnungszeiten",
    r"horaires",
    r"heures\s+d'ouverture",
)
PRODUCTS = _pattern(
    r"do\s+you\s+(?:have|sell|stock|carry)",
    r"have\s+you\s+got",
    r"is\s+there\s+any",
    r"are\s+there\s+any",
    r"(?:heb|hebben|hebt|verkoop|verkopen)\s+(?:je|jullie|u)",
    r"(?:habt|haben|verkauft|verkaufen)\s+(?:ihr|sie)",
    r"gibt\s+es",
    r"(?:avez|vendez)(?:-|\s+)vous",
    r"vous\s+(?:avez|vendez)",
    r"(?:est-ce\s+qu'il\s+y\s+a|y\s+a-t-il)",
)
PRICE = _pattern(
    r"how\s+much\s+(?:is|are|does|do)",
    r"what\s+(?:does|do)\s+.+\s+cost",
    r"price\s+of",
    r"wat\s+kost(?:en)?",
    r"hoeveel\s+kost(?:en)?",
    r"was\s+kostet",
    r"was\s+kosten",
    r"wie\s+viel\s+kostet",
    r"combien\s+(?:coûte|coûtent|co[uû]te)",
    r"quel\s+est\s+le\s+prix",
)
MY_ORDER = _pattern(
    r"(?:my|our)\s+(?:last\s+|latest\s+|recent\s+)?(?:order|delivery|flowers|bouquet|package"
    r"|parcel)",
    r"order\s+status",
    r"track(?:ing)?",
    r"where(?:'s|\s+is)\s+my",
    r"(?:mijn|onze)\s+(?:laatste\s+)?(?:bestelling|levering|bloemen|boeket|pakket)",
    r"(?:meine|unsere)\s+(?:letzte\s+)?(?:bestellung|lieferung|blumen|strauß)",
    r"(?:ma|notre)\s+(?:dernière\s+)?(?:commande|livraison)",
    r"mes\s+fleurs",
    r"mon\s+(?:bouquet|colis)",
)
FOLLOWUP = _pattern(
    r"and\s+(?:what\s+about\s+)?(?:it|that|now)",
    r"what\s+about\s+(?:it|that|now)",
    r"(?:when|where)\s+(?:will|does|is)\s+it",
    r"is\s+it\s+(?:there|here|on\s+its\s+way|delivered|ready)",
    r"(?:any|an)\s+update",
    r"status\s+now",
    r"en\s+nu",
    r"wanneer\s+(?:komt|wordt)\s+(?:het|hij|die)",
    r"is\s+(?:het|hij)\s+(?:al|nu)",
    r"und\s+jetzt",
    r"wann\s+kommt\s+(?:sie|es|er)",
    r"ist\s+(?:sie|es|er)\s+schon",
    r"et\s+maintenant",
    r"quand\s+(?:arrive-t-elle|arrive-t-il|va-t-elle|sera-t-elle|arrivera)",
    r"elle\s+(?:arrive|est)",
    r"il\s+(?:arrive|est)",
)
GREETING = re.compile(
    r"^\W*(?:hi|hello|hey|hiya|howdy|greetings|good\s+(?:morning|afternoon|evening|day)"
    r"|hallo|hoi|goedemorgen|goedemiddag|goedenavond|goedendag|dag|moin|servus"
    r"|guten\s+(?:morgen|tag|abend)|grüß\s+gott|bonjour|bonsoir|salut|coucou)\b"
)
THANKS = re.compile(
    r"^\W*(?:thanks|thank\s+you|thx|cheers|great,?\s+thanks|danke(?:schön)?|vielen\s+dank"
    r"|merci|bedankt|dank\s+je(?:wel)?|dank\s+u(?:wel)?|dankjewel|dankuwel|top,?\s+bedankt"
    r"|super,?\s+merci|super,?\s+danke|ok(?:ay)?,?\s+thanks)\b"
)
GOODBYE = re.compile(
    r"^\W*(?:bye|goodbye|see\s+you|doei|tot\s+ziens|dag|tschüss|auf\s+wiedersehen"
    r"|au\s+revoir|à\s+bientôt)\b"
)
HELP_ONLY = _pattern(
    r"can\s+you\s+help(?:\s+me)?",
    r"could\s+you\s+help(?:\s+me)?",
    r"i\s+have\s+a\s+question",
    r"kun(?:t|nen)?\s+(?:je|jij|u|jullie)\s+(?:me\s+|mij\s+)?helpen",
    r"ik\s+heb\s+een\s+vraag",
    r"können\s+sie\s+mir\s+helfen",
    r"kannst\s+du\s+mir\s+helfen",
    r"ich\s+habe\s+eine\s+frage",
    r"pouvez-vous\s+m'aider",
    r"vous\s+pouvez\s+m'aider",
    r"j'ai\s+une\s+question",
)
_SMALL_TALK_MAX_WORDS = 6

# Words that never name a product: question words, the intent words above, pronouns.
_NOT_PRODUCT = word_set(
    """
    do does you your have has sell stock carry got any some is are there a an the of for which
    welke welche quelles quels quel quelle kind kinds soort soorten art arten sorte sortes
    please today tomorrow now still in stock available what which how much price cost costs
    heb hebben hebt je jullie u verkopen verkoop er nog op voorraad zijn is een de het wat
    kost kosten hoeveel ook vandaag morgen graag habt haben ihr sie verkauft verkaufen gibt
    es noch auf lager vorrätig einen eine ein der die das was kostet kosten wie viel auch
    heute morgen bitte avez vendez vous est-ce qu'il y a-t-il des de du le la les un une en
    stock encore combien coûte coûtent prix aujourd'hui demain s'il plaît
    """
)


def product_words(text: str) -> tuple[str, ...]:
    """The words of a product question that may name the product ("red roses")."""
    words = [part.strip("'") for word in words_of(text) for part in word.split("-")]
    return tuple(w for w in words if w and w not in _NOT_PRODUCT and not w.isdigit())


def read_intent(
    text: str,
    today: date,
    *,
    country: str = "NL",
    handoff_keywords: tuple[str, ...] = (),
    discussing_order: bool = False,
) -> Intent:
    """What ``text`` asks; ``today`` is the shop's local date, ``discussing_order`` whether
    an order was the subject of the conversation so far."""
    lowered = text.casefold().replace("’", "'")
    greeted = GREETING.match(lowered) is not None
    if HANDOFF.search(lowered) or any(
        re.search(rf"(?<!\w){re.escape(keyword.casefold())}(?!\w)", lowered)
        for keyword in handoff_keywords
    ):
        return Intent("handoff", greeted=greeted)
    number = extract_order_number(text)
    if number is not None:
        return Intent("order_number", order_number=number, greeted=greeted)
    when = find_when(lowered, today, country)
    if DELIVERY.search(lowered) and not MY_ORDER.search(lowered):
        aspect: DeliveryAspect = "general"
        if COST.search(lowered):
            aspect = "cost"
        elif CUTOFF.search(lowered):
            aspect = "cutoff"
        elif when is not None:
            aspect = "days"
        elif ZONES.search(lowered):
            aspect = "zones"
        return Intent("delivery", when=when, delivery_aspect=aspect, greeted=greeted)
    if HOURS.search(lowered):
        weekly = when is None and WEEKLY_HOURS.search(lowered) is not None
        return Intent("hours", when=when, weekly=weekly, greeted=greeted)
    if PRODUCTS.search(lowered) or PRICE.search(lowered):
        return Intent(
            "products",
            product_words=product_words(lowered),
            asks_price=PRICE.search(lowered) is not None or COST.search(lowered) is not None,
            greeted=greeted,
        )
    if MY_ORDER.search(lowered):
        return Intent("my_order", greeted=greeted)
    if discussing_order and (FOLLOWUP.search(lowered) or (when is not None and len(lowered) < 40)):
        return Intent("order_followup", greeted=greeted)
    if when is not None and len(words_of(lowered)) <= 4:
        # "And on Sunday?" after an hours answer reads as hours; the caller decides.
        return Intent("hours", when=when, greeted=greeted)
    short = len(words_of(lowered)) <= _SMALL_TALK_MAX_WORDS
    if THANKS.match(lowered) and short:
        return Intent("thanks")
    if GOODBYE.match(lowered) and short:
        return Intent("goodbye")
    if greeted and (short or HELP_ONLY.search(lowered)):
        return Intent("greeting", greeted=True)
    if HELP_ONLY.search(lowered) and short:
        return Intent("greeting")
    return Intent("unknown", greeted=greeted)
