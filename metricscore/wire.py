"""Wire shapes: small renderers shared by the dialects, and the helpers that read a resource's
record type (a ``TypedDict``, the one declaration of its wire shape: key order, value types,
which keys may be absent).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, overload

from .jsonvalue import copy_json
from .repository import FreshRecord, Record
from .table import ColumnType, TableSpec

__all__ = [
    "FAST_JSON",
    "column",
    "dumps",
    "dumps_stdlib",
    "iso_z",
    "json_column",
    "optional_wire_keys",
    "owned_json",
    "required_wire_keys",
    "timestamp_column",
    "wire_keys",
    "wire_map",
]

_stdlib_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_ascii_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode


def dumps_stdlib(value: Any) -> bytes:
    """The wire JSON of ``value``: compact, UTF-8, non-ASCII kept (the reference encoding).

    A non-finite float (never in a stored record: validation refuses them) is written ``null``,
    as JavaScript's ``JSON.stringify`` writes it, rather than the invalid ``NaN``. A string with
    a lone surrogate (which UTF-8 cannot carry; an error body can echo one from a request) makes
    the whole document ASCII, every non-ASCII character escaped (the surrogate as ``\\udXXX``).
    """
    try:
        return _encode(_stdlib_encode, value).encode("utf-8")
    except UnicodeEncodeError:
        return _encode(_ascii_encode, value).encode("ascii")


def _encode(encode: Callable[[Any], str], value: Any) -> str:
    try:
        return encode(value)
    except ValueError:  # a non-finite float
        return encode(_finite(value))


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
_UTC_Z = 0 if _orjson is None else _orjson.OPT_UTC_Z


@overload
def iso_z(value: datetime) -> str: ...
@overload
def iso_z(value: None) -> None: ...
def iso_z(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with ``Z``, microseconds only when present (as DRF renders datetimes)."""
    if value is None:
        return None
    if _orjson is not None and value.tzinfo is UTC and type(value) is datetime:
        # orjson writes a UTC datetime exactly so, in a quarter of the time isoformat() takes
        return _orjson.dumps(value, option=_UTC_Z)[1:-1].decode()  # type: ignore[no-any-return]
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def column(name: str) -> Callable[[Record], Any]:
    return lambda record: record.get(name)


def owned_json(record: Record, value: Any) -> Any:
    """``value`` (a JSON value of ``record``) for a rendered record: copied, unless the record is
    a :class:`~metricscore.repository.FreshRecord` (nobody else holds its values)."""
    return value if type(record) is FreshRecord else copy_json(value)


def json_column(name: str) -> Callable[[Record], Any]:
    return lambda record: owned_json(record, record.get(name))


def timestamp_column(name: str) -> Callable[[Record], Any]:
    return lambda record: iso_z(record.get(name))


def wire_keys(record_type: type[Any]) -> tuple[str, ...]:
    """Every key of a record type, in wire order (the order the ``TypedDict`` declares them)."""
    return tuple(record_type.__annotations__)


def required_wire_keys(record_type: type[Any]) -> frozenset[str]:
    """The keys every rendered record has."""
    return frozenset(record_type.__required_keys__)


def optional_wire_keys(record_type: type[Any]) -> frozenset[str]:
    """The keys a rendered record leaves out when they have no value (``NotRequired``)."""
    return frozenset(record_type.__optional_keys__)


_RENDERERS: dict[ColumnType, Callable[[str], Callable[[Record], Any]]] = {
    ColumnType.DATETIME: timestamp_column,
    ColumnType.JSON: json_column,
    ColumnType.TAGS: json_column,
}


def wire_map(record_type: type[Any], table: TableSpec, columns: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Wire key -> renderer for every key of ``record_type``, in its order.

    Each key reads ``columns[key]`` when given (``{"sequenceAccountId": "account_id"}``), else the
    column of the same name, else that of its snake_case form (``createdAt`` -> ``created_at``); the
    column's type picks the renderer (timestamps as :func:`iso_z`, JSON values copied). A key that
    names no column is a declaration mistake, raised (``KeyError``) when the resource is defined.
    """
    renames = columns or {}
    names = set(table.column_names)
    found: dict[str, Any] = {}
    for key in wire_keys(record_type):
        name = renames.get(key) or (key if key in names else _snake_case(key))
        spec = table.column(name)
        found[key] = _RENDERERS.get(spec.type, column)(spec.name)
    return found


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
