"""The day a customer asks about, read from their message in any of the four languages.

"Are you open on Sunday?", "op 25 december?", "morgen?", "heute Nachmittag?", "à Noël?":
each names a day relative to the shop's local today, and sometimes a part of it. A
weekday means its next occurrence (today when today is that day); a date without a year
that has passed this year means next year's. Nothing here reads a clock: ``today`` is
given.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from dateutil.easter import easter

DayRule = Callable[[int, str], date]
"""A named day's date in a year, for a shop's country."""
WhenKind = Literal["now", "today", "tomorrow", "day_after", "weekday", "date", "named"]


@dataclass(frozen=True, slots=True)
class When:
    day: date
    kind: WhenKind
    part: tuple[int, int] | None = None
    """Minutes after midnight the question is about ("this afternoon": 12:00–18:00)."""
    name: str | None = None
    """For ``named`` days: the occasion's key (``christmas``, ``easter`` …)."""


WEEKDAY_NAMES: dict[str, int] = {}
for _index, _names in enumerate(
    (
        "monday mon maandag ma montag mo lundi",
        "tuesday tue tues dinsdag di dienstag mardi",
        "wednesday wed woensdag wo mittwoch mi mercredi",
        "thursday thu thur thurs donderdag do donnerstag jeudi",
        "friday fri vrijdag vr freitag fr vendredi",
        "saturday sat zaterdag za samstag sonnabend sa samedi",
        "sunday sun zondag zo sonntag so dimanche",
    )
):
    # Short forms ("do", "so", "ma", "sun", "sat") are everyday words too: only names.
    for _name in _names.split():
        if len(_name) > 3:
            WEEKDAY_NAMES[_name] = _index
            WEEKDAY_NAMES[_name + "s"] = _index  # "on Sundays", "zondags", "sonntags"

MONTH_NAMES: dict[str, int] = {}
for _index, _names in enumerate(
    (
        "january jan januari januar janvier",
        "february feb februari februar février fevrier févr",
        "march mar maart märz maerz mars",
        "april apr avril",
        "may mei mai",
        "june jun juni juin",
        "july jul juli juillet",
        "august aug augustus août aout",
        "september sep sept septembre",
        "october oct oktober okt octobre",
        "november nov novembre",
        "december dec dezember dez décembre decembre déc",
    ),
    start=1,
):
    for _name in _names.split():
        MONTH_NAMES[_name] = _index

_MONTH = "|".join(sorted(map(re.escape, MONTH_NAMES), key=len, reverse=True))
_DAY_MONTH_RE = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th|e|er|\.)?\s*(?:of\s+)?({_MONTH})\.?(?:\s+(\d{{4}}))?\b"
)
_MONTH_DAY_RE = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b")
_NUMERIC_RE = re.compile(r"(?<![\d:.])(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?(?![\d:])")

_NOW_RE = re.compile(
    r"\b(?:now|right now|at the moment|currently|nu|op dit moment|momenteel|jetzt|gerade"
    r"|im moment|maintenant|en ce moment|actuellement)\b"
)
_TODAY_RE = re.compile(r"\b(?:today|vandaag|heute|aujourd'hui|aujourd’hui)\b")
_DAY_AFTER_RE = re.compile(r"\b(?:day after tomorrow|overmorgen|übermorgen|après-demain)\b")
# German "Guten Morgen"/"am Morgen" is the morning, not tomorrow.
_TOMORROW_RE = re.compile(r"\b(?:tomorrow|demain|(?<!guten )(?<!am )(?<!heute )morgen)\b")
_PARTS: tuple[tuple[re.Pattern[str], tuple[int, int], int], ...] = (
    # (pattern, minutes, days from today)
    (
        re.compile(r"\b(?:this morning|vanochtend|vanmorgen|heute morgen|heute früh|ce matin)\b"),
        (6 * 60, 12 * 60),
        0,
    ),
    (
        re.compile(
            r"\b(?:this afternoon|vanmiddag|heute nachmittag|cet après-midi|cet apres-midi)\b"
        ),
        (12 * 60, 18 * 60),
        0,
    ),
    (
        re.compile(r"\b(?:tonight|this evening|vanavond|heute abend|ce soir)\b"),
        (18 * 60, 23 * 60),
        0,
    ),
    (
        re.compile(r"\b(?:tomorrow morning|morgenochtend|morgenvroeg|morgen früh|demain matin)\b"),
        (6 * 60, 12 * 60),
        1,
    ),
    (
        re.compile(
            r"\b(?:tomorrow afternoon|morgenmiddag|morgen nachmittag|demain après-midi"
            r"|demain apres-midi)\b"
        ),
        (12 * 60, 18 * 60),
        1,
    ),
)


def _fixed(month: int, day: int) -> DayRule:
    return lambda year, country: date(year, month, day)


def _nth_weekday(month: int, weekday: int, nth: int) -> DayRule:
    def rule(year: int, country: str) -> date:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))

    return rule


def _mothers_day(year: int, country: str) -> date:
    if country in {"GB", "IE"}:  # Mothering Sunday: three weeks before Easter
        return easter(year) - timedelta(days=21)
    if country == "FR":  # the last Sunday of May (moved for Pentecost some years)
        last = date(year, 5, 31)
        sunday = last - timedelta(days=(last.weekday() - 6) % 7)
        return sunday + timedelta(days=7) if sunday == easter(year) + timedelta(days=49) else sunday
    return _nth_weekday(5, 6, 2)(year, country)


