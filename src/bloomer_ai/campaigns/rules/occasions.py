"""A florist's calendar: the occasions of a country and their dates, by rule.

Supported countries (US, CA, GB, DE, FR, NL, AU) get the florist occasions of
``shared/reference/PROVIDERS.md`` §C.2, computed here (the ``holidays`` package has Mother's
Day and the like only for the US). Every other country gets the universal occasions
(Valentine's Day, Easter, Christmas) and its public holidays from ``holidays``. Easter is
``dateutil``'s Western computus.

Keys are stable across countries and years (``mothers_day`` is Mothering Sunday in GB and
the Fête des mères in FR); names are per language. Public holidays of other countries are
keyed ``holiday_<their English name in snake case>``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import holidays
from dateutil.easter import easter as western_easter

LANGUAGES = ("en", "nl", "de", "fr")
SUPPORTED_COUNTRIES = ("US", "CA", "GB", "DE", "FR", "NL", "AU")

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)


# --- date rules ------------------------------------------------------------------------------


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` of the month (``n`` = -1: the last one)."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    following = date(year + month // 12, month % 12 + 1, 1)
    last = following - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def easter(year: int) -> date:
    return western_easter(year)


def pentecost(year: int) -> date:
    return easter(year) + timedelta(days=49)


def fete_des_meres(year: int) -> date:
    """The last Sunday of May, or the first Sunday of June when that is Pentecost
    (loi n° 50-577 of 24 May 1950)."""
    last_sunday = nth_weekday(year, 5, SUNDAY, -1)
    return nth_weekday(year, 6, SUNDAY, 1) if last_sunday == pentecost(year) else last_sunday


def mothering_sunday(year: int) -> date:
    """The fourth Sunday of Lent: three weeks before Easter."""
    return easter(year) - timedelta(days=21)


def admin_professionals_day(year: int) -> date:
    """The Wednesday of the last full Sunday-to-Saturday week of April."""
    last_saturday = nth_weekday(year, 4, SATURDAY, -1)
    return last_saturday - timedelta(days=3)


def first_advent(year: int) -> date:
    """The fourth Sunday before Christmas Day."""
    christmas_eve = date(year, 12, 24)
    last_sunday_before = christmas_eve - timedelta(days=(christmas_eve.weekday() - SUNDAY) % 7)
    return last_sunday_before - timedelta(days=21)


def fixed(month: int, day: int) -> Callable[[int], date]:
    return lambda year: date(year, month, day)


def weekday_rule(month: int, weekday: int, n: int) -> Callable[[int], date]:
    return lambda year: nth_weekday(year, month, weekday, n)


def offset(rule: Callable[[int], date], days: int) -> Callable[[int], date]:
    return lambda year: rule(year) + timedelta(days=days)


# --- the calendar per country ----------------------------------------------------------------

DateRule = Callable[[int], date]

VALENTINES = ("valentines_day", fixed(2, 14))
EASTER = ("easter", easter)
CHRISTMAS = ("christmas", fixed(12, 25))
WOMENS_DAY = ("womens_day", fixed(3, 8))
MOTHERS_DAY_MAY = ("mothers_day", weekday_rule(5, SUNDAY, 2))
FATHERS_DAY_JUNE = ("fathers_day", weekday_rule(6, SUNDAY, 3))
ADMIN_DAY = ("admin_professionals_day", admin_professionals_day)
ALL_SAINTS = ("all_saints", fixed(11, 1))

UNIVERSAL: tuple[tuple[str, DateRule], ...] = (VALENTINES, EASTER, CHRISTMAS)

COUNTRY_RULES: dict[str, tuple[tuple[str, DateRule], ...]] = {
    "US": (
        VALENTINES,
        EASTER,
        ADMIN_DAY,
        MOTHERS_DAY_MAY,
        FATHERS_DAY_JUNE,
        # The Sunday after Labor Day (the first Monday of September).
        ("grandparents_day", offset(weekday_rule(9, MONDAY, 1), 6)),
        ("thanksgiving", weekday_rule(11, THURSDAY, 4)),
        CHRISTMAS,
    ),
    "CA": (
        VALENTINES,
        EASTER,
        ADMIN_DAY,
        MOTHERS_DAY_MAY,
        FATHERS_DAY_JUNE,
        ("thanksgiving", weekday_rule(10, MONDAY, 2)),
        CHRISTMAS,
    ),
    "GB": (
        VALENTINES,
        ("mothers_day", mothering_sunday),
        EASTER,
        FATHERS_DAY_JUNE,
        ("remembrance_sunday", weekday_rule(11, SUNDAY, 2)),
        CHRISTMAS,
    ),
    "DE": (
        VALENTINES,
        WOMENS_DAY,
        EASTER,
        # Vatertag is Ascension Day, 39 days after Easter.
        ("fathers_day", offset(easter, 39)),
        MOTHERS_DAY_MAY,
        ALL_SAINTS,
        ("totensonntag", offset(first_advent, -7)),
        ("advent", first_advent),
        CHRISTMAS,
    ),
    "FR": (
        VALENTINES,
        ("grandmothers_day", weekday_rule(3, SUNDAY, 1)),
        WOMENS_DAY,
        EASTER,
        ("muguet", fixed(5, 1)),
        ("mothers_day", fete_des_meres),
        FATHERS_DAY_JUNE,
        ALL_SAINTS,
        CHRISTMAS,
    ),
    "NL": (
        VALENTINES,
        WOMENS_DAY,
        EASTER,
        # Secretaressedag: the third Thursday of April (as published for 2014 and 2019).
        ("admin_professionals_day", weekday_rule(4, THURSDAY, 3)),
        MOTHERS_DAY_MAY,
        FATHERS_DAY_JUNE,
        CHRISTMAS,
    ),
    "AU": (
        VALENTINES,
        EASTER,
        ("anzac_day", fixed(4, 25)),
        MOTHERS_DAY_MAY,
        ("fathers_day", weekday_rule(9, SUNDAY, 1)),
        CHRISTMAS,
    ),
}

# Names per language; COUNTRY_NAMES overrides them where a country says it differently.
NAMES: dict[str, dict[str, str]] = {
    "valentines_day": {
        "en": "Valentine's Day",
        "nl": "Valentijnsdag",
        "de": "Valentinstag",
        "fr": "Saint-Valentin",
    },
    "mothers_day": {
        "en": "Mother's Day",
        "nl": "Moederdag",
        "de": "Muttertag",
        "fr": "Fête des mères",
    },
    "fathers_day": {
        "en": "Father's Day",
        "nl": "Vaderdag",
        "de": "Vatertag",
        "fr": "Fête des pères",
    },
    "womens_day": {
        "en": "International Women's Day",
        "nl": "Internationale Vrouwendag",
        "de": "Internationaler Frauentag",
        "fr": "Journée internationale des femmes",
    },
    "admin_professionals_day": {
        "en": "Administrative Professionals Day",
        "nl": "Secretaressedag",
        "de": "Tag der Sekretärin",
        "fr": "Journée des adjointes administratives",
    },
    "easter": {"en": "Easter", "nl": "Pasen", "de": "Ostern", "fr": "Pâques"},
    "muguet": {
        "en": "May Day (lily of the valley)",
        "nl": "1 mei (lelietjes-van-dalen)",
        "de": "1. Mai (Maiglöckchen)",
        "fr": "1er mai (muguet)",
    },
    "all_saints": {
        "en": "All Saints' Day",
        "nl": "Allerheiligen",
        "de": "Allerheiligen",
        "fr": "Toussaint",
    },
    "thanksgiving": {
        "en": "Thanksgiving",
        "nl": "Thanksgiving",
        "de": "Thanksgiving",
        "fr": "Action de grâce",
    },
    "grandparents_day": {
        "en": "Grandparents Day",
        "nl": "Grootouderdag",
        "de": "Großelterntag",
        "fr": "Fête des grands-parents",
    },
    "grandmothers_day": {
        "en": "Grandmothers' Day",
        "nl": "Grootmoedersdag",
        "de": "Tag der Großmutter",
        "fr": "Fête des grands-mères",
    },
    "remembrance_sunday": {
        "en": "Remembrance Sunday",
        "nl": "Remembrance Sunday",
        "de": "Remembrance Sunday",
        "fr": "Remembrance Sunday",
    },
    "anzac_day": {"en": "Anzac Day", "nl": "Anzac Day", "de": "Anzac Day", "fr": "Anzac Day"},
    "totensonntag": {
        "en": "Totensonntag (Sunday of the Dead)",
        "nl": "Totensonntag",
        "de": "Totensonntag",
        "fr": "Totensonntag",
    },
    "advent": {
        "en": "First Sunday of Advent",
        "nl": "Eerste advent",
        "de": "1. Advent",
        "fr": "Premier dimanche de l'Avent",
    },
    "christmas": {"en": "Christmas", "nl": "Kerstmis", "de": "Weihnachten", "fr": "Noël"},
}
COUNTRY_NAMES: dict[tuple[str, str], dict[str, str]] = {
    ("GB", "mothers_day"): {"en": "Mothering Sunday"},
    ("US", "admin_professionals_day"): {"en": "Administrative Professionals Day"},
    ("NL", "admin_professionals_day"): {"en": "Secretaries' Day"},
    ("CA", "thanksgiving"): {"en": "Thanksgiving (Canada)"},
}

HOLIDAY_PREFIX = "holiday_"
_HOLIDAY_LANGUAGES = {"en": "en_US", "nl": "nl", "de": "de", "fr": "fr"}


@dataclass(frozen=True, slots=True)
class OccasionDay:
    """One occasion on one date, with its name in each of ``LANGUAGES``."""

    key: str
    date: date
    names: Mapping[str, str]

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names["en"]


def is_supported_country(country: str) -> bool:
    return country in COUNTRY_RULES


@functools.lru_cache(maxsize=1024)
def occasions_in_year(country: str, year: int) -> tuple[OccasionDay, ...]:
    """Every occasion of ``country`` in ``year``, by date (then key)."""
    rules = COUNTRY_RULES.get(country)
    days: list[OccasionDay]
    if rules is not None:
        days = [_rule_day(country, key, rule(year)) for key, rule in rules]
    else:
        days = [_rule_day(country, key, rule(year)) for key, rule in UNIVERSAL]
        taken = {day.date for day in days}
        days += [day for day in _public_holidays(country, year) if day.date not in taken]
    return tuple(sorted(days, key=lambda day: (day.date, day.key)))


def occasion_keys(country: str, year: int) -> list[str]:
    """The keys of ``country``'s occasions around ``year`` (public holidays may come and go)."""
    keys: dict[str, None] = {}
    for in_year in (year, year + 1):
        keys.update((day.key, None) for day in occasions_in_year(country, in_year))
    return list(keys)


