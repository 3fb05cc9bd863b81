"""The offline assistant's reading of a message: its language, the day it asks about, and
what it asks; and how each language writes dates, times and money. Pure functions: the
answers built from the shop tools are tested in ``test_assistant_conversations.py``."""

from __future__ import annotations

from datetime import date

import pytest

from bloomer_ai.agent.assistant.intents import read_intent
from bloomer_ai.agent.assistant.language import configured_language, detect_language
from bloomer_ai.agent.assistant.order_numbers import extract_order_number
from bloomer_ai.agent.assistant.phrases import clock_range, day_and_date, money, weekday_list
from bloomer_ai.agent.assistant.products import canonical_words, matching
from bloomer_ai.agent.assistant.when import find_when

MONDAY = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Are you open on Sunday?", "en"),
        ("How much does delivery cost?", "en"),
        ("Hoe laat zijn jullie open?", "nl"),
        ("Bezorgen jullie ook op zondag?", "nl"),
        ("Hebben jullie rode rozen?", "nl"),
        ("Haben Sie morgen geöffnet?", "de"),
        ("Was kostet die Lieferung?", "de"),
        ("Wo ist meine Bestellung?", "de"),
        ("Êtes-vous ouverts le dimanche ?", "fr"),
        ("Combien coûte la livraison ?", "fr"),
        ("C'est ouvert à Noël ?", "fr"),
    ],
)
def test_a_clear_message_is_read_in_its_language(text: str, language: str) -> None:
    assert detect_language(text, default="en") == language
    assert detect_language(text, default="nl" if language != "nl" else "de") == language


@pytest.mark.parametrize("text", ["1042", "ok", "?", "Amsterdam"])
def test_an_unclear_message_takes_the_default(text: str) -> None:
    assert detect_language(text, default="de") == "de"
    assert detect_language(text, default="fr") == "fr"


def test_the_configured_tag_is_narrowed_to_the_four() -> None:
    assert [configured_language(tag) for tag in ("de-CH", "nl", "FR-be", "es", "en-GB")] == [
        "de",
        "nl",
        "fr",
        "en",
        "en",
    ]


@pytest.mark.parametrize(
    ("text", "day", "kind"),
    [
        ("Are you open on Sunday?", date(2026, 12, 13), "weekday"),
        ("Bent u maandag open?", MONDAY, "weekday"),  # today is that weekday
        ("Sind Sie morgen geöffnet?", date(2026, 12, 8), "tomorrow"),
        ("Vous êtes ouverts demain ?", date(2026, 12, 8), "tomorrow"),
        ("zijn jullie overmorgen open", date(2026, 12, 9), "day_after"),
        ("Open on Christmas?", date(2026, 12, 25), "named"),
        ("Zijn jullie open met kerst?", date(2026, 12, 25), "named"),
        ("Habt ihr an Heiligabend offen?", date(2026, 12, 24), "named"),
        ("Ouvert à Noël ?", date(2026, 12, 25), "named"),
        ("tweede kerstdag?", date(2026, 12, 26), "named"),
        ("Are you open on New Year's Day?", date(2027, 1, 1), "named"),
        ("Geöffnet an Ostern?", date(2027, 3, 28), "named"),
        ("on 25 December?", date(2026, 12, 25), "date"),
        ("on December 26th?", date(2026, 12, 26), "date"),
        ("am 31. Dezember", date(2026, 12, 31), "date"),
        ("le 2 janvier", date(2027, 1, 2), "date"),  # passed this year: next year's
        ("op 24/12", date(2026, 12, 24), "date"),
        ("open today?", MONDAY, "today"),
        ("are you open right now?", MONDAY, "now"),
    ],
)
def test_the_day_asked_about(text: str, day: date, kind: str) -> None:
    found = find_when(text, MONDAY)
    assert found is not None and (found.day, found.kind) == (day, kind)


def test_parts_of_the_day_and_mothers_day_by_country() -> None:
    afternoon = find_when("Are you open this afternoon?", MONDAY)
    assert afternoon is not None and afternoon.part == (12 * 60, 18 * 60)
    assert find_when("Heute Abend offen?", MONDAY).part == (18 * 60, 23 * 60)  # type: ignore[union-attr]
    assert find_when("Guten Morgen, haben Sie Rosen?", MONDAY) is None  # a greeting, not a day
    mothers = {c: find_when("Mother's Day?", MONDAY, c).day for c in ("NL", "GB", "FR")}  # type: ignore[union-attr]
    assert mothers == {"NL": date(2027, 5, 9), "GB": date(2027, 3, 7), "FR": date(2027, 5, 30)}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Are you open on Sunday?", "hours"),
        ("Hoe laat zijn jullie open?", "hours"),
        ("Do you deliver on Sunday?", "delivery"),
        ("Livrez-vous le dimanche ?", "delivery"),
        ("How much does delivery cost?", "delivery"),
        ("Do you have red roses?", "products"),
        ("Was kostet ein Strauß rote Rosen?", "products"),
        ("Good morning! Can you help me?", "greeting"),
        ("Bonjour", "greeting"),
        ("Thank you!", "thanks"),
        ("Where is my order?", "my_order"),
        ("Wo ist meine Bestellung?", "my_order"),
        ("Order 1042?", "order_number"),
        ("I want to talk to a person", "handoff"),
        ("Ik wil een medewerker spreken", "handoff"),
        ("Can I pay by invoice?", "unknown"),
    ],
)
def test_what_a_message_asks(text: str, kind: str) -> None:
    assert read_intent(text, MONDAY).kind == kind


