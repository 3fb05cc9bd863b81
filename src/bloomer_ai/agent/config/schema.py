"""The per-shop Lilli agent configuration: its JSON shape, validation and merge-patching.

The config is stored as camelCase JSON (``AgentConfig.to_json()``) and changed with
RFC 7396 JSON merge patches, so a PATCH only names what it changes and ``null`` deletes.
Every field is optional and falls back to a safe default, so ``{}`` is a valid config.

Opening hours are wall-clock ranges in the config's time zone (or the shop's, when the
config names none). A range never crosses midnight: ``"22:00"-"02:00"`` is written as
``["22:00", "24:00"]`` on one day and ``["00:00", "02:00"]`` on the next.
"""

from __future__ import annotations

import copy
import functools
import itertools
import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, available_timezones

import holidays
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic.alias_generators import to_camel

DEFAULT_GREETING = "Hi! I'm Lilli, how can I help?"
DEFAULT_LANGUAGE = "en"
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_CLOCK_RE = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")
_LANGUAGE_RE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
_ZONE_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$")
# "localtime" names whatever the server happens to be set to: not a portable IANA zone.
_NON_PORTABLE_ZONES = frozenset({"localtime", "posixrules"})


class _CamelModel(BaseModel):
    # Inputs are strict about unknown keys (a typo must not be silently dropped); frozen so
    # a config shared by a ShopContext cannot be changed under a running reply.
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


def clock_to_minutes(value: str) -> int:
    """``"09:30"`` → 570; ``"24:00"`` → 1440 (end of day)."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _check_clock(value: str) -> str:
    if not _CLOCK_RE.match(value):
        raise ValueError("must be a time written as HH:MM (00:00 to 24:00)")
    return value


def _check_range(value: tuple[str, str]) -> tuple[str, str]:
    start, end = value
    if clock_to_minutes(start) >= clock_to_minutes(end):
        raise ValueError("the opening time must be before the closing time")
    return value


Clock = Annotated[str, AfterValidator(_check_clock)]
OpeningRange = Annotated[tuple[Clock, Clock], AfterValidator(_check_range)]
"""``["HH:MM", "HH:MM"]``: open from the first time (inclusive) to the second (exclusive)."""

DayHours = Annotated[list[OpeningRange], Field(max_length=12)]


class WeeklyHours(_CamelModel):
    """Opening ranges per weekday; a missing or empty day is closed."""

    mon: DayHours = Field(default_factory=list)
    tue: DayHours = Field(default_factory=list)
    wed: DayHours = Field(default_factory=list)
    thu: DayHours = Field(default_factory=list)
    fri: DayHours = Field(default_factory=list)
    sat: DayHours = Field(default_factory=list)
    sun: DayHours = Field(default_factory=list)

    @field_validator("*")
    @classmethod
    def _no_overlaps(cls, ranges: list[tuple[str, str]]) -> list[tuple[str, str]]:
        ordered = sorted(ranges, key=lambda r: clock_to_minutes(r[0]))
        for previous, current in itertools.pairwise(ordered):
            # Touching ranges (12:00 end, 12:00 start) are fine; sharing a minute is not.
            if clock_to_minutes(current[0]) < clock_to_minutes(previous[1]):
                raise ValueError(
                    f"opening ranges overlap: {previous[0]}-{previous[1]} "
                    f"and {current[0]}-{current[1]}"
                )
        return ordered

    def for_weekday(self, weekday: int) -> list[tuple[str, str]]:
        """Ranges of a weekday, 0 = Monday as in ``date.weekday()``."""
        ranges: list[tuple[str, str]] = getattr(self, WEEKDAY_KEYS[weekday])
        return ranges


class BusinessHours(_CamelModel):
    timezone: str | None = Field(
        default=None, description="IANA time zone; the shop's own time zone when absent."
    )
    weekly: WeeklyHours = Field(default_factory=WeeklyHours)
    closed_dates: list[date] = Field(default_factory=list, max_length=1000)
    closes_on_public_holidays: bool = Field(
        default=False,
        strict=True,
        description="Closed on the public holidays of the shop's country (the `holidays` "
        "package), as on a closed date.",
    )
    holiday_subdivision: str | None = Field(
        default=None,
        min_length=1,
        max_length=10,
        pattern=r"^[A-Za-z0-9]{1,10}$",
        description="A region of the shop's country whose holidays count too (e.g. BY).",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and not is_known_timezone(value):
            raise ValueError("must be an IANA time zone name such as Europe/Berlin")
        return value


class HandoffConfig(_CamelModel):
    enabled: bool = Field(default=False, strict=True)
    after_messages: int | None = Field(default=None, ge=1, le=100, strict=True)
    keywords: list[Annotated[str, StringConstraints(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=20
    )


WeekdayKey = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MAX_FEE_MINOR = 10_000_000


class DeliveryZone(_CamelModel):
    """A zone the shop delivers to: a name, and optionally its own fee and postal codes."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    fee: int | None = Field(
        default=None, ge=0, le=MAX_FEE_MINOR, strict=True, description="Minor units."
    )
    postal_codes: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=12)]
    ] = Field(default_factory=list, max_length=500, description="Postal codes or prefixes.")


