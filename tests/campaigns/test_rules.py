"""The pure rules: SMS length, copy within the channel limits naming the shop, the rhythm
and the send moment (never in the past, never at night, before the occasion)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bloomer_ai.campaigns.rules.copy import (
    EMAIL_PREVIEW_MAX,
    EMAIL_SUBJECT_MAX,
    fits,
    names_shop,
    shop_name_forms,
    write_copy,
)
from bloomer_ai.campaigns.rules.occasions import (
    LANGUAGES,
    SUPPORTED_COUNTRIES,
    THURSDAY,
    TUESDAY,
    occasions_in_year,
)
from bloomer_ai.campaigns.rules.segments import Segment
from bloomer_ai.campaigns.rules.send_time import (
    DAYTIME_HOURS,
    DEFAULT_RHYTHM,
    MIN_LEAD_DAYS,
    MIN_NOTICE,
    Rhythm,
    offset_periods,
    rhythm_of,
    send_moment,
)
from bloomer_ai.campaigns.rules.sms import encoding_of, segments, units

# --- SMS length (3GPP TS 23.038; 160/153 GSM-7 septets, 70/67 UCS-2 code units) -------------


@pytest.mark.parametrize(
    ("text", "encoding", "length", "parts"),
    [
        ("a" * 160, "gsm7", 160, 1),
        ("a" * 161, "gsm7", 161, 2),
        ("a" * 306, "gsm7", 306, 2),
        ("a" * 307, "gsm7", 307, 3),
        ("é" * 160, "gsm7", 160, 1),  # é, è, ü, ö, ä, ñ, à, ß, Ç are in the basic alphabet
        ("€" * 80, "gsm7", 160, 1),  # the extension table: two septets each
        ("€" * 81, "gsm7", 162, 2),
        ("[x]" * 32, "gsm7", 160, 1),  # [ and ] two septets each, x one
        ("ê" * 70, "ucs2", 70, 1),  # ê, ç (lower case), ë are not: UCS-2
        ("ê" + "a" * 70, "ucs2", 71, 2),
        ("ç" * 134, "ucs2", 134, 2),
        ("🌷" * 35, "ucs2", 70, 1),  # outside the BMP: two UTF-16 code units
        ("🌷" * 36, "ucs2", 72, 2),
    ],
)
def test_sms_length(text, encoding, length, parts):
    assert encoding_of(text) == encoding
    assert units(text) == (encoding, length)
    assert segments(text) == parts


# --- copy ------------------------------------------------------------------------------------

SHOP_NAMES = [
    "Bloom",
    "Bloemenhuis De Vrolijke Tulp",
    "Blumen Größe & Söhne ✿ Floristik",  # ✿ makes an SMS UCS-2
    "Fleuriste " + "très " * 38 + "chic",  # 200 characters
]


def test_long_shop_names_are_shortened_in_steps():
    assert shop_name_forms("Bloom") == ["Bloom"]
    long = "Bloemenhuis De Vrolijke Tulp en Zonnebloem"
    assert shop_name_forms(long) == [
        "Bloemenhuis De Vrolijke Tul...",
        "Bloemenhuis De Vr...",
        "Bloemenhu...",
    ]


def test_every_copy_fits_its_channel_and_names_the_shop():
    checked = 0
    for country in SUPPORTED_COUNTRIES:
        for day in occasions_in_year(country, 2027):
            for language in LANGUAGES:
                for segment in Segment:
                    for channel in ("email", "sms"):
                        for shop in SHOP_NAMES:
                            copy = write_copy(
                                shop_name=shop,
                                occasion_name=day.name(language),
                                occasion_date=day.date,
                                segment=segment,
                                channel=channel,
                                language=language,
                                country=country,
                            )
                            case = (country, day.key, language, segment, channel, shop, copy)
                            assert fits(channel, copy.subject, copy.body_preview), case
                            assert names_shop(shop, copy.subject, copy.body_preview), case
                            assert len(copy.subject) <= EMAIL_SUBJECT_MAX
                            if channel == "sms":
                                assert segments(copy.body_preview) == 1, case
                            else:
                                assert len(copy.body_preview) <= EMAIL_PREVIEW_MAX, case
                            checked += 1
    assert checked > 10_000


def test_copy_is_in_the_language_and_says_the_date():
    common = {
        "shop_name": "Bloom & Co",
        "occasion_date": date(2027, 5, 9),
        "segment": Segment.ORDERED_FOR_LAST_OCCASION,
        "channel": "email",
    }
    english = write_copy(occasion_name="Mother's Day", language="en", country="US", **common)
    # With the weekday it would be 61 characters: the short date keeps it within 60.
    assert english.subject == "Mother's Day is May 9: flowers from Bloom & Co again?"
    assert "Sunday, May 9" not in english.subject
    dutch = write_copy(occasion_name="Moederdag", language="nl", country="NL", **common)
    assert dutch.subject == "Moederdag is zondag 9 mei: weer bloemen van Bloom & Co?"
    german = write_copy(occasion_name="Muttertag", language="de", country="DE", **common)
    assert "Sonntag, 9. Mai" in german.subject + german.body_preview
    sms = write_copy(
        occasion_name="Fête des mères",
        language="fr",
        country="FR",
        **{**common, "channel": "sms", "occasion_date": date(2027, 5, 30)},
    )
    assert sms.body_preview.startswith("Bloom & Co: Fête des mères le ")
    assert "STOP" in sms.body_preview and segments(sms.body_preview) == 1


def test_fits_and_names_shop_refuse_what_they_should():
    assert not fits("email", "x" * (EMAIL_SUBJECT_MAX + 1), "body")
    assert not fits("email", "subject", "x" * (EMAIL_PREVIEW_MAX + 1))
    assert not fits("sms", "title", "ê" * 71)
    assert not fits("email", " ", "body")
    assert names_shop("Bloom & Co", "Flowers from BLOOM & CO", "")
    assert not names_shop("Bloom & Co", "Flowers from us", "Order now")


# --- rhythm ----------------------------------------------------------------------------------


def test_rhythm_is_the_busiest_weekday_and_daytime_hour():
    counts = {(THURSDAY, 18): 12, (THURSDAY, 9): 3, (TUESDAY, 18): 6, (TUESDAY, 23): 40}
    rhythm = rhythm_of(counts, "shop")
    # Tuesday has the most orders (46); 23:00 is at night, so 18:00 is the busiest hour.
    assert rhythm == Rhythm(weekday=TUESDAY, hour=18, orders=61, basis="shop")


def test_thin_history_or_night_only_orders_give_no_rhythm():
    assert rhythm_of({(THURSDAY, 18): 19}, "shop") is None
    assert rhythm_of({(THURSDAY, 18): 20}, "shop") is not None
    assert rhythm_of({(THURSDAY, 2): 50, (THURSDAY, 22): 50}, "shop") is None


def test_ties_go_to_the_earlier_weekday_and_hour():
    counts = {(4, 9): 10, (2, 15): 10}
    assert rhythm_of(counts, "shop") == Rhythm(weekday=2, hour=9, orders=20, basis="shop")


# --- send moment ------------------------------------------------------------------------------

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
THURSDAY_18 = Rhythm(weekday=THURSDAY, hour=18, orders=100, basis="shop")


def test_the_best_weekday_and_hour_in_the_week_before_the_lead_time():
    # Mother's Day 2027-05-09: e-mail 14 days ahead is Sunday 25 April; the Thursday before.
    now = datetime(2027, 4, 1, 12, tzinfo=UTC)
    moment = send_moment(date(2027, 5, 9), THURSDAY_18, "email", now, AMSTERDAM)
    assert moment == datetime(2027, 4, 22, 18, tzinfo=AMSTERDAM)
    assert moment.isoformat() == "2027-04-22T18:00:00+02:00"
    # SMS 3 days ahead: Thursday 6 May.
    sms = send_moment(date(2027, 5, 9), THURSDAY_18, "sms", now, AMSTERDAM)
    assert sms == datetime(2027, 5, 6, 18, tzinfo=AMSTERDAM)


def test_when_the_best_moment_has_passed_the_next_best_hour():
    # Saturday 1 May 2027, 20:00 in Amsterdam: too late for Thursday 22 April; tomorrow 18:00.
    now = datetime(2027, 5, 1, 18, tzinfo=UTC)
    moment = send_moment(date(2027, 5, 9), THURSDAY_18, "email", now, AMSTERDAM)
    assert moment == datetime(2027, 5, 2, 18, tzinfo=AMSTERDAM)
    # At 15:00 the same day, today's 18:00 is still ahead.
    now = datetime(2027, 5, 1, 13, tzinfo=UTC)
    assert send_moment(date(2027, 5, 9), THURSDAY_18, "email", now, AMSTERDAM) == datetime(
        2027, 5, 1, 18, tzinfo=AMSTERDAM
    )


def test_on_the_last_day_any_daytime_hour_still_ahead_then_too_late():
    # E-mail for Sunday 9 May goes out by Friday 7 May. Friday 19:30: 20:00 is still ahead.
    now = datetime(2027, 5, 7, 17, 30, tzinfo=UTC)
    moment = send_moment(date(2027, 5, 9), THURSDAY_18, "email", now, AMSTERDAM)
    assert moment == datetime(2027, 5, 7, 20, tzinfo=AMSTERDAM)
    # Friday 20:50: nothing left before the night; too late for this year.
    now = datetime(2027, 5, 7, 18, 50, tzinfo=UTC)
    assert send_moment(date(2027, 5, 9), THURSDAY_18, "email", now, AMSTERDAM) is None


def test_default_rhythm_is_thursday_ten():
    assert (DEFAULT_RHYTHM.weekday, DEFAULT_RHYTHM.hour, DEFAULT_RHYTHM.basis) == (
        THURSDAY,
        10,
        "default",
    )


@pytest.mark.parametrize("zone_name", ["Europe/Amsterdam", "America/New_York", "Australia/Sydney"])
def test_never_in_the_past_never_at_night_never_too_late(zone_name):
    """Every few hours of a year (DST changes included), for every occasion of the year
    and both channels: a moment at least MIN_NOTICE ahead, at a daytime hour of the shop's
    time zone, no later than the channel's minimum lead."""
    zone = ZoneInfo(zone_name)
    rhythms = [THURSDAY_18, Rhythm(weekday=6, hour=8, orders=50, basis="segment"), DEFAULT_RHYTHM]
    occasions = [day.date for year in (2027, 2028) for day in occasions_in_year("US", year)]
    now = datetime(2027, 1, 1, tzinfo=UTC)
    checked = 0
    while now < datetime(2028, 1, 1, tzinfo=UTC):
        for occasion in occasions:
            for channel in ("email", "sms"):
                for rhythm in rhythms:
                    moment = send_moment(occasion, rhythm, channel, now, zone)
                    if moment is None:
                        local_today = now.astimezone(zone).date()
                        assert occasion - timedelta(days=MIN_LEAD_DAYS[channel]) <= local_today
                        continue
                    checked += 1
                    assert moment >= now + MIN_NOTICE
                    local = moment.astimezone(zone)
                    assert local.hour in DAYTIME_HOURS and local.minute == 0
                    assert local.date() <= occasion - timedelta(days=MIN_LEAD_DAYS[channel])
        now += timedelta(hours=7, minutes=13)
    assert checked > 10_000


