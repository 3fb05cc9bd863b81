"""The offline assistant's sentences in English, Dutch, German and French, and how each
language writes a date, a time, a list and an amount of money.

Own tables rather than the process locale (``strftime("%A")`` follows whatever the host is
set to): a reply's language is the customer's, never the server's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from bloomer_ai.agent.assistant.language import Language
from bloomer_ai.agent.config.schema import WEEKDAY_KEYS

WEEKDAYS: Mapping[str, tuple[str, ...]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}
MONTHS: Mapping[str, tuple[str, ...]] = {
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "nl": (
        "januari", "februari", "maart", "april", "mei", "juni",
        "juli", "augustus", "september", "oktober", "november", "december",
    ),
    "de": (
        "Januar", "Februar", "März", "April", "Mai", "Juni",
        "Juli", "August", "September", "Oktober", "November", "Dezember",
    ),
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ),
}  # fmt: skip

# A named day as each language says "on …" it (the preposition belongs to the name in
# French and German, where it changes with the name).
NAMED_DAYS: dict[str, dict[Language, str]] = {
    "christmas_eve": {"en": "on Christmas Eve", "nl": "op kerstavond", "de": "an Heiligabend",
                      "fr": "la veille de Noël"},
    "christmas": {"en": "on Christmas Day", "nl": "op eerste kerstdag",
                  "de": "am ersten Weihnachtstag", "fr": "à Noël"},
    "boxing_day": {"en": "on Boxing Day", "nl": "op tweede kerstdag",
                   "de": "am zweiten Weihnachtstag", "fr": "le lendemain de Noël"},
    "new_years_eve": {"en": "on New Year's Eve", "nl": "op oudejaarsdag", "de": "an Silvester",
                      "fr": "à la Saint-Sylvestre"},
    "new_year": {"en": "on New Year's Day", "nl": "op nieuwjaarsdag", "de": "an Neujahr",
                 "fr": "le jour de l'An"},
    "valentines_day": {"en": "on Valentine's Day", "nl": "op Valentijnsdag",
                       "de": "am Valentinstag", "fr": "à la Saint-Valentin"},
    "easter": {"en": "on Easter Sunday", "nl": "op eerste paasdag", "de": "am Ostersonntag",
               "fr": "à Pâques"},
    "easter_monday": {"en": "on Easter Monday", "nl": "op tweede paasdag",
                      "de": "am Ostermontag", "fr": "le lundi de Pâques"},
    "kings_day": {"en": "on King's Day", "nl": "op Koningsdag", "de": "am Königstag",
                  "fr": "le jour de la fête du Roi"},
    "mothers_day": {"en": "on Mother's Day", "nl": "op Moederdag", "de": "am Muttertag",
                    "fr": "le jour de la fête des Mères"},
}  # fmt: skip
HOLIDAY_NAMES: dict[str, dict[Language, str]] = {
    "christmas_eve": {"en": "Christmas Eve", "nl": "kerstavond", "de": "Heiligabend",
                      "fr": "veille de Noël"},
    "christmas": {"en": "Christmas Day", "nl": "eerste kerstdag", "de": "erster Weihnachtstag",
                  "fr": "Noël"},
    "boxing_day": {"en": "Boxing Day", "nl": "tweede kerstdag", "de": "zweiter Weihnachtstag",
                   "fr": "lendemain de Noël"},
    "new_years_eve": {"en": "New Year's Eve", "nl": "oudejaarsdag", "de": "Silvester",
                      "fr": "Saint-Sylvestre"},
    "new_year": {"en": "New Year's Day", "nl": "nieuwjaarsdag", "de": "Neujahr",
                 "fr": "jour de l'An"},
    "valentines_day": {"en": "Valentine's Day", "nl": "Valentijnsdag", "de": "Valentinstag",
                       "fr": "Saint-Valentin"},
    "easter": {"en": "Easter Sunday", "nl": "eerste paasdag", "de": "Ostersonntag",
               "fr": "Pâques"},
    "easter_monday": {"en": "Easter Monday", "nl": "tweede paasdag", "de": "Ostermontag",
                      "fr": "lundi de Pâques"},
    "kings_day": {"en": "King's Day", "nl": "Koningsdag", "de": "Königstag",
                  "fr": "fête du Roi"},
    "mothers_day": {"en": "Mother's Day", "nl": "Moederdag", "de": "Muttertag",
                    "fr": "fête des Mères"},
}  # fmt: skip

STATUSES: dict[str, dict[Language, str]] = {
    "pending": {"en": "received, not yet confirmed", "nl": "ontvangen, nog niet bevestigd",
                "de": "eingegangen, noch nicht bestätigt", "fr": "reçue, pas encore confirmée"},
    "confirmed": {"en": "confirmed", "nl": "bevestigd", "de": "bestätigt", "fr": "confirmée"},
    "in_progress": {"en": "being prepared", "nl": "in voorbereiding", "de": "in Vorbereitung",
                    "fr": "en préparation"},
    "ready": {"en": "ready", "nl": "klaar", "de": "fertig", "fr": "prête"},
    "out_for_delivery": {"en": "out for delivery", "nl": "onderweg", "de": "unterwegs",
                         "fr": "en cours de livraison"},
    "delivered": {"en": "delivered", "nl": "bezorgd", "de": "zugestellt", "fr": "livrée"},
    "picked_up": {"en": "picked up", "nl": "opgehaald", "de": "abgeholt", "fr": "retirée"},
    "cancelled": {"en": "cancelled", "nl": "geannuleerd", "de": "storniert", "fr": "annulée"},
}  # fmt: skip

CURRENCY_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


def day_and_date(day: date, language: Language, today: date) -> str:
    """``Sunday 13 December`` / ``zondag 13 december`` / ``Sonntag, 13. Dezember`` /
    ``dimanche 13 décembre``; the year only when it is not this year's."""
    weekday = WEEKDAYS[language][day.weekday()]
    month = MONTHS[language][day.month - 1]
    year = f" {day.year}" if day.year != today.year else ""
    if language == "de":
        return f"{weekday}, {day.day}. {month}{year}"
    return f"{weekday} {day.day} {month}{year}"