class DeliverySettings(_CamelModel):
    """How the shop delivers: zones, weekdays, the cut-off time for same-day, the fee."""

    zones: list[DeliveryZone] = Field(default_factory=list, max_length=50)
    days: list[WeekdayKey] = Field(
        default_factory=list, max_length=7, description="Delivery weekdays; none: every day."
    )
    cutoff_time: Clock | None = Field(
        default=None, description="Orders placed before this local time are delivered the same day."
    )
    fee: int = Field(default=0, ge=0, le=MAX_FEE_MINOR, strict=True, description="Minor units.")

    @field_validator("zones")
    @classmethod
    def _unique_zone_names(cls, zones: list[DeliveryZone]) -> list[DeliveryZone]:
        seen: set[str] = set()
        for zone in zones:
            key = zone.name.casefold()
            if key in seen:
                raise ValueError(f"the zone {zone.name!r} is named twice")
            seen.add(key)
        return zones

    @field_validator("days")
    @classmethod
    def _unique_days(cls, days: list[str]) -> list[str]:
        if len(set(days)) != len(days):
            raise ValueError("a weekday is named twice")
        return sorted(days, key=WEEKDAY_KEYS.index)

    def delivers_on(self, day: date) -> bool:
        """By the weekday; no days listed means every day."""
        return not self.days or WEEKDAY_KEYS[day.weekday()] in self.days

    def zone_named(self, name: str) -> DeliveryZone | None:
        wanted = name.strip().casefold()
        return next((zone for zone in self.zones if zone.name.casefold() == wanted), None)

    def zone_of_postal_code(self, postal_code: str) -> DeliveryZone | None:
        wanted = postal_code.replace(" ", "").upper()
        for zone in self.zones:
            for code in zone.postal_codes:
                if wanted.startswith(code.replace(" ", "").upper()):
                    return zone
        return None


class AgentConfig(_CamelModel):
    greeting: str = Field(default=DEFAULT_GREETING, min_length=1, max_length=500)
    business_hours: BusinessHours | None = Field(
        default=None, description="Absent: the shop has not told us its opening hours."
    )
    language: str = Field(default=DEFAULT_LANGUAGE, max_length=35)
    handoff: HandoffConfig = Field(default_factory=HandoffConfig)
    delivery: DeliverySettings | None = Field(
        default=None, description="Absent: the shop has not told us how it delivers."
    )

    @field_validator("language")
    @classmethod
    def _bcp47_shape(cls, value: str) -> str:
        if not _LANGUAGE_RE.match(value):
            raise ValueError("must be a BCP 47 language tag such as en or de-CH")
        return value

    def to_json(self) -> dict[str, Any]:
        """The stored/served form: camelCase keys, dates as ISO strings, ranges as lists."""
        return self.model_dump(mode="json", by_alias=True)


class _AgentConfigEnvelope(BaseModel):
    """Validates a config under the key it has in the API body, so error paths read
    ``config.businessHours.weekly.mon[0]``."""

    model_config = ConfigDict(extra="forbid")

    config: AgentConfig


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones()) - _NON_PORTABLE_ZONES


def is_known_timezone(name: str) -> bool:
    return bool(_ZONE_NAME_RE.match(name)) and name in _known_zones()


