"""structlog set-up and the redaction steps.

* Exceptions are written as plain tracebacks: file, line and code of each frame, never
  the frames' local variables (which hold request headers, keys and personal data); the
  message of a database error is replaced by its SQLSTATE and the names of the
  constraint, table and column (PostgreSQL quotes the offending value in it), and
  SQLAlchemy is told to hide statement parameters (``db.engine``).
* ``redact`` masks values of secret- and personal-named keys, and patterns (phone
  numbers, e-mail addresses, bearer tokens, API keys, JWTs, webhook secrets) in every
  other value, nested structures included.
* The rendered line is redacted once more as text, so whatever a renderer adds is covered
  too: what is finally written is what is redacted.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Callable, MutableMapping
from typing import Any, TextIO

import orjson
import structlog

SECRET_KEY_PATTERN = re.compile(
    r"(pass(word)?|secret|token|authorization|api[_-]?key|cookie|signature|credential|pepper)",
    re.IGNORECASE,
)
PII_KEY_PATTERN = re.compile(r"^(phone|email|e_mail|message|content|body|text)$", re.IGNORECASE)
# (a literal every match contains, the pattern, its mask): the literal is looked for first,
# so a line without it costs no regular-expression scan.
REDACTION_PATTERNS: list[tuple[str, re.Pattern[str], str]] = [
    # Bearer/API credentials first, so their contents never meet the later patterns.
    ("bearer", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer [REDACTED]"),
    ("blm_", re.compile(r"\bblm_[A-Za-z0-9_]+"), "blm_[REDACTED]"),
    ("whsec_", re.compile(r"\bwhsec_[A-Za-z0-9+/=]+"), "whsec_[REDACTED]"),
    ("eyJ", re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9._-]+"), "[JWT]"),
    ("@", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[EMAIL]"),
]
# Phone numbers: +31 6 1234 5678, (415) 555-0100, 0612345678 … eight or more characters of
# digits, spaces, dots, dashes and parentheses, starting and ending with a digit, that do
# not stand inside a longer token. Candidates are found by one plain character run (a
# leading "+" or "(" and the look-arounds made the scan of every line five times dearer);
# the rest is checked on the few candidates.
_PHONE = re.compile(r"(?a)\d[\d\s().-]{6,}\d")
# Digit runs that are not phone numbers: IPv4 addresses and ISO dates.
_NOT_A_PHONE = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|\d{4}-\d{2}-\d{2})$")
REDACTED = "[REDACTED]"


def redact_text(text: str) -> str:
    for literal, pattern, replacement in REDACTION_PATTERNS:
        present = literal in text.lower() if literal == "bearer" else literal in text
        if present:
            text = pattern.sub(replacement, text)
    return _mask_phones(text)


def _mask_phones(text: str) -> str:
    pieces: list[str] = []
    last = 0
    for match in _PHONE.finditer(text):
        start, end = match.span()
        while start > last and text[start - 1] in "+(":  # the country code's plus, "(0)6"
            start -= 1
        # Part of a longer token (an id, a version, a word): not a number on its own.
        if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_.-"):
            continue
        if end < len(text) and (text[end].isalnum() or text[end] in "_-"):
            continue
        # Addresses such as 127.0.0.1 and dates look like digit runs too; not personal.
        if _NOT_A_PHONE.match(text[start:end]):
            continue
        pieces.append(text[last:start])
        pieces.append("[PHONE]")
        last = end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


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


# --- exceptions ---------------------------------------------------------------------------------


def _database_error_summary(exc: BaseException) -> str | None:
    """A database error without its message (which may quote a value): SQLSTATE and the
    names of what it is about. None for anything else."""
    driver = getattr(exc, "orig", None) if _is_sqlalchemy_dbapi_error(exc) else exc
    if driver is None or not _is_driver_error(driver):
        return None
    diag = getattr(driver, "diag", None)
    parts = [f"sqlstate={getattr(driver, 'sqlstate', None) or 'unknown'}"]
    for name in ("constraint_name", "table_name", "column_name"):
        value = getattr(diag, name, None)
        if value:
            parts.append(f"{name.removesuffix('_name')}={value}")
    return f"{type(driver).__name__} ({', '.join(parts)})"


def _is_sqlalchemy_dbapi_error(exc: BaseException) -> bool:
    from sqlalchemy.exc import DBAPIError

    return isinstance(exc, DBAPIError)


def _is_driver_error(exc: BaseException) -> bool:
    import psycopg

    return isinstance(exc, psycopg.Error)


def format_exception(exc: BaseException) -> str:
    """A plain traceback of ``exc`` and its causes, without local variables; database
    errors summarised (``_database_error_summary``)."""
    lines: list[str] = []
    seen: set[int] = set()
    chain: list[tuple[BaseException, str | None]] = []
    current: BaseException | None = exc
    link: str | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, "The above exception was the direct cause:"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, "During handling of the above exception:"
        else:
            current = None
    # Collected newest first; written oldest first, as Python writes them, each link
    # (how an exception led to the next) between the two.
    for error, link_text in reversed(chain):
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_tb(error.__traceback__))
        summary = _database_error_summary(error)
        if summary is not None:
            lines.append(f"{type(error).__module__}.{type(error).__qualname__}: {summary}\n")
        else:
            lines.extend(traceback.format_exception_only(type(error), error))
        if link_text is not None:
            lines.append(f"\n{link_text}\n\n")
    return "".join(lines).rstrip("\n")


def format_exc_info(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog's ``format_exc_info``, with ``format_exception``'s plain traceback."""
    exc_info = event.pop("exc_info", None)
    if not exc_info:
        return event
    if isinstance(exc_info, BaseException):
        error: BaseException | None = exc_info
    elif isinstance(exc_info, tuple):
        error = exc_info[1]
    else:
        error = sys.exc_info()[1]
    if error is not None:
        event["exception"] = format_exception(error)
    return event


# --- the last step -------------------------------------------------------------------------------


def _orjson_dumps(event: Any, **_options: Any) -> str:
    # orjson: a tenth of the standard library's time for a request line.
    return orjson.dumps(event, default=str).decode()


class RedactedRenderer:
    """Renders with ``renderer``, then redacts the text that will be written."""

    def __init__(self, renderer: Callable[..., Any]) -> None:
        self.renderer = renderer

    def __call__(self, logger: Any, method: str, event: MutableMapping[str, Any]) -> str:
        rendered = self.renderer(logger, method, event)
        return redact_text(rendered if isinstance(rendered, str) else str(rendered))


def configure_logging(
    *, level: str = "INFO", json_output: bool = False, stream: TextIO | None = None
) -> None:
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        format_exc_info,
        redact,
    ]
    renderer = RedactedRenderer(
        structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        if json_output
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
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
                format_exc_info,
                redact,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own logging config (applied by `uvicorn …` before the app exists) gives its
    # loggers handlers of their own that print unredacted: everything goes through ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True
    for noisy in (
        "uvicorn.access",
        "httpx",
        "httpcore",
        "procrastinate",
        "alembic.runtime.plugins",
        # The MCP SDK says "Terminating session: None" for every stateless request; at
        # DEBUG it would write JSON-RPC messages (tool arguments: phone numbers).
        "mcp",
    ):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))
