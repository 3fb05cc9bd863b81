"""Occasion dates against published dates, for several years and countries.

Sources of the published dates:

* FR, Fête des mères: loi n° 50-577 du 24 mai 1950 (Légifrance) sets the last Sunday of
  May, moved to the first Sunday of June when that Sunday is Pentecost; the published
  dates 2020-06-07 and 2023-06-04 (the Pentecost years) are those of
  ``shared/reference/PROVIDERS.md`` §C.2, the others those announced on service-public.fr.
* GB, Mothering Sunday (the fourth Sunday of Lent): 2028-03-26, 2029-03-11, 2030-03-31 from
  ``PROVIDERS.md`` §C.2; 2024-03-10, 2025-03-30, 2026-03-15 as published by the Church of
  England's calendar.
* US/CA Administrative Professionals Day: 2015-04-22, 2016-04-27, 2018-04-25
  (timeanddate.com and IAAP, via ``PROVIDERS.md`` §C.2).
* NL Secretaressedag: 2014-04-17 and 2019-04-18 (gelderlander.nl, pro-assistance.nl, via
  ``PROVIDERS.md``).
* DE Muttertag 2008: 11 May, although it was Whit Sunday (welt.de, wz.de, via
  ``PROVIDERS.md``); 1. Advent and Totensonntag 2024-2026 from the EKD church calendar.
* Easter Sunday 2024-2027: the dates the churches published (31 March 2024, 20 April 2025,
  5 April 2026, 28 March 2027).
* Where the ``holidays`` package has an occasion (US Mother's and Father's Day, US and CA
  Thanksgiving, DE Ascension Day for Vatertag, AU Anzac Day), every year 2000-2050 is
  compared with it: an independent implementation of the same published rules.
"""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest

from bloomer_ai.campaigns.rules.occasions import (
    LANGUAGES,
    SUPPORTED_COUNTRIES,
    occasion_keys,
    occasion_on,
    occasions_in_year,
)


def on(country: str, key: str, year: int) -> date:
    day = occasion_on(country, key, year)
    assert day is not None, (country, key, year)
    return day.date


PUBLISHED = [
    # France: the Pentecost rule (2020, 2023), and ordinary years.
    ("FR", "mothers_day", date(2020, 6, 7)),
    ("FR", "mothers_day", date(2023, 6, 4)),
    ("FR", "mothers_day", date(2021, 5, 30)),
    ("FR", "mothers_day", date(2022, 5, 29)),
    ("FR", "mothers_day", date(2024, 5, 26)),
    ("FR", "mothers_day", date(2025, 5, 25)),
    ("FR", "mothers_day", date(2026, 5, 31)),
    ("FR", "fathers_day", date(2026, 6, 21)),
    ("FR", "muguet", date(2027, 5, 1)),
    ("FR", "all_saints", date(2026, 11, 1)),
    # Great Britain: Mothering Sunday is Easter minus three weeks.
    ("GB", "mothers_day", date(2024, 3, 10)),
    ("GB", "mothers_day", date(2025, 3, 30)),
    ("GB", "mothers_day", date(2026, 3, 15)),
    ("GB", "mothers_day", date(2028, 3, 26)),
    ("GB", "mothers_day", date(2029, 3, 11)),
    ("GB", "mothers_day", date(2030, 3, 31)),
    ("GB", "fathers_day", date(2026, 6, 21)),
    ("GB", "remembrance_sunday", date(2025, 11, 9)),
    # The US and Canada.
    ("US", "admin_professionals_day", date(2015, 4, 22)),
    ("US", "admin_professionals_day", date(2016, 4, 27)),
    ("US", "admin_professionals_day", date(2018, 4, 25)),
    ("CA", "admin_professionals_day", date(2018, 4, 25)),
    ("US", "mothers_day", date(2026, 5, 10)),
    ("CA", "mothers_day", date(2026, 5, 10)),
    # The Netherlands.
    ("NL", "admin_professionals_day", date(2014, 4, 17)),
    ("NL", "admin_professionals_day", date(2019, 4, 18)),
    ("NL", "mothers_day", date(2026, 5, 10)),
    ("NL", "fathers_day", date(2026, 6, 21)),
    # Germany: Muttertag stayed on the second Sunday of May when that was Pentecost.
    ("DE", "mothers_day", date(2008, 5, 11)),
    ("DE", "advent", date(2024, 12, 1)),
    ("DE", "advent", date(2025, 11, 30)),
    ("DE", "advent", date(2026, 11, 29)),
    ("DE", "totensonntag", date(2024, 11, 24)),
    ("DE", "totensonntag", date(2025, 11, 23)),
    ("DE", "totensonntag", date(2026, 11, 22)),
    ("DE", "fathers_day", date(2026, 5, 14)),
    ("DE", "womens_day", date(2027, 3, 8)),
    # Australia: Father's Day is the first Sunday of September.
    ("AU", "fathers_day", date(2025, 9, 7)),
    ("AU", "fathers_day", date(2026, 9, 6)),
    ("AU", "mothers_day", date(2026, 5, 10)),
    # Easter, everywhere.
    ("NL", "easter", date(2024, 3, 31)),
    ("DE", "easter", date(2025, 4, 20)),
    ("US", "easter", date(2026, 4, 5)),
    ("SE", "easter", date(2027, 3, 28)),
]


