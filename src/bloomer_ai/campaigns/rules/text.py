"""Dates and hours in the four languages of the copy (own tables, not the process locale)."""

from __future__ import annotations

from datetime import date

# The agent's assistant speaks the same four languages: one set of names for both.
from bloomer_ai.agent.assistant.phrases import MONTHS, WEEKDAYS

# Month first in North American English ("Sunday, May 9").
MONTH_FIRST_COUNTRIES = frozenset({"US", "CA"})


def long_date(on: date, language: str, country: str) -> str:
    """ "Sunday 9 May", "Sunday, May 9" (US, CA), "zondag 9 mei", "Sonntag, 9. Mai",
    "dimanche 9 mai"."""
    weekday, month = WEEKDAYS[language][on.weekday()], MONTHS[language][on.month - 1]
    if language == "de":
        return f"{weekday}, {on.day}. {month}"
    if language == "en" and country in MONTH_FIRST_COUNTRIES:
        return f"{weekday}, {month} {on.day}"
    return f"{weekday} {on.day} {month}"


def short_date(on: date, language: str, country: str) -> str:
    """ "9 May", "May 9" (US, CA), "9 mei", "9. Mai", "9 mai"."""
    month = MONTHS[language][on.month - 1]
    if language == "de":
        return f"{on.day}. {month}"
    if language == "en" and country in MONTH_FIRST_COUNTRIES:
        return f"{month} {on.day}"
    return f"{on.day} {month}"


def english_date_with_year(on: date) -> str:
    """For the rationale: "Sunday 7 March 2027"."""
    return f"{WEEKDAYS['en'][on.weekday()]} {on.day} {MONTHS['en'][on.month - 1]} {on.year}"


def plural_weekday(weekday: int) -> str:
    """ "Thursdays"."""
    return WEEKDAYS["en"][weekday] + "s"
