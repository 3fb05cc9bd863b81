"""One rule at the edge for all text a request brings: what PostgreSQL, JSON or our
serialisers cannot store or write is refused here, with the path of the fault, before any
model sees it — instead of a 500 later for input that passed validation.

Refused (422 ``validation_error``, each fault with its path):

* a NUL character (``\\u0000``, ``%00``) in any string, object key or query value:
  PostgreSQL text cannot hold one;
* an unpaired surrogate (``\\ud800`` alone): not encodable as UTF-8;
* ``NaN``, ``Infinity`` or a number too large for a double (``1e400``): not JSON;
* nesting deeper than ``MAX_JSON_DEPTH``: stored JSON must be written back out.

And 415 ``unsupported_media_type`` for a body that is not UTF-8 (a byte order mark,
UTF-16 or UTF-32, invalid bytes, or another declared charset).

The common case costs a few byte searches: the body is parsed a second time only when one
of the markers appears in it.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from bloomer_ai.errors import UnsupportedMediaType, ValidationFailed

MAX_JSON_DEPTH = 64
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_BIG_EXPONENT = re.compile(rb"[0-9][eE][+-]?[0-9]{3,}")
_NOT_JSON_NUMBERS = (b"NaN", b"Infinity")
_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^\";\s]+)", re.IGNORECASE)


class NotUtf8(UnsupportedMediaType):
    message = "Send the request body as UTF-8 JSON (no byte order mark, not UTF-16)."


def check_encoding(body: bytes, content_type: str) -> None:
    """415 unless ``body`` is UTF-8 without a byte order mark."""
    declared = _CHARSET.search(content_type)
    if declared and declared.group(1).lower().replace("_", "-") not in {"utf-8", "utf8"}:
        raise NotUtf8()
    if body.startswith(_BOMS) or b"\x00" in body[:4]:
        raise NotUtf8()
    if not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise NotUtf8() from None


def check_json_text(body: bytes) -> None:
    """422 for what JSON parsing would accept but storage cannot (see the module)."""
    if not _suspicious(body):
        return
    faults: list[dict[str, str]] = []
    try:
        parsed = json.loads(body, parse_constant=_not_finite, parse_float=_finite_float)
    except RecursionError:
        faults.append(_fault("body", f"nested deeper than {MAX_JSON_DEPTH} levels"))
    except ValueError:
        return  # not JSON at all: FastAPI's own parse answers it
    else:
        _walk(parsed, "body", 0, faults)
    if faults:
        raise ValidationFailed(details=faults)


def check_query_text(query_string: bytes) -> None:
    """422 for a NUL character in a query value (``%00``)."""
    if b"%00" not in query_string:
        return
    from urllib.parse import parse_qsl

    faults = [
        _fault(f"query.{name}", "text may not contain a NUL character")
        for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
        if "\x00" in value or "\x00" in name
    ]
    if faults:
        raise ValidationFailed(details=faults)


def _suspicious(body: bytes) -> bool:
    return (
        b"\\u0000" in body
        or _SURROGATE_ESCAPE.search(body) is not None
        or any(marker in body for marker in _NOT_JSON_NUMBERS)
        or _BIG_EXPONENT.search(body) is not None
        or body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH
    )


class _NotFinite:
    """Stands for NaN, Infinity or an overflowing number while the body is walked."""


NOT_FINITE = _NotFinite()


def _not_finite(_name: str) -> Any:
    return NOT_FINITE


def _finite_float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else NOT_FINITE


def _fault(path: str, message: str) -> dict[str, str]:
    return {"field": path, "message": message, "type": "text"}


def _text_fault(text: str) -> str | None:
    if "\x00" in text:
        return "text may not contain a NUL character (\\u0000)"
    if any("\ud800" <= char <= "\udfff" for char in text):
        return "text may not contain an unpaired surrogate"
    return None


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _walk(value: Any, path: str, depth: int, faults: list[dict[str, str]]) -> None:
    if depth > MAX_JSON_DEPTH:
        faults.append(_fault(path, f"nested deeper than {MAX_JSON_DEPTH} levels"))
        return
    if isinstance(value, str):
        problem = _text_fault(value)
        if problem:
            faults.append(_fault(path, problem))
    elif value is NOT_FINITE:
        faults.append(_fault(path, "numbers must be finite: no NaN, Infinity or overflow"))
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = _text_fault(key)
            if problem:
                faults.append(_fault(_join(path, key.encode("unicode_escape").decode()), problem))
                continue
            _walk(item, _join(path, key), depth + 1, faults)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, _join(path, index), depth + 1, faults)
