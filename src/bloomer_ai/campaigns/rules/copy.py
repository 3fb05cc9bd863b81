"""The copy of a suggestion: subject and preview (e-mail) or the message (SMS), per
occasion and segment, in English, Dutch, German or French, naming the shop, within the
channel's limits:

* e-mail: a subject of at most ``EMAIL_SUBJECT_MAX`` characters (what mail apps show
  whole) and a preview (preheader) of at most ``EMAIL_PREVIEW_MAX``;
* SMS: one SMS segment (160 GSM 7-bit characters, or 70 when a character outside that
  alphabet makes it UCS-2: ``rules.sms``), opt-out line included. The ``subject`` of an
  SMS suggestion is the campaign's name in the shop's list, never sent.

Each text has variants from the fullest to the barest (long date, short date, shorter
shop name); the first that fits is used, and a last resort cuts at a word.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from bloomer_ai.campaigns.rules.segments import Segment
from bloomer_ai.campaigns.rules.sms import fits_one_sms
from bloomer_ai.campaigns.rules.text import long_date, short_date

EMAIL_SUBJECT_MAX = 60
EMAIL_PREVIEW_MAX = 140
SHOP_NAME_LENGTHS = (30, 20, 12)  # a longer name is shortened in the copy, in these steps

# What each segment is told: its angle.
ANGLES: dict[Segment, str] = {
    Segment.ORDERED_FOR_LAST_OCCASION: "remind",
    Segment.CHAMPIONS: "thank",
    Segment.LOYAL: "thank",
    Segment.RECENT_FIRST_TIME: "welcome",
    Segment.AT_RISK: "winback",
    Segment.LAPSED: "winback",
    Segment.NEVER_ORDERED_FOR_OCCASION: "discover",
}

# {shop}, {occasion}, {date} (long or short) are filled in.
SUBJECTS: dict[str, dict[str, str]] = {
    "en": {
        "remind": "{occasion} is {date}: flowers from {shop} again?",
        "thank": "{occasion}: first pick for you at {shop}",
        "welcome": "{occasion} is {date}: order again at {shop}",
        "winback": "We miss you! {occasion} flowers from {shop}",
        "discover": "Flowers for {occasion} from {shop}",
    },
    "nl": {
        "remind": "{occasion} is {date}: weer bloemen van {shop}?",
        "thank": "{occasion}: jij kiest als eerste bij {shop}",
        "welcome": "{occasion} is {date}: bestel opnieuw bij {shop}",
        "winback": "We missen je! {occasion} met {shop}",
        "discover": "Bloemen voor {occasion} van {shop}",
    },
    "de": {
        "remind": "{occasion} am {date}: wieder Blumen von {shop}?",
        "thank": "{occasion}: Du wählst zuerst bei {shop}",
        "welcome": "{occasion}: wieder bei {shop} bestellen",
        "winback": "Wir vermissen dich! {occasion} mit {shop}",
        "discover": "{occasion}: Blumen von {shop}",
    },
    "fr": {
        "remind": "{occasion} : encore des fleurs de {shop} ?",
        "thank": "{occasion} : choisissez en premier chez {shop}",
        "welcome": "{occasion} : recommandez chez {shop}",
        "winback": "Vous nous manquez ! {occasion} avec {shop}",
        "discover": "{occasion} : des fleurs de {shop}",
    },
}
SHORT_SUBJECTS = {
    "en": "{occasion} at {shop}",
    "nl": "{occasion} bij {shop}",
    "de": "{occasion} bei {shop}",
    "fr": "{occasion} chez {shop}",
}
PREVIEWS: dict[str, dict[str, str]] = {
    "en": {
        "remind": "Last time you ordered with us for {occasion}. Order now at {shop} and we "
        "deliver in time for {date}.",
        "thank": "Thank you for ordering with us! Order your {occasion} flowers early at "
        "{shop} and choose from everything we have. {occasion} is {date}.",
        "welcome": "Thanks for your first order! {occasion} is {date}: let {shop} make it special.",
        "winback": "It's been a while. {occasion} is {date}: a good moment to order from "
        "{shop} again.",
        "discover": "{occasion} is {date}. Surprise someone with flowers from {shop}, and "
        "order in time.",
    },
    "nl": {
        "remind": "Vorige keer bestelde je bij ons voor {occasion}. Bestel nu bij {shop}, dan "
        "bezorgen we op tijd voor {date}.",
        "thank": "Bedankt voor je bestellingen! Bestel je bloemen voor {occasion} vroeg bij "
        "{shop} en kies uit ons hele aanbod. {occasion} is {date}.",
        "welcome": "Bedankt voor je eerste bestelling! {occasion} is {date}: maak er iets "
        "moois van met {shop}.",
        "winback": "Het is even geleden. {occasion} is {date}: een mooi moment om weer te "
        "bestellen bij {shop}.",
        "discover": "{occasion} is {date}. Verras iemand met bloemen van {shop} en bestel op tijd.",
    },
    "de": {
        "remind": "Letztes Mal hast du bei uns bestellt. Bestell jetzt bei {shop}, wir "
        "liefern rechtzeitig. {occasion}: {date}.",
        "thank": "Danke für deine Treue! Bestell früh bei {shop} und wähle aus dem ganzen "
        "Sortiment. {occasion}: {date}.",
        "welcome": "Danke für deine erste Bestellung! {occasion}: {date}. {shop} macht den "
        "Tag besonders.",
        "winback": "Lange nicht gesehen. {occasion}: {date}, ein schöner Anlass, wieder bei "
        "{shop} zu bestellen.",
        "discover": "{occasion}: {date}. Überrasche jemanden mit Blumen von {shop} und "
        "bestell rechtzeitig.",
    },
    "fr": {
        "remind": "La dernière fois, vous avez commandé chez nous. Commandez chez {shop}, "
        "nous livrons à temps. {occasion} : {date}.",
        "thank": "Merci pour votre fidélité ! Commandez tôt chez {shop} et profitez de tout "
        "notre choix. {occasion} : {date}.",
        "welcome": "Merci pour votre première commande ! {occasion} : {date}. {shop} rend ce "
        "jour unique.",
        "winback": "Cela fait longtemps. {occasion} : {date}, l'occasion de commander à "
        "nouveau chez {shop}.",
        "discover": "{occasion} : {date}. Faites plaisir avec des fleurs de {shop}, "
        "commandez à temps.",
    },
}
SMS_WHEN = {
    "en": "{occasion} is {date}",
    "nl": "{occasion} is {date}",
    "de": "{occasion} am {date}",
    "fr": "{occasion} le {date}",
}
SMS_CALLS: dict[str, dict[str, str]] = {
    "en": {
        "remind": "Order your flowers in time again!",
        "thank": "Order early, you get first pick!",
        "welcome": "Order again in time!",
        "winback": "We miss you, order now!",
        "discover": "Order your flowers in time!",
    },
    "nl": {
        "remind": "Bestel weer op tijd je bloemen!",
        "thank": "Bestel vroeg, jij kiest eerst!",
        "welcome": "Bestel opnieuw, op tijd!",
        "winback": "We missen je, bestel nu!",
        "discover": "Bestel op tijd je bloemen!",
    },
    "de": {
        "remind": "Wieder rechtzeitig bestellen!",
        "thank": "Früh bestellen, zuerst wählen!",
        "welcome": "Wieder rechtzeitig bestellen!",
        "winback": "Wir vermissen dich, jetzt bestellen!",
        "discover": "Rechtzeitig Blumen bestellen!",
    },
    "fr": {
        "remind": "Commandez à nouveau à temps !",
        "thank": "Commandez tôt, choisissez en premier !",
        "welcome": "Recommandez à temps !",
        "winback": "Vous nous manquez, commandez !",
        "discover": "Commandez vos fleurs à temps !",
    },
}
SMS_OPT_OUT = {
    "en": "Reply STOP to opt out",
    "nl": "STOP = afmelden",
    "de": "STOP = abmelden",
    "fr": "STOP = désinscription",
}
SMS_TITLES = {
    "en": "{occasion} SMS ({segment})",
    "nl": "{occasion} sms ({segment})",
    "de": "{occasion} SMS ({segment})",
    "fr": "{occasion} SMS ({segment})",
}


@dataclass(frozen=True, slots=True)
class CopyLimits:
    subject_max: int
    body_max: int | None
    """Characters; None for SMS, whose limit is one SMS segment."""


LIMITS = {
    "email": CopyLimits(subject_max=EMAIL_SUBJECT_MAX, body_max=EMAIL_PREVIEW_MAX),
    "sms": CopyLimits(subject_max=EMAIL_SUBJECT_MAX, body_max=None),
}


@dataclass(frozen=True, slots=True)
class Copy:
    subject: str
    body_preview: str


def shop_name_forms(name: str) -> list[str]:
    """The shop's name, then shorter forms of it for tight limits ("Bloemenhuis de…")."""
    name = " ".join(name.split())
    forms = [name] if len(name) <= SHOP_NAME_LENGTHS[0] else []
    for length in SHOP_NAME_LENGTHS:
        if len(name) > length:
            forms.append(name[: length - 3].rstrip() + "...")
    return forms