def clock(value: str, language: Language) -> str:
    """``"09:00"`` → ``9 am`` / ``9.00`` / ``9:00`` / ``9 h``; ``24:00`` is midnight."""
    hours, minutes = (int(part) for part in value.split(":"))
    if language == "en":
        if hours in (0, 24) and minutes == 0:
            return "midnight"
        suffix = "am" if hours < 12 else "pm"
        twelve = hours % 12 or 12
        return f"{twelve} {suffix}" if minutes == 0 else f"{twelve}:{minutes:02d} {suffix}"
    if language == "nl":
        return f"{hours}.{minutes:02d}"
    if language == "de":
        return f"{hours}:{minutes:02d}"
    return f"{hours} h" if minutes == 0 else f"{hours} h {minutes:02d}"


def clock_range(opens: str, closes: str, language: Language) -> str:
    if language == "en":
        return f"{clock(opens, language)} to {clock(closes, language)}"
    if language == "nl":
        return f"{clock(opens, language)} tot {clock(closes, language)} uur"
    if language == "de":
        return f"{clock(opens, language)} bis {clock(closes, language)} Uhr"
    return f"{clock(opens, language)} à {clock(closes, language)}"


def joined(items: list[str], language: Language) -> str:
    """``a, b and c`` in the language's words."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    word = {"en": "and", "nl": "en", "de": "und", "fr": "et"}[language]
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def ranges_text(ranges: list[dict[str, str]], language: Language) -> str:
    return joined([clock_range(r["opens"], r["closes"], language) for r in ranges], language)


def money(minor: int, currency: str, language: Language) -> str:
    """``€7.50`` / ``€ 7,50`` / ``7,50 €`` / ``7,50 €``."""
    symbol = CURRENCY_SYMBOLS.get(currency, currency)
    whole, cents = divmod(minor, 100)
    if language == "en":
        return f"{symbol}{whole}.{cents:02d}"
    amount = f"{whole},{cents:02d}"
    return f"{symbol} {amount}" if language == "nl" else f"{amount} {symbol}"


def weekday_list(keys: list[str], language: Language) -> str:
    """Weekday keys (``mon`` …) as "on which days": ``from Monday to Saturday`` for a run
    of three or more, ``on Monday and Saturday`` otherwise, ``every day`` for all seven."""
    indexes = sorted(WEEKDAY_KEYS.index(key) for key in keys)
    names = WEEKDAYS[language]
    if len(indexes) == 7:
        return {"en": "every day", "nl": "elke dag", "de": "täglich", "fr": "tous les jours"}[
            language
        ]
    if len(indexes) >= 3 and indexes == list(range(indexes[0], indexes[-1] + 1)):
        first, last = names[indexes[0]], names[indexes[-1]]
        return {
            "en": f"from {first} to {last}",
            "nl": f"van {first} t/m {last}",
            "de": f"von {first} bis {last}",
            "fr": f"du {first} au {last}",
        }[language]
    listed = joined([names[index] for index in indexes], language)
    return {"en": f"on {listed}", "nl": f"op {listed}", "de": f"am {listed}", "fr": listed}[
        language
    ]


# Sentences, by key. ``{shop}``, ``{day}`` … are filled by the composer.
TEXT: dict[str, dict[Language, str]] = {
    "greeting": {
        "en": "Hello! How can I help you? I can tell you our opening hours and delivery "
        "options, what we have, or look up your order.",
        "nl": "Hallo! Waarmee kan ik je helpen? Ik kan je vertellen wanneer we open zijn en "
        "hoe we bezorgen, wat we hebben, of je bestelling opzoeken.",
        "de": "Hallo! Wie kann ich Ihnen helfen? Ich kann Ihnen unsere Öffnungszeiten und "
        "Lieferoptionen nennen, sagen, was wir haben, oder Ihre Bestellung nachsehen.",
        "fr": "Bonjour ! Comment puis-je vous aider ? Je peux vous donner nos horaires et nos "
        "options de livraison, ce que nous avons, ou retrouver votre commande.",
    },
    "thanks": {
        "en": "You're welcome! Is there anything else I can help with?",
        "nl": "Graag gedaan! Kan ik je nog ergens anders mee helpen?",
        "de": "Gern geschehen! Kann ich Ihnen sonst noch helfen?",
        "fr": "Avec plaisir ! Puis-je vous aider pour autre chose ?",
    },
    "goodbye": {
        "en": "Goodbye, and thank you for contacting {shop}!",
        "nl": "Tot ziens, en bedankt dat je contact opnam met {shop}!",
        "de": "Auf Wiedersehen, und danke, dass Sie {shop} kontaktiert haben!",
        "fr": "Au revoir, et merci d'avoir contacté {shop} !",
    },
    "handoff": {
        "en": "I'll pass your question to the team at {shop}. Someone will get back to you.",
        "nl": "Ik geef je vraag door aan het team van {shop}. Er neemt iemand contact met je op.",
        "de": "Ich gebe Ihre Frage an das Team von {shop} weiter. Jemand meldet sich bei Ihnen.",
        "fr": "Je transmets votre question à l'équipe de {shop}. Quelqu'un vous répondra.",
    },
    "unanswered": {
        "en": "I can't answer that myself.",
        "nl": "Dat kan ik zelf niet beantwoorden.",
        "de": "Das kann ich selbst nicht beantworten.",
        "fr": "Je ne peux pas répondre moi-même.",
    },
    "no_handoff": {
        "en": "Please contact {shop} directly.",
        "nl": "Neem hiervoor rechtstreeks contact op met {shop}.",
        "de": "Bitte wenden Sie sich direkt an {shop}.",
        "fr": "Merci de contacter directement {shop}.",
    },
    "hours_unknown": {
        "en": "I don't have the opening hours of {shop}.",
        "nl": "Ik heb de openingstijden van {shop} niet.",
        "de": "Ich habe die Öffnungszeiten von {shop} nicht.",
        "fr": "Je n'ai pas les horaires de {shop}.",
    },
    "open_on": {
        "en": "Yes, {when} we're open from {ranges}.",
        "nl": "Ja, {when} zijn we open van {ranges}.",
        "de": "Ja, {when} haben wir von {ranges} geöffnet.",
        "fr": "Oui, {when} nous sommes ouverts de {ranges}.",
    },
    "closed_on": {
        "en": "No, {when} we're closed.",
        "nl": "Nee, {when} zijn we gesloten.",
        "de": "Nein, {when} haben wir geschlossen.",
        "fr": "Non, {when} nous sommes fermés.",
    },
    "closed_holiday": {
        "en": "No, {when} we're closed ({holiday}).",
        "nl": "Nee, {when} zijn we gesloten ({holiday}).",
        "de": "Nein, {when} haben wir geschlossen ({holiday}).",
        "fr": "Non, {when} nous sommes fermés ({holiday}).",
    },
    "closed_today": {
        "en": "We're closed today ({date}).",
        "nl": "Vandaag ({date}) zijn we gesloten.",
        "de": "Heute ({date}) haben wir geschlossen.",
        "fr": "Aujourd'hui ({date}), nous sommes fermés.",
    },
    "open_now": {
        "en": "Yes, we're open right now, until {until} today.",
        "nl": "Ja, we zijn nu open, vandaag tot {until}.",
        "de": "Ja, wir haben jetzt geöffnet, heute bis {until}.",
        "fr": "Oui, nous sommes ouverts en ce moment, jusqu'à {until} aujourd'hui.",
    },
    "closed_now": {
        "en": "We're closed right now.",
        "nl": "We zijn nu gesloten.",
        "de": "Wir haben gerade geschlossen.",
        "fr": "Nous sommes fermés en ce moment.",
    },
    "opens_later": {
        "en": "We open at {time} today.",
        "nl": "We gaan vandaag om {time} uur open.",
        "de": "Wir öffnen heute um {time} Uhr.",
        "fr": "Nous ouvrons aujourd'hui à {time}.",
    },
    "open_part": {
        "en": "Yes, {part} we're open: today's hours are {ranges}.",
        "nl": "Ja, {part} zijn we open: vandaag zijn we open van {ranges}.",
        "de": "Ja, {part} haben wir geöffnet: heute von {ranges}.",
        "fr": "Oui, {part} nous sommes ouverts : aujourd'hui de {ranges}.",
    },
    "closed_part": {
        "en": "No, {part} we're closed: {day_hours}.",
        "nl": "Nee, {part} zijn we gesloten: {day_hours}.",
        "de": "Nein, {part} haben wir geschlossen: {day_hours}.",
        "fr": "Non, {part} nous sommes fermés : {day_hours}.",
    },
    "hours_that_day": {
        "en": "that day we're open from {ranges}",
        "nl": "die dag zijn we open van {ranges}",
        "de": "an dem Tag haben wir von {ranges} geöffnet",
        "fr": "ce jour-là nous sommes ouverts de {ranges}",
    },
    "next_open": {
        "en": "We're open again {when}, from {ranges}.",
        "nl": "We zijn weer open {when}, van {ranges}.",
        "de": "Wir haben wieder {when} geöffnet, von {ranges}.",
        "fr": "Nous rouvrons {when}, de {ranges}.",
    },
    "also_closed": {
        "en": "Please note: we're also closed {dates}.",
        "nl": "Let op: we zijn ook gesloten op {dates}.",
        "de": "Bitte beachten Sie: Wir haben auch am {dates} geschlossen.",
        "fr": "À noter : nous sommes aussi fermés le {dates}.",
    },
    "weekly_hours": {
        "en": "Our opening hours: {week}.",
        "nl": "Onze openingstijden: {week}.",
        "de": "Unsere Öffnungszeiten: {week}.",
        "fr": "Nos horaires : {week}.",
    },
    "closed_word": {"en": "closed", "nl": "gesloten", "de": "geschlossen", "fr": "fermé"},
    "today": {"en": "today", "nl": "vandaag", "de": "heute", "fr": "aujourd'hui"},
    "tomorrow": {"en": "tomorrow", "nl": "morgen", "de": "morgen", "fr": "demain"},
    "on_day": {"en": "on {day}", "nl": "op {day}", "de": "am {day}", "fr": "le {day}"},
    "product_item": {
        "en": "{name} at {price}",
        "nl": "{name} voor {price}",
        "de": "{name} für {price}",
        "fr": "{name} à {price}",
    },
    "part_morning": {
        "en": "this morning",
        "nl": "vanochtend",
        "de": "heute Vormittag",
        "fr": "ce matin",
    },
    "part_afternoon": {
        "en": "this afternoon",
        "nl": "vanmiddag",
        "de": "heute Nachmittag",
        "fr": "cet après-midi",
    },
    "part_evening": {"en": "this evening", "nl": "vanavond", "de": "heute Abend", "fr": "ce soir"},
    "delivery_unknown": {
        "en": "I don't have the delivery details of {shop}.",
        "nl": "Ik heb de bezorggegevens van {shop} niet.",
        "de": "Ich habe die Lieferdetails von {shop} nicht.",
        "fr": "Je n'ai pas les informations de livraison de {shop}.",
    },
    "delivery_fee": {
        "en": "Delivery costs {fee}.",
        "nl": "Bezorgen kost {fee}.",
        "de": "Die Lieferung kostet {fee}.",
        "fr": "La livraison coûte {fee}.",
    },
    "delivery_fee_free": {
        "en": "Delivery is free.",
        "nl": "Bezorgen is gratis.",
        "de": "Die Lieferung ist kostenlos.",
        "fr": "La livraison est gratuite.",
    },
    "delivery_zone_fees": {
        "en": "By area: {zones}.",
        "nl": "Per gebied: {zones}.",
        "de": "Je nach Gebiet: {zones}.",
        "fr": "Selon la zone : {zones}.",
    },
    "delivery_days": {
        "en": "We deliver {days}.",
        "nl": "We bezorgen {days}.",
        "de": "Wir liefern {days}.",
        "fr": "Nous livrons {days}.",
    },
    "delivers_then": {
        "en": "Yes, we deliver {when}.",
        "nl": "Ja, we bezorgen {when}.",
        "de": "Ja, wir liefern {when}.",
        "fr": "Oui, nous livrons {when}.",
    },
    "no_delivery_then": {
        "en": "No, we don't deliver {when}.",
        "nl": "Nee, {when} bezorgen we niet.",
        "de": "Nein, {when} liefern wir nicht.",
        "fr": "Non, nous ne livrons pas {when}.",
    },
    "delivery_cutoff": {
        "en": "Order before {time} for delivery the same day.",
        "nl": "Bestel vóór {time} uur voor bezorging op dezelfde dag.",
        "de": "Bestellen Sie vor {time} Uhr für die Lieferung am selben Tag.",
        "fr": "Commandez avant {time} pour une livraison le jour même.",
    },
    "delivery_zones": {
        "en": "We deliver in {zones}.",
        "nl": "We bezorgen in {zones}.",
        "de": "Wir liefern nach {zones}.",
        "fr": "Nous livrons à {zones}.",
    },
    "products_found": {
        "en": "Yes, we have {items}.",
        "nl": "Ja, we hebben {items}.",
        "de": "Ja, wir haben {items}.",
        "fr": "Oui, nous avons {items}.",
    },
    "product_price": {
        "en": "{name} costs {price}.",
        "nl": "{name} kost {price}.",
        "de": "{name} kostet {price}.",
        "fr": "{name} coûte {price}.",
    },
    "products_sold_out": {
        "en": "{items} is sold out at the moment.",
        "nl": "{items} is op dit moment uitverkocht.",
        "de": "{items} ist im Moment ausverkauft.",
        "fr": "{items} est épuisé pour le moment.",
    },
    "products_none": {
        "en": "I can't find that in our range.",
        "nl": "Dat kan ik niet vinden in ons assortiment.",
        "de": "Das finde ich nicht in unserem Sortiment.",
        "fr": "Je ne le trouve pas dans notre assortiment.",
    },
    "products_instead": {
        "en": "We do have {items}.",
        "nl": "We hebben wel {items}.",
        "de": "Wir haben aber {items}.",
        "fr": "Nous avons par contre {items}.",
    },
    "products_special": {
        "en": "For something special, ask me to pass your question to the team.",
        "nl": "Voor iets bijzonders kan ik je vraag doorgeven aan het team.",
        "de": "Für etwas Besonderes kann ich Ihre Frage an das Team weitergeben.",
        "fr": "Pour quelque chose de particulier, je peux transmettre votre question à l'équipe.",
    },
    "order_status": {
        "en": "Order {number} is {status}.",
        "nl": "Bestelling {number} is {status}.",
        "de": "Die Bestellung {number} ist {status}.",
        "fr": "La commande {number} est {status}.",
    },
    "order_delivery": {
        "en": "Delivery date: {date}.",
        "nl": "Bezorgdatum: {date}.",
        "de": "Liefertermin: {date}.",
        "fr": "Date de livraison : {date}.",
    },
    "order_delivery_at": {
        "en": "Delivery date: {date}, around {time}.",
        "nl": "Bezorgdatum: {date}, rond {time} uur.",
        "de": "Liefertermin: {date}, gegen {time} Uhr.",
        "fr": "Date de livraison : {date}, vers {time}.",
    },
    "order_no_date": {
        "en": "It has no delivery date yet.",
        "nl": "Er is nog geen bezorgdatum.",
        "de": "Es gibt noch keinen Liefertermin.",
        "fr": "Elle n'a pas encore de date de livraison.",
    },
    "order_not_found": {
        "en": "I can't find an order with the number {number}. Please check the number, or "
        "ask me to pass your question to the team.",
        "nl": "Ik kan geen bestelling vinden met nummer {number}. Controleer het nummer, of "
        "vraag me je vraag door te geven aan het team.",
        "de": "Ich finde keine Bestellung mit der Nummer {number}. Bitte prüfen Sie die Nummer "
        "oder bitten Sie mich, Ihre Frage an das Team weiterzugeben.",
        "fr": "Je ne trouve pas de commande portant le numéro {number}. Vérifiez le numéro, ou "
        "demandez-moi de transmettre votre question à l'équipe.",
    },
    "ask_order_number": {
        "en": "Please send me your order number (for example 1234) and I'll look it up.",
        "nl": "Stuur me je bestelnummer (bijvoorbeeld 1234), dan zoek ik het op.",
        "de": "Bitte senden Sie mir Ihre Bestellnummer (zum Beispiel 1234), dann sehe ich nach.",
        "fr": "Envoyez-moi votre numéro de commande (par exemple 1234) et je la retrouve.",
    },
}


def say(key: str, language: Language, **values: str) -> str:
    return TEXT[key][language].format(**values)
