"""How many SMS segments a text takes (GSM 03.38 / 3GPP TS 23.038).

A text in the GSM 7-bit default alphabet fits 160 characters in one SMS (the extension
characters ``^{}\\[~]|€`` and form feed count twice); any other character makes the whole
text UCS-2, 70 UTF-16 code units in one SMS. Longer texts are split in parts of 153 or 67.
"""

from __future__ import annotations

import math
from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

SINGLE = {"gsm7": 160, "ucs2": 70}
PART = {"gsm7": 153, "ucs2": 67}

Encoding = Literal["gsm7", "ucs2"]


def encoding_of(text: str) -> Encoding:
    return "gsm7" if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text) else "ucs2"


def units(text: str) -> tuple[Encoding, int]:
    """The encoding and the length in its units (septets, or UTF-16 code units)."""
    encoding = encoding_of(text)
    if encoding == "gsm7":
        return encoding, sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
    return encoding, len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    encoding, length = units(text)
    if length <= SINGLE[encoding]:
        return 1
    return math.ceil(length / PART[encoding])


def fits_one_sms(text: str) -> bool:
    return segments(text) == 1