def _named(key: str, pattern: str, rule: DayRule) -> tuple[str, re.Pattern[str], DayRule]:
    return key, re.compile(rf"\b(?:{pattern})\b"), rule


NAMED_DAYS = (
    _named(
        "christmas_eve",
        r"christmas eve|kerstavond|heiligabend|heiliger abend|heiligen abend"
        r"|veille de noël|réveillon de noël",
        _fixed(12, 24),
    ),
    _named(
        "boxing_day",
        r"boxing day|second day of christmas|tweede kerstdag|zweiter weihnachtstag"
        r"|zweiten weihnachtstag|zweiter weihnachtsfeiertag|zweiten weihnachtsfeiertag"
        r"|lendemain de noël|saint-étienne",
        _fixed(12, 26),
    ),
    _named(
        "christmas",
        r"christmas day|christmas|xmas|eerste kerstdag|kerstmis|kerst|erster weihnachtstag"
        r"|ersten weihnachtstag|weihnachten|jour de noël|noël|noel",
        _fixed(12, 25),
    ),
    _named(
        "new_years_eve",
        r"new year's eve|new years eve|oudejaarsdag|oudjaar|oudejaarsavond|silvester"
        r"|saint-sylvestre|réveillon du nouvel an",
        _fixed(12, 31),
    ),
    _named(
        "new_year",
        r"new year's day|new years day|new year|nieuwjaarsdag|nieuwjaar|neujahrstag|neujahr"
        r"|jour de l'an|nouvel an",
        _fixed(1, 1),
    ),
    _named(
        "valentines_day",
        r"valentine's day|valentines day|valentine's|valentine|valentijnsdag|valentijn"
        r"|valentinstag|saint-valentin|st valentin",
        _fixed(2, 14),
    ),
    _named(
        "easter_monday",
        r"easter monday|tweede paasdag|paasmaandag|ostermontag|lundi de pâques",
        lambda year, country: easter(year) + timedelta(days=1),
    ),
    _named(
        "easter",
        r"easter sunday|easter|eerste paasdag|pasen|ostersonntag|ostern|pâques|paques",
        lambda year, country: easter(year),
    ),
    _named("kings_day", r"king's day|kings day|koningsdag", _fixed(4, 27)),
    _named(
        "mothers_day",
        r"mother's day|mothers day|mothering sunday|moederdag|muttertag|fête des mères"
        r"|fete des meres",
        _mothers_day,
    ),
)


def _upcoming(rule: DayRule, today: date, country: str) -> date:
    """The rule's day this year, or next year's once this year's has passed."""
    this_year = rule(today.year, country)
    return this_year if this_year >= today else rule(today.year + 1, country)


def _calendar_date(day: int, month: int, year: int | None, today: date) -> date | None:
    try:
        if year is not None:
            return date(year if year > 99 else 2000 + year, month, day)
        candidate = date(today.year, month, day)
    except ValueError:
        return None
    if candidate < today:
        try:
            candidate = date(today.year + 1, month, day)
        except ValueError:  # 29 February
            return None
    return candidate


def find_when(text: str, today: date, country: str = "NL") -> When | None:
    """The day (and part of it) ``text`` asks about, or None when it names none."""
    lowered = text.casefold().replace("’", "'")
    for pattern, minutes, offset in _PARTS[3:]:
        if pattern.search(lowered):
            return When(today + timedelta(days=offset), "tomorrow", minutes)
    for key, pattern, rule in NAMED_DAYS:
        if pattern.search(lowered):
            return When(_upcoming(rule, today, country), "named", name=key)
    for regex, order in ((_DAY_MONTH_RE, "dm"), (_MONTH_DAY_RE, "md")):
        match = regex.search(lowered)
        if match:
            first, second, year = match.groups()
            day, month = (first, second) if order == "dm" else (second, first)
            found = _calendar_date(int(day), MONTH_NAMES[month], int(year) if year else None, today)
            if found is not None:
                return When(found, "date")
    numeric = _NUMERIC_RE.search(lowered)
    if numeric:
        day_text, month_text, year_text = numeric.groups()
        if 1 <= int(month_text) <= 12:
            found = _calendar_date(
                int(day_text), int(month_text), int(year_text) if year_text else None, today
            )
            if found is not None:
                return When(found, "date")
    for pattern, minutes, offset in _PARTS[:3]:
        if pattern.search(lowered):
            return When(today + timedelta(days=offset), "today", minutes)
    if _DAY_AFTER_RE.search(lowered):
        return When(today + timedelta(days=2), "day_after")
    if _TOMORROW_RE.search(lowered):
        return When(today + timedelta(days=1), "tomorrow")
    for word in re.findall(r"[a-zäöüéèêëàâçîïôûß]+", lowered):
        weekday = WEEKDAY_NAMES.get(word)
        if weekday is not None:
            return When(today + timedelta(days=(weekday - today.weekday()) % 7), "weekday")
    if _TODAY_RE.search(lowered):
        return When(today, "today")
    if _NOW_RE.search(lowered):
        return When(today, "now")
    return None


def named_day_on(day: date, country: str) -> str | None:
    """The key of the named day that falls on ``day`` (``christmas`` …), if any."""
    for key, _pattern, rule in NAMED_DAYS:
        if rule(day.year, country) == day:
            return key
    return None