def occasion_on(country: str, key: str, year: int) -> OccasionDay | None:
    """The occasion ``key`` in ``year``; None when it has no date that year."""
    return next((day for day in occasions_in_year(country, year) if day.key == key), None)


def _rule_day(country: str, key: str, on: date) -> OccasionDay:
    names = {**NAMES[key], **COUNTRY_NAMES.get((country, key), {})}
    return OccasionDay(key, on, names)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower().replace("'", "")).strip("_")[:50]


def _public_holidays(country: str, year: int) -> list[OccasionDay]:
    """The public holidays ``holidays`` knows for ``country``, keyed by their English name;
    "observed" substitutes are left out (the day itself is the occasion)."""
    if country not in holidays.list_supported_countries():
        return []
    calendars = {
        language: holidays.country_holidays(country, years=year, language=code)
        for language, code in _HOLIDAY_LANGUAGES.items()
    }
    english = calendars["en"]
    days: dict[str, OccasionDay] = {}
    for on in sorted(english):
        names_by_language = {
            language: calendar.get_list(on) for language, calendar in calendars.items()
        }
        for index, name in enumerate(names_by_language["en"]):
            if "observed" in name.lower():
                continue
            key = HOLIDAY_PREFIX + _slug(name)
            if key in days or key == HOLIDAY_PREFIX:
                continue
            names = {
                language: listed[index] if len(listed) == len(names_by_language["en"]) else name
                for language, listed in names_by_language.items()
            }
            days[key] = OccasionDay(key, on, names)
    return list(days.values())
