"""Small renderers shared by the dialects' wire shapes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .jsonvalue import copy_json
from .repository import Record

__all__ = ["FAST_JSON", "column", "dumps", "dumps_stdlib", "iso_z", "json_column", "timestamp_column"]

_stdlib_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def dumps_stdlib(value: Any) -> bytes:
    """The wire JSON of ``value``: compact, UTF-8, non-ASCII kept (the reference encoding).

    A non-finite float (never in a stored record: validation refuses them) is written ``null``,
    as JavaScript's ``JSON.stringify`` writes it, rather than the invalid ``NaN``.
    """
    try:
        return _stdlib_encode(value).encode("utf-8")
    except ValueError:
        return _stdlib_encode(_finite(value)).encode("utf-8")


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None``."""
    kind = type(value)
    if kind is float:
        return value if value - value == 0.0 else None
    if kind is dict:
        return {k: _finite(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_finite(v) for v in value]
    return value


def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


#: A float orjson writes differently from ``repr``: between 1e-10 and 1e-4 orjson writes
#: ``0.00001`` and ``1e-6`` where Python writes ``1e-05`` and ``1e-06``. Everything else it
#: writes byte for byte as the standard library does (checked by tests/test_wire_json.py).
#: A match inside a string is harmless: that value is simply encoded by the standard library.
#: Searching a page for this pattern is slow, so two literal-led searches pick the candidates.
_EXPONENT_CANDIDATE = re.compile(rb"e-[0-9](?:[,\]}]|$)")
_ORJSON_DIFFERS = re.compile(rb"(?:^|[:,\[])-?(?:0\.0000|[0-9](?:\.[0-9]+)?e-[0-9](?:[,\]}]|$))")

_orjson: Any
try:  # the optional ``fast`` extra
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised by the stdlib path directly
    _orjson = None

#: ``True`` when the fast encoder (orjson, the ``fast`` extra) is in use.
FAST_JSON = _orjson is not None


def dumps(value: Any) -> bytes:
    """``dumps_stdlib(value)``, byte for byte, several times faster when orjson is installed.

    orjson encodes; any value it would write differently (a rare float format, an integer past
    64 bits, a non-string key, a type it knows and the standard library does not) goes to the
    standard library instead, which also raises the same errors.
    """
    if _orjson is not None:
        try:
            data: bytes = _orjson.dumps(value, default=_refuse, option=_OPTIONS)
        except TypeError:
            return dumps_stdlib(value)
        if b"0.0000" not in data and _EXPONENT_CANDIDATE.search(data) is None:
            return data
        if _ORJSON_DIFFERS.search(data) is None:
            return data
    return dumps_stdlib(value)


_OPTIONS = 0 if _orjson is None else _orjson.OPT_PASSTHROUGH_DATETIME | _orjson.OPT_PASSTHROUGH_DATACLASS


def iso_z(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with ``Z``, microseconds only when present (as DRF renders datetimes)."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def column(name: str) -> Callable[[Record], Any]:
    return lambda record: record.get(name)


def json_column(name: str) -> Callable[[Record], Any]:
    return lambda record: copy_json(record.get(name))


def timestamp_column(name: str) -> Callable[[Record], Any]:
    return lambda record: iso_z(record.get(name))
