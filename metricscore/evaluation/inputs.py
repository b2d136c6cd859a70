"""Evaluation inputs as the vendors' query parameters spell them, validated with every error named."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ..errors import ErrorMessage, ValidationError
from ..jsonvalue import absent, string_problem

__all__ = [
    "ALIASES_SCHEMA",
    "DAY_SCHEMA",
    "Errors",
    "Number",
    "aliases",
    "dates_in_range",
    "day",
    "instant",
    "json_number",
    "text",
    "utc_offset",
]

Errors = dict[str, list[ErrorMessage]]
#: A computed value: an exact ``Decimal`` (an ``int`` for counts; a ``float`` where the vendor's
#: arithmetic is floating point); a JSON number over HTTP (:func:`json_number`).
Number = Decimal | int | float
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")
REQUIRED = "This field is required."
#: OpenAPI schemas of what :func:`day` and :func:`aliases` accept, never narrower: a date with
#: a month and day that can exist, trimmed first (``str.strip``'s whitespace and JSON Schema's
#: ``\s`` differ: the class holds both). U+FEFF is whitespace to ``\s`` but not to
#: ``str.strip``, so an alias of it alone is accepted.
_SPACE = r"[\s\u001C-\u001F\u0085]*"
DAY_SCHEMA = {"type": "string", "pattern": f"^{_SPACE}[0-9]{{4}}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]){_SPACE}$"}
ALIASES_SCHEMA = {"type": "string", "pattern": "[^,\\s]|\\uFEFF"}


def _fail(errors: Errors, field: str, message: str, code: str = "invalid") -> None:
    errors.setdefault(field, []).append(ErrorMessage(message, code))


@contextmanager
def dates_in_range(*fields: str) -> Iterator[None]:
    """Date arithmetic on the inputs ``fields``: a window that reaches before the year 1 or after
    9999 (``periodEnd=9999-12-31``, ``now=0001-01-01``, a huge interval) is a ValidationError
    naming them, not the OverflowError Python raises."""
    try:
        yield
    except OverflowError:
        message = ErrorMessage("The period reaches beyond the years 1 to 9999.", "invalid")
        raise ValidationError({field: [message] for field in fields}) from None


def day(params: dict[str, Any], field: str, errors: Errors, default: date | None = None) -> date | None:
    """A ``YYYY-MM-DD`` date (or a ``date``)."""
    value = params.get(field)
    if absent(value):
        if default is None:
            _fail(errors, field, REQUIRED, "required")
        return default
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    _fail(errors, field, "Expected a date as YYYY-MM-DD.")
    return None


def instant(params: dict[str, Any], field: str, errors: Errors, default: datetime) -> datetime:
    """An ISO 8601 date-time (naive means UTC) or an aware ``datetime``; ``default`` when absent."""
    value = params.get(field)
    if absent(value):
        return default
    if not isinstance(value, datetime) and not (isinstance(value, str) and value.isascii() and value.isprintable()):
        # fromisoformat reads past a NUL before "Z": ISO 8601 text is printable ASCII
        _fail(errors, field, "Expected an ISO 8601 date-time.")
        return default
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        # in UTC: 0001-01-01T00:00+14:00 and 9999-12-31T23:00-14:00 fall outside the years 1 to 9999
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except ValueError:
        _fail(errors, field, "Expected an ISO 8601 date-time.")
    except OverflowError:
        _fail(errors, field, "Expected a date-time from the year 1 to 9999 in UTC.")
    return default


def aliases(params: dict[str, Any], field: str, errors: Errors) -> tuple[str, ...]:
    """A comma-separated list (or a list of such strings): items trimmed, empty ones dropped."""
    value = params.get(field)
    items: list[str] = []
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        items = [part for v in value for part in v.split(",")]
    elif value is not None:
        _fail(errors, field, "Expected a comma-separated list of customer aliases.")
        return ()
    cleaned = tuple(dict.fromkeys(item.strip() for item in items if item.strip()))
    if not cleaned:
        _fail(errors, field, REQUIRED, "required")
    # A NUL or a lone surrogate: no stored event holds one, and SQL drivers refuse to send it.
    problems = dict.fromkeys(problem for item in cleaned if (problem := string_problem(item)))
    for problem in problems:
        _fail(errors, field, problem)
    return () if problems else cleaned


def text(params: dict[str, Any], field: str, errors: Errors) -> str | None:
    value = params.get(field)
    if absent(value):
        _fail(errors, field, REQUIRED, "required")
        return None
    if not isinstance(value, str) or len(value) > 400:
        _fail(errors, field, "Expected a string of at most 400 characters.")
        return None
    if (problem := string_problem(value)) is not None:  # as in aliases()
        _fail(errors, field, problem)
        return None
    return value


def utc_offset(params: dict[str, Any], field: str, errors: Errors, default: str) -> int:
    """``±HH:MM`` as seconds east of UTC (at most 14 hours)."""
    value = params.get(field)
    if absent(value):
        value = default
    match = _OFFSET.fullmatch(value) if isinstance(value, str) else None
    if match is None or int(match[2]) > 14 or int(match[3]) > 59:
        _fail(errors, field, "Expected a UTC offset as +HH:MM or -HH:MM.")
        return 0
    seconds = int(match[2]) * 3600 + int(match[3]) * 60
    return -seconds if match[1] == "-" else seconds


def json_number(value: object) -> object:
    """A Decimal as a JSON-encodable number: an int when whole, else the nearest float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
