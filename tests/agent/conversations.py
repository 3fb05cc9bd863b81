"""What a florist's customers ask, in English, Dutch, German and French, and what each
answer must and must not say: the offline assistant's conversation set.

The shop (``test_assistant_conversations.py`` makes it) is Bloom & Co in Amsterdam, on
Monday 7 December 2026 at 10:30: open Monday–Wednesday and Friday 9–18, Thursday 9–21,
Saturday 9–17, closed on Sundays, on 28 December and on Dutch public holidays; it delivers
Monday to Saturday to Amsterdam (€5.95), Amstelveen and Diemen (€7.95), same day when
ordered before 14:00; its catalogue has red roses (€29.95), white tulips (€19.95),
sunflowers (€24.95), a seasonal bouquet (€34.95), a condolence wreath and an orchid that
is sold out; order 8042 is out for delivery today around 15:00, 8043 was delivered on
3 December, 8044 is received without a delivery date.

A case is its user turns (the assistant answers each; the last answer is checked), the
facts the last answer must contain and those it must not (case-insensitive). Every answer
must also not show "(demo)".
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    id: str
    turns: tuple[str, ...]
    must: tuple[str, ...]
    must_not: tuple[str, ...] = ()
    language: str = "en"
    """The shop's configured language."""
    linked_order: str | None = None
    """The latest order of the customer the conversation is linked to."""
    tags: tuple[str, ...] = field(default=())


def case(
    id: str,
    turns: str | tuple[str, ...],
    must: tuple[str, ...],
    must_not: tuple[str, ...] = (),
    **options: object,
) -> Case:
    return Case(id, (turns,) if isinstance(turns, str) else turns, must, must_not, **options)  # type: ignore[arg-type]


HANDED_OFF = ("pass your question", "geef je vraag door", "gebe ihre frage", "transmets")