@pytest.mark.parametrize(("country", "key", "published"), PUBLISHED)
def test_dates_match_the_published_ones(country, key, published):
    assert on(country, key, published.year) == published


def test_the_french_pentecost_rule_in_every_year_it_applies():
    """In 2000-2050 the Fête des mères is the last Sunday of May, except in the years whose
    last Sunday of May is Pentecost (Easter + 49 days falling on 25-31 May): then it is
    the Sunday after, the first of June."""
    from dateutil.easter import easter

    moved = []
    for year in range(2000, 2051):
        pentecost = easter(year) + timedelta(days=49)
        fete = on("FR", "mothers_day", year)
        assert fete.weekday() == 6
        if pentecost.month == 5 and pentecost.day >= 25:
            moved.append(year)
            assert fete == pentecost + timedelta(days=7)
            assert fete.month == 6 and fete.day <= 7
        else:
            assert fete.month == 5 and fete.day >= 25 and fete != pentecost
    assert {2020, 2023} <= set(moved) and len(moved) >= 5


@pytest.mark.parametrize(
    ("country", "key", "their_name", "categories"),
    [
        ("US", "mothers_day", "Mother's Day", ("public", "unofficial")),
        ("US", "fathers_day", "Father's Day", ("public", "unofficial")),
        ("US", "thanksgiving", "Thanksgiving Day", ("public",)),
        ("US", "valentines_day", "Valentine's Day", ("public", "unofficial")),
        ("CA", "thanksgiving", "Thanksgiving Day", ("government", "optional", "public")),
        ("DE", "fathers_day", "Ascension Day", ("public",)),
        ("AU", "anzac_day", "ANZAC Day", ("public",)),
    ],
)
def test_rules_agree_with_the_holidays_package(country, key, their_name, categories):
    for year in range(2000, 2051):
        theirs = holidays.country_holidays(
            country, years=year, categories=categories, language="en_US"
        )
        # A day may carry two names ("Father's Day; Juneteenth National Independence Day").
        (expected,) = [day for day in theirs if their_name in theirs.get_list(day)]
        assert on(country, key, year) == expected, year


@pytest.mark.parametrize("country", SUPPORTED_COUNTRIES)
def test_every_occasion_has_a_name_in_every_language_and_one_date_a_year(country):
    for year in range(2024, 2036):
        days = occasions_in_year(country, year)
        keys = [day.key for day in days]
        assert len(keys) == len(set(keys))
        assert [day.date for day in days] == sorted(day.date for day in days)
        assert all(day.date.year == year for day in days)
        for day in days:
            assert all(day.name(language) for language in LANGUAGES)


def test_keys_are_stable_across_countries():
    shared = {"valentines_day", "easter", "christmas", "mothers_day", "fathers_day"}
    for country in SUPPORTED_COUNTRIES:
        assert shared <= set(occasion_keys(country, 2027)), country
    assert "muguet" in occasion_keys("FR", 2027)
    assert "thanksgiving" not in occasion_keys("NL", 2027)
    assert {"advent", "totensonntag", "all_saints"} <= set(occasion_keys("DE", 2027))
    assert occasion_on("GB", "mothers_day", 2027).name("en") == "Mothering Sunday"  # type: ignore[union-attr]
    assert occasion_on("FR", "mothers_day", 2027).name("fr") == "Fête des mères"  # type: ignore[union-attr]


def test_other_countries_get_the_universal_occasions_and_their_public_holidays():
    swedish = {day.key: day for day in occasions_in_year("SE", 2027)}
    assert {"valentines_day", "easter", "christmas"} <= set(swedish)
    assert swedish["holiday_midsummer_day"].date == date(2027, 6, 26)
    assert swedish["holiday_national_day"].date == date(2027, 6, 6)
    # A public holiday on the day of a universal occasion is that occasion, once.
    assert "holiday_christmas_day" not in swedish and "holiday_easter_sunday" not in swedish
    # Names in the shop's language where the package has them.
    belgian = {day.key: day for day in occasions_in_year("BE", 2027)}
    assert belgian["holiday_ascension_day"].name("nl") == "O. L. H. Hemelvaart"
    # A country the package does not know gets the universal ones only.
    assert [day.key for day in occasions_in_year("ZZ", 2027)] == [
        "valentines_day",
        "easter",
        "christmas",
    ]