def test_a_follow_up_needs_an_order_under_discussion() -> None:
    assert read_intent("and what about it now?", MONDAY, discussing_order=True).kind == (
        "order_followup"
    )
    assert read_intent("and what about it now?", MONDAY).kind == "unknown"


def test_delivery_aspects_and_keywords() -> None:
    assert read_intent("Do you deliver on Sunday?", MONDAY).delivery_aspect == "days"
    assert read_intent("Wat kost bezorgen?", MONDAY).delivery_aspect == "cost"
    assert read_intent("Can you deliver same day?", MONDAY).delivery_aspect == "cutoff"
    assert read_intent("Where do you deliver?", MONDAY).delivery_aspect == "zones"
    assert read_intent("I have a complaint", MONDAY, handoff_keywords=("complaint",)).kind == (
        "handoff"
    )


def test_order_numbers_in_each_language() -> None:
    assert [
        extract_order_number(text)
        for text in ("order 1042", "Bestelling 1042 is bezorgd.", "Bestellnummer: 1042",
                     "commande n° 1042", "#1042", "1042", "I'd like to order roses",
                     "I'd like to order 12 roses", "order #A-1001")
    ] == ["1042", "1042", "1042", "1042", "1042", "1042", None, None, "A-1001"]  # fmt: skip


def test_product_words_meet_across_languages() -> None:
    assert canonical_words("rode rozen") == canonical_words("rote Rosen") == {"red", "rose"}
    assert canonical_words("roses rouges") == {"red", "rose"}
    catalogue: list[dict[str, object]] = [
        {"name": "Red roses (12)", "description": "A dozen long-stemmed red roses"},
        {"name": "White tulips", "description": None},
        {"name": "Seasonal bouquet", "description": "Whatever is freshest today"},
    ]
    assert [p["name"] for p in matching(("rode", "rozen"), catalogue)] == ["Red roses (12)"]
    assert [p["name"] for p in matching(("weiße", "tulpen"), catalogue)] == ["White tulips"]
    assert matching(("orchidee",), catalogue) == []


def test_dates_times_and_money_in_each_language() -> None:
    day = date(2026, 12, 13)
    assert [day_and_date(day, language, MONDAY) for language in ("en", "nl", "de", "fr")] == [
        "Sunday 13 December",
        "zondag 13 december",
        "Sonntag, 13. Dezember",
        "dimanche 13 décembre",
    ]
    assert day_and_date(date(2027, 1, 2), "en", MONDAY) == "Saturday 2 January 2027"
    assert [clock_range("09:00", "17:30", language) for language in ("en", "nl", "de", "fr")] == [
        "9 am to 5:30 pm",
        "9.00 tot 17.30 uur",
        "9:00 bis 17:30 Uhr",
        "9 h à 17 h 30",
    ]
    assert [money(750, "EUR", language) for language in ("en", "nl", "de", "fr")] == [
        "€7.50",
        "€ 7,50",
        "7,50 €",
        "7,50 €",
    ]
    assert weekday_list(["mon", "tue", "wed", "thu", "fri", "sat"], "nl") == (
        "van maandag t/m zaterdag"
    )
    assert weekday_list(["sat", "mon"], "de") == "am Montag und Samstag"


def test_every_sentence_is_in_the_four_languages_with_the_same_blanks() -> None:
    import string

    from bloomer_ai.agent.assistant.phrases import HOLIDAY_NAMES, NAMED_DAYS, STATUSES, TEXT

    for table in (TEXT, NAMED_DAYS, HOLIDAY_NAMES, STATUSES):
        for key, by_language in table.items():
            assert set(by_language) == {"en", "nl", "de", "fr"}, key
            blanks = {
                language: {name for _, name, _, _ in string.Formatter().parse(text) if name}
                for language, text in by_language.items()
            }
            assert len({frozenset(names) for names in blanks.values()}) == 1, (key, blanks)
