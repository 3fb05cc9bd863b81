"""Small validators shared by schemas, services and CLI commands."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$")


def is_valid_timezone(name: str) -> bool:
    if not name or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def is_valid_country(code: str) -> bool:
    return code in phonenumbers.SUPPORTED_REGIONS


def is_valid_email(address: str) -> bool:
    return bool(_EMAIL.match(address))


def normalise_phone(raw: str, default_region: str | None) -> str | None:
    """E.164 for any common spelling of a number; None when it is not a valid number."""
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
