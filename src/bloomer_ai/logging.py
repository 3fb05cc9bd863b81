"""structlog set-up and the redaction step.

Every event passes ``redact`` last before rendering: phone numbers, e-mail addresses,
bearer tokens, API keys, JWTs and values of secret-named keys are masked wherever they
appear, nested structures included.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

SECRET_KEY_PATTERN = re.compile(
    r"(pass(word)?|secret|token|authorization|api[_-]?key|cookie|signature|credential|pepper)",
    re.IGNORECASE,
)
PII_KEY_PATTERN = re.compile(r"^(phone|email|e_mail|message|content|body|text)$", re.IGNORECASE)
REDACTION_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Bearer/API credentials first, so their contents never meet the later patterns.
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer [REDACTED]"),
    (re.compile(r"\bblm_[A-Za-z0-9_]+"), "blm_[REDACTED]"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]+"), "whsec_[REDACTED]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9._-]+"), "[JWT]"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[EMAIL]"),
    # Phone numbers: +31 6 1234 5678, (415) 555-0100, 0612345678 … seven or more digits.
    (re.compile(r"(?<![\w.-])\+?\(?\d[\d\s().-]{6,}\d(?![\w-])"), "[PHONE]"),
]
# Digit runs that are not phone numbers: IPv4 addresses and ISO dates.
_NOT_A_PHONE = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|\d{4}-\d{2}-\d{2})$")
REDACTED = "[REDACTED]"


def redact_text(text: str) -> str:
    for pattern, replacement in REDACTION_PATTERNS:
        if replacement == "[PHONE]":
            text = pattern.sub(_mask_phone, text)
        else:
            text = pattern.sub(replacement, text)
    return text


def _mask_phone(match: re.Match[str]) -> str:
    # Addresses such as 127.0.0.1 and dates look like digit runs too; they are not personal.
    return match.group(0) if _NOT_A_PHONE.match(match.group(0)) else "[PHONE]"


def _redact_value(key: str | None, value: Any) -> Any:
    if key is not None and SECRET_KEY_PATTERN.search(key):
        return REDACTED
    if key is not None and PII_KEY_PATTERN.match(key) and isinstance(value, str):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, MutableMapping):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_redact_value(None, v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact_text(str(value))


# Keys we write ourselves that hold ids, routes and numbers, never personal data.
_SAFE_KEYS = frozenset(
    {
        "timestamp",
        "level",
        "logger",
        "request_id",
        "shop_id",
        "status",
        "duration_ms",
        "route",
        "method",
        "event_id",
        "job_id",
        "task",
    }
)


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event.keys()):
        if key in _SAFE_KEYS:
            continue
        event[key] = _redact_value(key if key != "event" else None, event[key])
    return event


def configure_logging(
    *, level: str = "INFO", json_output: bool = False, stream: TextIO | None = None
) -> None:
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Library loggers (uvicorn, sqlalchemy) go through the same renderer and redaction.
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=renderer,
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                redact,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in (
        "uvicorn.access",
        "httpx",
        "httpcore",
        "procrastinate",
        "alembic.runtime.plugins",
    ):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))