# --- merge patch ---------------------------------------------------------------------


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7396 JSON merge patch: objects merge key by key, ``None`` deletes a key, any
    other value (arrays included) replaces. Neither argument is modified."""
    return _merge_object(target, patch)


def _merge_object(target: Any, patch: dict[str, Any]) -> dict[str, Any]:
    # A non-object target is replaced by an object, as the RFC's pseudo-code does.
    result: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = _merge_object(result.get(key), value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def apply_config_patch(current: dict[str, Any], patch: dict[str, Any]) -> AgentConfig:
    """Merge ``patch`` into the stored config and validate the result.

    Raises ``pydantic.ValidationError`` whose locations start with ``config`` (see
    ``error_path``), e.g. ``config.businessHours.weekly.mon[0]``.
    """
    merged = merge_patch(current, patch)
    return _AgentConfigEnvelope.model_validate({"config": merged}).config


def error_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a readable path: ``config.weekly.mon[0][1]``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


# --- opening hours ---------------------------------------------------------------------


def hours_zone(config: AgentConfig, shop_timezone: str) -> ZoneInfo:
    """The zone opening hours are written in. Raises ``ValueError`` for an unknown zone
    (a shop row with a bad time zone must not silently become UTC)."""
    configured = config.business_hours.timezone if config.business_hours else None
    name = configured or shop_timezone
    if not is_known_timezone(name):
        raise ValueError("unknown time zone")
    return ZoneInfo(name)


def hours_for(config: AgentConfig, weekday: int) -> list[tuple[str, str]]:
    """Opening ranges for a weekday (0 = Monday); empty when closed or not configured."""
    if config.business_hours is None:
        return []
    return config.business_hours.weekly.for_weekday(weekday)


def is_closed_date(config: AgentConfig, day: date) -> bool:
    return config.business_hours is not None and day in config.business_hours.closed_dates


def public_holiday(config: AgentConfig, country: str, day: date) -> str | None:
    """The name of the public holiday ``day`` is in the shop's country (and the configured
    subdivision), when the config says the shop closes on them; else None."""
    hours = config.business_hours
    if hours is None or not hours.closes_on_public_holidays:
        return None
    calendar = _holiday_calendar(country.upper(), hours.holiday_subdivision, day.year)
    if calendar is None:
        return None
    name = calendar.get(day)
    return str(name) if name else None


@functools.lru_cache(maxsize=256)
def _holiday_calendar(country: str, subdivision: str | None, year: int) -> Any:
    try:
        return holidays.country_holidays(country, subdiv=subdivision, years=year)
    except (NotImplementedError, KeyError, ValueError):  # a country or region it does not know
        return None


def closed_reason(config: AgentConfig, country: str, day: date) -> str | None:
    """Why the shop is closed all day: ``closed_date``, ``public_holiday``; None otherwise."""
    if is_closed_date(config, day):
        return "closed_date"
    if public_holiday(config, country, day) is not None:
        return "public_holiday"
    return None


def _local(config: AgentConfig, shop_timezone: str, when: datetime) -> datetime:
    if when.tzinfo is None:
        # A naive time has no meaning across time zones; refuse rather than guess.
        raise ValueError("when must be timezone-aware")
    return when.astimezone(hours_zone(config, shop_timezone))


def open_range_at(
    config: AgentConfig, shop_timezone: str, when: datetime, *, country: str
) -> tuple[str, str] | None:
    """The opening range covering ``when`` (shop-local), or ``None`` when closed — by the
    week, a closed date or (when the config says so) a public holiday of ``country``."""
    local = _local(config, shop_timezone, when)
    if closed_reason(config, country, local.date()) is not None:
        return None
    minute = local.hour * 60 + local.minute
    for start, end in hours_for(config, local.weekday()):
        if clock_to_minutes(start) <= minute < clock_to_minutes(end):
            return (start, end)
    return None


def is_open_at(config: AgentConfig, shop_timezone: str, when: datetime, *, country: str) -> bool:
    """Whether the shop is open at ``when`` by its local wall clock, closed dates and public
    holidays honoured."""
    return open_range_at(config, shop_timezone, when, country=country) is not None


def next_opening(
    config: AgentConfig,
    shop_timezone: str,
    when: datetime,
    *,
    country: str,
    horizon_days: int = 14,
) -> tuple[date, str] | None:
    """The next local (date, "HH:MM") the shop opens after ``when``, within the horizon."""
    local = _local(config, shop_timezone, when)
    minute = local.hour * 60 + local.minute
    for offset in range(horizon_days + 1):
        day = local.date() + timedelta(days=offset)
        if closed_reason(config, country, day) is not None:
            continue
        for start, _end in hours_for(config, day.weekday()):
            if offset > 0 or clock_to_minutes(start) > minute:
                return (day, start)
    return None


def format_weekly_hours(config: AgentConfig) -> str:
    """``Mon 09:00–18:00; Tue closed; …`` (empty when no hours are configured)."""
    if config.business_hours is None:
        return ""
    days = []
    for weekday, key in enumerate(WEEKDAY_KEYS):
        ranges = hours_for(config, weekday)
        text = ", ".join(f"{start}–{end}" for start, end in ranges) if ranges else "closed"
        days.append(f"{key.capitalize()} {text}")
    return "; ".join(days)
