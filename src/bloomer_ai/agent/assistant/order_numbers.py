"""Order numbers in a customer's words: "order 1234", "Bestellung #A-1001", "commande n°
1042", "#1234" (any of the four languages' words for an order)."""

from __future__ import annotations

import re

_ORDER_WORDS = r"(?:order|orders|bestellung|bestellnummer|auftrag|commande|bestelling)"
_ORDER_FILLERS = r"(?:\s*(?:number|num|no\.?|nr\.?|n°|id|is|was|nummer|numéro|numero|#|:))*"
_ORDER_NUMBER_PATTERN = r"(?P<number>[A-Za-z0-9][A-Za-z0-9-]{0,39})"
_ORDER_AFTER_WORD_RE = re.compile(
    rf"\b{_ORDER_WORDS}\b{_ORDER_FILLERS}\s*#?\s*{_ORDER_NUMBER_PATTERN}", re.IGNORECASE
)
_ORDER_HASH_RE = re.compile(rf"(?:^|\s)#\s?{_ORDER_NUMBER_PATTERN}")
_BARE_NUMBER_RE = re.compile(r"^\W*#?(\d{3,10})\W*$")
MIN_ORDER_DIGITS = 3


def extract_order_number(text: str) -> str | None:
    """An order number the text refers to: "order 1234", "order #A-1001", "#1234", or a
    message that is only a number ("1042").

    Only tokens with at least three digits count, so "order of roses" and "I'd like to order
    12 roses" name no order (12 is a quantity)."""
    for pattern in (_ORDER_AFTER_WORD_RE, _ORDER_HASH_RE):
        for match in pattern.finditer(text):
            number = match.group("number").rstrip("-")
            if sum(ch.isdigit() for ch in number) >= MIN_ORDER_DIGITS:
                return number
    bare = _BARE_NUMBER_RE.match(text)
    return bare.group(1) if bare else None
