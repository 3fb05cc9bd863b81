from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from bloomer_ai.agent.config.schema import (
    DEFAULT_GREETING,
    AgentConfig,
    apply_config_patch,
    error_path,
    hours_for,
    is_open_at,
    merge_patch,
    next_opening,
)


def error_paths(exc: ValidationError) -> dict[str, str]:
    return {error_path(error["loc"]): error["msg"] for error in exc.errors()}


def patch_errors(patch: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        apply_config_patch(current or {}, patch)
    return error_paths(caught.value)


# --- defaults and the JSON shape ---------------------------------------------------------


def test_empty_config_gets_safe_defaults() -> None:
    config = apply_config_patch({}, {})
    assert config.greeting == DEFAULT_GREETING
    assert config.business_hours is None
    assert config.language == "en"
    assert config.handoff.enabled is False
    assert config.handoff.after_messages is None
    assert config.handoff.keywords == []


def test_json_round_trip_uses_camel_case() -> None:
    source = {
        "greeting": "Moin!",
        "businessHours": {
            "timezone": "Europe/Berlin",
            "weekly": {"mon": [["13:00", "18:00"], ["09:00", "12:00"]]},
            "closedDates": ["2026-12-25"],
        },
        "language": "de-DE",
        "handoff": {"enabled": True, "afterMessages": 5, "keywords": ["refund"]},
    }
    config = AgentConfig.model_validate(source)
    dumped = config.to_json()
    assert dumped["businessHours"]["closedDates"] == ["2026-12-25"]
    # Ranges come back sorted, as lists.
    assert dumped["businessHours"]["weekly"]["mon"] == [["09:00", "12:00"], ["13:00", "18:00"]]
    assert dumped["businessHours"]["weekly"]["tue"] == []
    assert dumped["handoff"] == {"enabled": True, "afterMessages": 5, "keywords": ["refund"]}
    assert AgentConfig.model_validate(dumped) == config


def test_snake_case_names_are_accepted_too() -> None:
    config = AgentConfig.model_validate({"handoff": {"after_messages": 3}})
    assert config.handoff.after_messages == 3


# --- validation errors name the field ------------------------------------------------------


def test_range_with_start_after_end_names_the_range() -> None:
    errors = patch_errors({"businessHours": {"weekly": {"mon": [["18:00", "09:00"]]}}})
    assert list(errors) == ["config.businessHours.weekly.mon[0]"]
    assert "before the closing time" in errors["config.businessHours.weekly.mon[0]"]


def test_bad_clock_names_the_value_inside_the_range() -> None:
    errors = patch_errors({"businessHours": {"weekly": {"tue": [["09:00", "9:30"]]}}})
    assert list(errors) == ["config.businessHours.weekly.tue[0][1]"]


@pytest.mark.parametrize("bad", ["25:00", "12:60", "noon", "24:01", ""])
def test_clock_values_outside_a_day_are_refused(bad: str) -> None:
    errors = patch_errors({"businessHours": {"weekly": {"wed": [["08:00", bad]]}}})
    assert "config.businessHours.weekly.wed[0][1]" in errors


def test_range_must_have_two_times() -> None:
    errors = patch_errors({"businessHours": {"weekly": {"thu": [["09:00"]]}}})
    assert any(path.startswith("config.businessHours.weekly.thu[0]") for path in errors)


def test_overlapping_ranges_are_refused_but_touching_ones_are_fine() -> None:
    errors = patch_errors(
        {"businessHours": {"weekly": {"fri": [["09:00", "12:00"], ["11:30", "14:00"]]}}}
    )
    assert "overlap" in errors["config.businessHours.weekly.fri"]
    touching = apply_config_patch(
        {}, {"businessHours": {"weekly": {"fri": [["09:00", "12:00"], ["12:00", "24:00"]]}}}
    )
    assert hours_for(touching, 4) == [("09:00", "12:00"), ("12:00", "24:00")]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Europe", "../etc/passwd", "localtime", ""])
def test_unknown_time_zone_is_refused(zone: str) -> None:
    errors = patch_errors({"businessHours": {"timezone": zone}})
    assert list(errors) == ["config.businessHours.timezone"]


def test_known_time_zones_pass() -> None:
    for zone in ["Pacific/Auckland", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+5"]:
        config = apply_config_patch({}, {"businessHours": {"timezone": zone}})
        assert config.business_hours is not None
        assert config.business_hours.timezone == zone


@pytest.mark.parametrize("tag", ["en", "de-CH", "zh-Hant-TW", "gsw", "es-419"])
def test_language_accepts_bcp47_tags(tag: str) -> None:
    assert apply_config_patch({}, {"language": tag}).language == tag


@pytest.mark.parametrize("tag", ["e", "english!", "en_US", "de-", "12", "en-toolongsubtag"])
def test_language_refuses_malformed_tags(tag: str) -> None:
    assert list(patch_errors({"language": tag})) == ["config.language"]


def test_greeting_length_and_handoff_limits() -> None:
    errors = patch_errors(
        {
            "greeting": "x" * 501,
            "handoff": {"afterMessages": 0, "keywords": ["ok", "y" * 51]},
        }
    )
    assert set(errors) == {
        "config.greeting",
        "config.handoff.afterMessages",
        "config.handoff.keywords[1]",
    }
    assert "config.handoff.keywords" in patch_errors({"handoff": {"keywords": ["k"] * 21}})
    assert "config.handoff.afterMessages" in patch_errors({"handoff": {"afterMessages": 101}})


def test_handoff_flags_are_not_coerced_from_strings() -> None:
    errors = patch_errors({"handoff": {"enabled": "yes", "afterMessages": "3"}})
    assert set(errors) == {"config.handoff.enabled", "config.handoff.afterMessages"}


def test_unknown_keys_are_refused_at_every_level() -> None:
    errors = patch_errors(
        {"greting": "typo", "businessHours": {"weekly": {"monday": []}}, "handoff": {"x": 1}}
    )
    assert set(errors) == {
        "config.greting",
        "config.businessHours.weekly.monday",
        "config.handoff.x",
    }


def test_bad_closed_date_names_its_index() -> None:
    errors = patch_errors({"businessHours": {"closedDates": ["2026-12-24", "Christmas"]}})
    assert list(errors) == ["config.businessHours.closedDates[1]"]


def test_a_stored_config_made_invalid_by_the_patch_reports_the_merged_path() -> None:
    current = {"businessHours": {"weekly": {"mon": [["09:00", "12:00"]]}}}
    errors = patch_errors(
        {"businessHours": {"weekly": {"mon": [["09:00", "12:00"], ["10:00", "11:00"]]}}},
        current,
    )
    assert list(errors) == ["config.businessHours.weekly.mon"]


# --- RFC 7396 merge patch ----------------------------------------------------------------


def test_merge_patch_follows_rfc7396_examples() -> None:
    # A selection of the test cases in RFC 7396, appendix A.
    cases: list[tuple[Any, Any, Any]] = [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({"a": "foo"}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ]
    for target, patch, expected in cases:
        assert merge_patch(target, patch) == expected


def test_merge_patch_nested_merge_null_delete_and_array_replace() -> None:
    current: dict[str, Any] = {
        "greeting": "Hello",
        "businessHours": {
            "timezone": "Europe/Berlin",
            "weekly": {
                "mon": [["09:00", "12:00"], ["13:00", "18:00"]],
                "tue": [["09:00", "18:00"]],
            },
            "closedDates": ["2026-12-24", "2026-12-25"],
        },
        "handoff": {"enabled": True, "keywords": ["refund"]},
    }
    patch: dict[str, Any] = {
        "businessHours": {
            "weekly": {"mon": [["10:00", "16:00"]], "tue": None},
            "closedDates": ["2026-12-31"],
        },
        "handoff": None,
    }
    merged = merge_patch(current, patch)
    assert merged == {
        "greeting": "Hello",
        "businessHours": {
            "timezone": "Europe/Berlin",  # untouched sibling kept
            "weekly": {"mon": [["10:00", "16:00"]]},  # array replaced, tue deleted
            "closedDates": ["2026-12-31"],  # arrays are replaced, never appended
        },
    }
    # Neither input is modified, and the result shares no lists with the patch.
    assert current["handoff"] == {"enabled": True, "keywords": ["refund"]}
    assert patch["handoff"] is None
    merged["businessHours"]["closedDates"].append("x")
    assert patch["businessHours"]["closedDates"] == ["2026-12-31"]


def test_apply_config_patch_null_restores_the_default() -> None:
    current = AgentConfig.model_validate(
        {"greeting": "Moin!", "businessHours": {"weekly": {"mon": [["09:00", "17:00"]]}}}
    ).to_json()
    config = apply_config_patch(current, {"greeting": None, "businessHours": None})
    assert config.greeting == DEFAULT_GREETING
    assert config.business_hours is None


def test_apply_config_patch_merges_into_the_stored_config() -> None:
    current = apply_config_patch(
        {}, {"businessHours": {"timezone": "Europe/Paris", "weekly": {"sat": [["10:00", "14:00"]]}}}
    ).to_json()
    config = apply_config_patch(
        current, {"businessHours": {"weekly": {"sun": [["10:00", "12:00"]]}}}
    )
    assert config.business_hours is not None
    assert config.business_hours.timezone == "Europe/Paris"
    assert hours_for(config, 5) == [("10:00", "14:00")]
    assert hours_for(config, 6) == [("10:00", "12:00")]


# --- opening hours helpers ---------------------------------------------------------------


def test_is_open_at_uses_the_local_wall_clock_and_weekday() -> None:
    # Los Angeles, Monday only: Monday 17:30 local is Tuesday 01:30 UTC.
    config = AgentConfig.model_validate(
        {
            "businessHours": {
                "timezone": "America/Los_Angeles",
                "weekly": {"mon": [["09:00", "18:00"]]},
            }
        }
    )
    assert is_open_at(config, "UTC", datetime(2026, 12, 8, 1, 30, tzinfo=UTC), country="NL")
    assert not is_open_at(
        config, "UTC", datetime(2026, 12, 8, 2, 0, tzinfo=UTC), country="NL"
    )  # 18:00
    assert not is_open_at(
        config, "UTC", datetime(2026, 12, 7, 16, 59, tzinfo=UTC), country="NL"
    )  # 08:59


def test_is_open_at_falls_back_to_the_shop_time_zone() -> None:
    config = AgentConfig.model_validate(
        {"businessHours": {"weekly": {"mon": [["09:00", "10:00"]]}}}
    )
    monday_0930_berlin = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    assert is_open_at(config, "Europe/Berlin", monday_0930_berlin, country="NL")
    assert not is_open_at(config, "Europe/London", monday_0930_berlin, country="NL")


def test_closed_dates_and_missing_hours_mean_closed() -> None:
    config = AgentConfig.model_validate(
        {"businessHours": {"weekly": {"fri": [["00:00", "24:00"]]}, "closedDates": ["2026-12-25"]}}
    )
    assert is_open_at(config, "UTC", datetime(2026, 12, 18, 23, 59, tzinfo=UTC), country="NL")
    assert not is_open_at(config, "UTC", datetime(2026, 12, 25, 12, 0, tzinfo=UTC), country="NL")
    assert not is_open_at(
        AgentConfig(), "UTC", datetime(2026, 12, 18, 12, 0, tzinfo=UTC), country="NL"
    )


def test_is_open_at_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open_at(AgentConfig(), "UTC", datetime(2026, 12, 18, 12, 0), country="NL")


def test_next_opening_skips_closed_dates() -> None:
    config = AgentConfig.model_validate(
        {
            "businessHours": {
                "weekly": {"thu": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]]},
                "closedDates": ["2026-12-25"],
            }
        }
    )
    thursday_evening = datetime(2026, 12, 24, 18, 0, tzinfo=UTC)
    assert next_opening(config, "UTC", thursday_evening, country="NL") == (
        date(2026, 12, 31),
        "09:00",
    )


# --- delivery settings and public holidays (the shop tools read them) ------------------------


def test_delivery_settings_are_validated_with_their_paths():
    from bloomer_ai.agent.config.schema import AgentConfig, apply_config_patch

    config = AgentConfig.model_validate(
        {
            "delivery": {
                "zones": [{"name": "Centrum", "fee": 495, "postalCodes": ["1011"]}],
                "days": ["sat", "mon"],
                "cutoffTime": "12:00",
                "fee": 695,
            },
            "businessHours": {"closesOnPublicHolidays": True, "holidaySubdivision": "BY"},
        }
    )
    assert config.delivery is not None and config.delivery.days == ["mon", "sat"]
    bad = {
        "delivery": {
            "zones": [{"name": "A"}, {"name": "a"}],
            "days": ["mon", "mon"],
            "cutoffTime": "25:00",
            "fee": -1,
        }
    }
    with pytest.raises(ValidationError) as caught:
        apply_config_patch({}, bad)
    paths = {".".join(str(p) for p in error["loc"]) for error in caught.value.errors()}
    assert {
        "config.delivery.zones",
        "config.delivery.days",
        "config.delivery.cutoffTime",
        "config.delivery.fee",
    } <= paths
    with pytest.raises(ValidationError):
        AgentConfig.model_validate({"businessHours": {"closesOnPublicHolidays": "yes"}})


def test_public_holidays_close_the_shop_only_when_configured():
    from datetime import date

    from bloomer_ai.agent.config.schema import AgentConfig, closed_reason, public_holiday

    closing = AgentConfig.model_validate({"businessHours": {"closesOnPublicHolidays": True}})
    assert public_holiday(closing, "NL", date(2026, 4, 27))  # King's Day
    assert closed_reason(closing, "NL", date(2026, 4, 27)) == "public_holiday"
    assert closed_reason(closing, "NL", date(2026, 4, 28)) is None
    assert public_holiday(closing, "ZZ", date(2026, 12, 25)) is None  # unknown country
    staying_open = AgentConfig.model_validate({"businessHours": {}})
    assert public_holiday(staying_open, "NL", date(2026, 12, 25)) is None
    bavaria = AgentConfig.model_validate(
        {"businessHours": {"closesOnPublicHolidays": True, "holidaySubdivision": "BY"}}
    )
    assert public_holiday(bavaria, "DE", date(2026, 1, 6))  # Epiphany: Bavaria only
    assert public_holiday(closing, "DE", date(2026, 1, 6)) is None


def test_public_holidays_close_the_shop_now_and_for_its_next_opening() -> None:
    """closesOnPublicHolidays holds for "open now" and "when do you open next" too, not only
    for a day's hours: on Christmas at noon a shop open on Fridays is closed."""
    config = AgentConfig.model_validate(
        {
            "businessHours": {
                "weekly": {day: [["09:00", "18:00"]] for day in ("mon", "fri", "sat")},
                "closesOnPublicHolidays": True,
            }
        }
    )
    christmas_noon = datetime(2026, 12, 25, 12, 0, tzinfo=UTC)  # a Friday
    assert not is_open_at(config, "UTC", christmas_noon, country="NL")
    assert is_open_at(config, "UTC", christmas_noon, country="XX")  # no calendar known
    # Boxing Day (Saturday) is a Dutch holiday too: next is Monday 28 December.
    assert next_opening(config, "UTC", christmas_noon, country="NL") == (
        date(2026, 12, 28),
        "09:00",
    )
    open_anyway = config.model_copy(
        update={
            "business_hours": config.business_hours.model_copy(  # type: ignore[union-attr]
                update={"closes_on_public_holidays": False}
            )
        }
    )
    assert is_open_at(open_anyway, "UTC", christmas_noon, country="NL")