CASES: list[Case] = [
    # --- English --------------------------------------------------------------------------
    case("en-sunday", "Are you open on Sunday?",
         ("closed", "Sunday 13 December", "Monday 14 December", "9 am to 6 pm"),
         ("yes", *HANDED_OFF)),
    case("en-christmas", "...and are you open on Christmas?",
         ("closed", "Christmas Day", "Friday 25 December", "Tuesday 29 December"), ("yes",)),
    case("en-tomorrow", "Are you open tomorrow?",
         ("yes", "Tuesday 8 December", "9 am to 6 pm"), ("closed",)),
    case("en-thursday-late", "What time do you close on Thursday?",
         ("Thursday 10 December", "9 pm"), ("6 pm",)),
    case("en-this-afternoon", "Are you open this afternoon?", ("yes", "this afternoon", "6 pm"),
         ("closed",)),
    case("en-right-now", "Are you open right now?", ("open right now", "until 6 pm"),
         ("closed",)),
    case("en-closed-date", "Are you open on 28 December?",
         ("closed", "Monday 28 December", "Tuesday 29 December"), ("yes",)),
    case("en-new-year", "Will you be open on New Year's Day?",
         ("closed", "New Year's Day", "1 January 2027"), ("yes",)),
    case("en-boxing-day-by-date", "Are you open on 26 December?",
         ("closed", "Boxing Day", "Saturday 26 December"), ("yes", "Tweede")),
    case("en-deliver-sunday", "Do you deliver on Sunday?",
         ("no", "don't deliver", "Sunday 13 December", "Monday to Saturday"), ("yes",)),
    case("en-deliver-tomorrow", "Do you deliver tomorrow?", ("yes", "deliver tomorrow"),
         ("don't",)),
    case("en-delivery-cost", "How much does delivery cost?",
         ("€5.95", "Amstelveen €7.95", "Diemen €7.95"), HANDED_OFF),
    case("en-same-day", "Until what time can I order for same-day delivery?", ("2 pm",),
         HANDED_OFF),
    case("en-zones", "Where do you deliver?", ("Amsterdam", "Amstelveen", "Diemen"), HANDED_OFF),
    case("en-red-roses", "Do you have red roses?", ("Red roses (12)", "€29.95"),
         ("tulips", *HANDED_OFF)),
    case("en-tulip-price", "How much are the white tulips?", ("White tulips (20)", "€19.95"),
         ("roses",)),
    case("en-orchid-sold-out", "Do you have orchids?", ("Orchid in a pot", "sold out"),
         ("yes, we have",)),
    case("en-no-lilies", "Do you have lilies?",
         ("can't find", "Red roses (12) at €29.95", "pass your question to the team"),
         ("yes, we have",)),
    case("en-what-do-you-have", "What flowers do you have?", ("Red roses (12)", "€29.95"),
         HANDED_OFF),
    case("en-greeting", "Good morning! Can you help me?", ("How can I help",), HANDED_OFF),
    case("en-hello", "hello", ("How can I help",), HANDED_OFF),
    case("en-thanks", "Thanks!", ("welcome",), HANDED_OFF),
    case("en-order-status", "What's the status of order 8042?",
         ("8042", "out for delivery", "Monday 7 December", "3 pm"), HANDED_OFF),
    case("en-order-delivered-followup", ("Where is order 8043?", "and what about it now?"),
         ("8043", "delivered"), HANDED_OFF),
    case("en-order-when-followup", ("Order 8042 please", "When will it arrive?"),
         ("8042", "3 pm"), HANDED_OFF),
    case("en-order-no-date", "Can you check order #8044?", ("8044", "no delivery date yet"),
         HANDED_OFF),
    case("en-my-order-unknown", "Where is my order?", ("order number",), HANDED_OFF),
    case("en-my-order-linked", "Where is my order?", ("8042", "out for delivery"), HANDED_OFF,
         linked_order="8042"),
    case("en-unknown-order", "Order 9999", ("can't find", "9999"), ("out for delivery",)),
    case("en-person", "I want to speak to a person",
         ("pass your question to the team at Bloom & Co",), ("can't answer",)),
    case("en-paypal", "Can I pay with PayPal?", ("can't answer", "team at Bloom & Co"),
         ("yes", "no,")),
    case("en-complaint", "I have a complaint about my bouquet", ("pass your question",),
         ("can't answer",)),
    case("en-and-saturday", ("Are you open on Sunday?", "And on Saturday?"),
         ("yes", "Saturday 12 December", "9 am to 5 pm"), ("closed", *HANDED_OFF)),
    case("en-thanks-after-answer", ("Do you have red roses?", "Thanks!"), ("welcome",),
         HANDED_OFF),
    case("en-greeting-and-question", "Hi! Are you open tomorrow?",
         ("Hello!", "Tuesday 8 December"), HANDED_OFF),
    # --- Dutch ----------------------------------------------------------------------------
    case("nl-how-late", "Hoe laat zijn jullie open?", ("we zijn nu open", "18.00"),
         ("Monday", "pm", *HANDED_OFF)),
    case("nl-sunday", "Zijn jullie zondag open?",
         ("nee", "gesloten", "zondag 13 december", "maandag 14 december"), ("ja,", "Sunday")),
    case("nl-christmas", "Zijn jullie open met kerst?",
         ("gesloten", "eerste kerstdag", "vrijdag 25 december"), ("ja,",)),
    case("nl-tomorrow", "Zijn jullie morgen open?",
         ("ja", "dinsdag 8 december", "9.00 tot 18.00 uur"), ("gesloten",)),
    case("nl-thursday", "Tot hoe laat zijn jullie donderdag open?",
         ("donderdag 10 december", "21.00"), HANDED_OFF),
    case("nl-deliver-sunday", "Bezorgen jullie op zondag?",
         ("nee", "bezorgen we niet", "van maandag t/m zaterdag"), ("ja,",)),
    case("nl-delivery-cost", "Wat kost bezorgen?", ("€ 5,95", "Amstelveen € 7,95"), HANDED_OFF),
    case("nl-same-day", "Tot hoe laat kan ik bestellen voor bezorging vandaag nog?",
         ("14.00", "dezelfde dag"), HANDED_OFF),
    case("nl-red-roses", "Hebben jullie rode rozen?", ("Red roses (12)", "€ 29,95"),
         HANDED_OFF),
    case("nl-tulips", "Hebben jullie ook tulpen?", ("White tulips (20)",), HANDED_OFF),
    case("nl-order-status", "Wat is de status van bestelling 8042?",
         ("8042", "onderweg", "15.00"), HANDED_OFF),
    case("nl-order-followup", ("Bestelling 8043", "En nu?"), ("8043", "bezorgd"), HANDED_OFF),
    case("nl-order-when", ("Bestelling 8042", "Wanneer komt hij?"), ("8042", "15.00"),
         HANDED_OFF),
    case("nl-hello-then-hours", ("Hallo", "Zijn jullie morgen open?"),
         ("dinsdag 8 december", "9.00 tot 18.00 uur"), HANDED_OFF),
    case("nl-greeting", "Goedemorgen!", ("helpen",), HANDED_OFF),
    case("nl-thanks", "Bedankt!", ("graag gedaan",), HANDED_OFF),
    case("nl-person", "Ik wil een medewerker spreken", ("team van Bloom & Co",),
         ("niet beantwoorden",)),
    case("nl-gift-card", "Kan ik met een cadeaubon betalen?",
         ("niet beantwoorden", "team van Bloom & Co"), ("ja,",)),
    # --- German ---------------------------------------------------------------------------
    case("de-sunday", "Haben Sie am Sonntag geöffnet?",
         ("nein", "geschlossen", "Sonntag, 13. Dezember"), ("ja,",)),
    case("de-tomorrow", "Haben Sie morgen geöffnet?",
         ("ja", "Dienstag, 8. Dezember", "9:00 bis 18:00 Uhr"), ("geschlossen",)),
    case("de-christmas", "Haben Sie an Weihnachten geöffnet?",
         ("geschlossen", "ersten Weihnachtstag", "Freitag, 25. Dezember"), ("ja,",)),
    case("de-afternoon", "Haben Sie heute Nachmittag geöffnet?", ("ja", "heute Nachmittag"),
         ("geschlossen",)),
    case("de-deliver-sundays", "Liefern Sie sonntags?",
         ("nein", "liefern wir nicht", "von Montag bis Samstag"), ("ja,",)),
    case("de-delivery-cost", "Was kostet die Lieferung?", ("5,95 €", "Amstelveen 7,95 €"),
         HANDED_OFF),
    case("de-red-roses", "Haben Sie rote Rosen?", ("Red roses (12)", "29,95 €"), HANDED_OFF),
    case("de-sunflowers", "Gibt es Sonnenblumen?", ("Sunflowers (10)", "24,95 €"), HANDED_OFF),
    case("de-order-status", "Wo ist meine Bestellung 8042?",
         ("8042", "unterwegs", "15:00 Uhr"), HANDED_OFF),
    case("de-order-followup", ("Bestellung 8043", "Und jetzt?"), ("8043", "zugestellt"),
         HANDED_OFF),
    case("de-order-when", ("Wo ist Bestellung 8042?", "Wann kommt sie?"),
         ("8042", "15:00 Uhr"), HANDED_OFF),
    case("de-greeting", "Guten Morgen! Können Sie mir helfen?", ("helfen",), HANDED_OFF),
    case("de-thanks", "Vielen Dank!", ("gern geschehen",), HANDED_OFF),
    case("de-person", "Ich möchte mit einem Mitarbeiter sprechen", ("Team von Bloom & Co",),
         ("nicht beantworten",)),
    # --- French ---------------------------------------------------------------------------
    case("fr-sunday", "Êtes-vous ouverts le dimanche ?",
         ("non", "fermés", "dimanche 13 décembre", "lundi 14 décembre"), ("oui",)),
    case("fr-tomorrow", "Vous êtes ouverts demain ?",
         ("oui", "mardi 8 décembre", "9 h à 18 h"), ("fermés",)),
    case("fr-christmas", "Êtes-vous ouverts à Noël ?",
         ("fermés", "Noël", "vendredi 25 décembre"), ("oui",)),
    case("fr-new-year-by-date", "Êtes-vous ouverts le 1er janvier ?",
         ("fermés", "vendredi 1 janvier 2027", "jour de l'An"), ("oui", "Nieuwjaarsdag")),
    case("fr-deliver-sunday", "Livrez-vous le dimanche ?",
         ("non", "ne livrons pas", "du lundi au samedi"), ("oui",)),
    case("fr-delivery-cost", "Combien coûte la livraison ?", ("5,95 €", "Diemen 7,95 €"),
         HANDED_OFF),
    case("fr-red-roses", "Avez-vous des roses rouges ?", ("Red roses (12)", "29,95 €"),
         HANDED_OFF),
    case("fr-order-status", "Où en est ma commande 8042 ?",
         ("8042", "en cours de livraison", "15 h"), HANDED_OFF),
    case("fr-order-followup", ("Commande 8043", "Et maintenant ?"), ("8043", "livrée"),
         HANDED_OFF),
    case("fr-order-when", ("Où en est la commande 8042 ?", "Quand arrivera-t-elle ?"),
         ("8042", "15 h"), HANDED_OFF),
    case("fr-greeting", "Bonjour, pouvez-vous m'aider ?", ("aider",), HANDED_OFF),
    case("fr-thanks", "Merci beaucoup !", ("avec plaisir",), HANDED_OFF),
    case("fr-person", "Je voudrais parler à quelqu'un", ("l'équipe de Bloom & Co",),
         ("ne peux pas répondre",)),
    # --- the shop's language, when the message is not clearly in one ----------------------
    case("nl-shop-english-question", "Are you open on Sunday?", ("closed", "Sunday 13 December"),
         ("gesloten",), language="nl"),
    case("nl-shop-bare-number", "8042", ("Bestelling 8042", "onderweg"), ("Order 8042",),
         language="nl"),
    case("de-shop-hallo", "Hallo", ("Ich bin Lilli",), HANDED_OFF, language="de"),
    # --- said otherwise -------------------------------------------------------------------
    case("x-saturdays", "Hey, do you guys open on saturdays?", ("Saturday 12 December", "5 pm"),
         HANDED_OFF),
    case("x-thursday-8pm", "is the shop open at 8pm on thursday?", ("Thursday 10 December", "9 pm"),
         HANDED_OFF),
    case("x-nl-deliver-tomorrow-zone", "Kunnen jullie morgen bezorgen in Amstelveen?",
         ("ja", "morgen"), HANDED_OFF),
    case("x-nl-sunflower-price", "Wat kosten de zonnebloemen?", ("€ 24,95",), HANDED_OFF),
    case("x-de-delivery-diemen", "Was kostet die Lieferung nach Diemen?", ("Diemen 7,95 €",),
         HANDED_OFF),
    case("x-fr-white-tulips", "Avez-vous des tulipes blanches ?", ("White tulips (20)",),
         HANDED_OFF),
    case("x-on-its-way", "Is my order 8042 on its way?", ("out for delivery",), HANDED_OFF),
    case("x-deliver-christmas", "Can I get flowers delivered on Christmas Day?",
         ("no", "Christmas Day"), ("yes",)),
    case("x-plants", "Do you sell plants?", ("can't find",), ("yes, we have",)),
    case("x-opening-hours", "What are your opening hours?",
         ("9 am to 6 pm", "9 am to 9 pm", "Sunday"), HANDED_OFF),
    case("x-fr-hours", "Quels sont vos horaires ?", ("9 h à 18 h", "dimanche"), HANDED_OFF),
    case("x-de-open-now", "Haben Sie jetzt offen?", ("ja", "18:00"), HANDED_OFF),
]  # fmt: skip
