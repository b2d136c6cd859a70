"""Wire shapes: small renderers shared by the dialects, and the helpers that read a resource's
record type (a ``TypedDict``, the one declaration of its wire shape: key order, value types,
which keys may be absent).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, overload

from .jsonvalue import copy_json
from .repository import Record
from .table import ColumnType, Table

__all__ = [
    "column",
    "iso_z",
    "json_column",
    "optional_wire_keys",
    "required_wire_keys",
    "timestamp_column",
    "wire_keys",
    "wire_map",
]


@overload
def iso_z(value: datetime) -> str: ...
@overload
def iso_z(value: None) -> None: ...
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


def wire_map(record_type: type[Any], table: Table, columns: Mapping[str, str] | None = None) -> dict[str, Any]:
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