# --- the shop's UTC offsets over the year (the send-time query's periods) ----------------------


@pytest.mark.parametrize(
    ("zone_name", "changes"),
    [
        (
            "Europe/Amsterdam",
            [datetime(2026, 10, 25, 1, tzinfo=UTC), datetime(2027, 3, 28, 1, tzinfo=UTC)],
        ),
        (
            "Australia/Sydney",
            [datetime(2026, 10, 3, 16, tzinfo=UTC), datetime(2027, 4, 3, 16, tzinfo=UTC)],
        ),
        ("Asia/Kolkata", []),
        ("UTC", []),
    ],
)
def test_offset_periods_cut_at_each_change(zone_name, changes):
    zone = ZoneInfo(zone_name)
    start = datetime(2026, 4, 15, 10, 0, 0, 123456, tzinfo=UTC)
    end = datetime(2027, 4, 15, 10, tzinfo=UTC)
    periods = offset_periods(zone, start, end)
    assert [period_start for period_start, _end, _offset in periods[1:]] == changes
    assert periods[0][0] == start and periods[-1][1] == end
    for (period_start, period_end, offset), following in zip(
        periods, [*periods[1:], None], strict=True
    ):
        for instant in (period_start, period_end - timedelta(seconds=1)):
            assert instant.astimezone(zone).utcoffset() == timedelta(seconds=offset)
        if following is not None:
            assert following[0] == period_end