def fits(channel: str, subject: str, body: str) -> bool:
    """Whether a subject and body are within ``channel``'s limits."""
    limits = LIMITS[channel]
    if not subject.strip() or not body.strip() or len(subject) > limits.subject_max:
        return False
    if limits.body_max is None:
        return fits_one_sms(body)
    return len(body) <= limits.body_max


def names_shop(shop_name: str, *texts: str) -> bool:
    """Whether one of ``texts`` names the shop (its name or a shortened form, any case)."""
    folded = [text.casefold() for text in texts]
    for form in shop_name_forms(shop_name):
        stem = form.removesuffix("...").casefold()
        if any(stem in text for text in folded):
            return True
    return False


def write_copy(
    *,
    shop_name: str,
    occasion_name: str,
    occasion_date: date,
    segment: Segment,
    channel: str,
    language: str,
    country: str,
) -> Copy:
    angle = ANGLES[segment]
    dates = (
        long_date(occasion_date, language, country),
        short_date(occasion_date, language, country),
    )
    shops = shop_name_forms(shop_name)

    def fill(template: str, shop: str, when: str) -> str:
        text = template.format(shop=shop, occasion=occasion_name, date=when)
        return text.replace("....", "...")  # a shortened name ending a sentence

    def variants(*templates: str) -> Iterator[str]:
        for template in templates:
            for shop in shops:
                for when in dates:
                    yield fill(template, shop, when)

    if channel == "sms":
        subject = _first(
            variants(SMS_TITLES[language].replace("{segment}", segment.value)),
            lambda text: len(text) <= EMAIL_SUBJECT_MAX,
            EMAIL_SUBJECT_MAX,
        )
        when = SMS_WHEN[language]
        call, opt_out = SMS_CALLS[language][angle], SMS_OPT_OUT[language]
        body = _first(
            variants(
                f"{{shop}}: {when}. {call} {opt_out}",
                f"{{shop}}: {when}. {opt_out}",
                "{shop}: {occasion} {date}. STOP",
            ),
            fits_one_sms,
            None,
        )
        return Copy(subject, body)
    subject = _first(
        variants(SUBJECTS[language][angle], SHORT_SUBJECTS[language]),
        lambda text: len(text) <= EMAIL_SUBJECT_MAX,
        EMAIL_SUBJECT_MAX,
    )
    preview = _first(
        variants(PREVIEWS[language][angle]),
        lambda text: len(text) <= EMAIL_PREVIEW_MAX,
        EMAIL_PREVIEW_MAX,
    )
    return Copy(subject, preview)


def _first(candidates: Iterator[str], ok: Callable[[str], bool], max_chars: int | None) -> str:
    """The first candidate that is ``ok``; else the last one cut at a word to fit."""
    last = ""
    for candidate in candidates:
        if ok(candidate):
            return candidate
        last = candidate
    return _cut(last, ok, max_chars)


def _cut(text: str, ok: Callable[[str], bool], max_chars: int | None) -> str:
    words = text.split(" ")
    while len(words) > 1:
        words.pop()
        shorter = " ".join(words).rstrip(".,:;!?") + "..."
        if ok(shorter):
            return shorter
    cut = text[: max_chars or 67]
    while cut and not ok(cut):
        cut = cut[:-1]
    return cut
