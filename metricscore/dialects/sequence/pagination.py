"""Sequence's cursor pagination: opaque ``after`` / ``before`` cursors and ``limit`` 1..100.

The envelope is ``{"items": [...], "pagination": {"after", "before", "totalResultSize"}}``. A cursor
is the keyset position (the ``order`` column values) of a page's last item (``after``) or first
item (``before``), base64url-encoded; it is ``null`` when there is nothing further that way.
Paging backwards reads the reversed order from the position, then flips the rows back.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic

from ...errors import ErrorMessage, ValidationError
from ...jsonvalue import string_problem
from ...pagination import ItemT, parse_int
from ...query import Filter, OrderBy, Query, order_key
from ...repository import Record, Repository, Scope
from ...table import ColumnType, Table

__all__ = ["CursorPage", "CursorPagination", "decode_cursor", "encode_cursor"]

Renderer = Callable[[Record], dict[str, Any]]
MAX_CURSOR_LENGTH = 2000
BAD_CURSOR = "Invalid cursor."


def encode_cursor(position: tuple[Any, ...]) -> str:
    """An opaque, URL-safe cursor for a keyset position (datetimes keep their type)."""
    parts = [["d", value.isoformat()] if isinstance(value, datetime) else ["v", value] for value in position]
    raw = json.dumps(parts, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: Any, types: Sequence[type | None], param: str) -> tuple[Any, ...]:
    """The keyset position in ``cursor``; a ValidationError on ``param`` when it is not one of ours.

    ``types`` holds the Python type of each order column (``None``: any scalar). A position of the
    wrong length, a value of the wrong type, an integer beyond 64 bits, a string a backend could
    not store, or a time that cannot be made UTC is refused like any other forged cursor, so no
    backend is ever asked to compare a column with a value of another type.
    """
    error = ValidationError({param: [ErrorMessage(BAD_CURSOR, "invalid_input")]})
    if type(cursor) is not str or len(cursor) > MAX_CURSOR_LENGTH:
        raise error
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw.decode("ascii"))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise error from None
    if type(parts) is not list or len(parts) != len(types):
        raise error
    position: list[Any] = []
    for part, expected in zip(parts, types, strict=True):
        if type(part) is not list or len(part) != 2 or part[0] not in ("d", "v"):
            raise error
        value = _position_value(part[0], part[1], expected)
        if value is None:
            raise error
        position.append(value)
    return tuple(position)


def _position_value(kind: str, value: Any, expected: type | None) -> Any:
    """The decoded value of one cursor part, or ``None`` when it is not a valid one."""
    if kind == "d":
        if expected not in (datetime, None) or type(value) is not str:
            return None
        try:
            moment = datetime.fromisoformat(value)
            return None if moment.tzinfo is None else moment.astimezone(UTC)
        except (ValueError, OverflowError):
            return None
    kind_of = type(value)
    if kind_of is str:
        return value if expected in (str, None) and string_problem(value) is None else None
    if kind_of is int:
        return value if expected in (int, float, None) and -(2**63) <= value < 2**63 else None
    if kind_of is float:
        return value if expected is float and math.isfinite(value) else None
    if kind_of is bool:
        return value if expected is bool else None
    return None


@dataclass
class CursorPage(Generic[ItemT]):
    """One page of items plus the cursors to the neighbouring pages."""

    results: list[ItemT]
    count: int
    after: str | None
    before: str | None

    @staticmethod
    def envelope_schema(item: dict[str, Any]) -> dict[str, Any]:
        """The OpenAPI 3.0 schema of :meth:`envelope`, its items described by ``item``."""
        cursor = {"type": "string", "nullable": True}
        return {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": item},
                "pagination": {
                    "type": "object",
                    "properties": {"after": cursor, "before": cursor, "totalResultSize": {"type": "integer"}},
                    "required": ["after", "before", "totalResultSize"],
                },
            },
            "required": ["items", "pagination"],
        }

    def envelope(self) -> dict[str, Any]:
        """``{"items", "pagination": {"after", "before", "totalResultSize"}}``."""
        return {
            "items": self.results,
            "pagination": {"after": self.after, "before": self.before, "totalResultSize": self.count},
        }


_PYTHON_TYPES: dict[ColumnType, type] = {
    ColumnType.DATETIME: datetime,
    ColumnType.STRING: str,
    ColumnType.TEXT: str,
    ColumnType.INTEGER: int,
    ColumnType.FLOAT: float,
    ColumnType.BOOLEAN: bool,
}


@dataclass(frozen=True)
class CursorPagination:
    """``limit`` (``min_limit``..``max_limit``, else a 400) and one of ``after`` / ``before``.

    ``column_types`` (``(column, Python type)`` pairs, see :meth:`over`) is what a cursor's values
    are checked against; a column missing from it takes any scalar.
    """

    default_limit: int = 20
    min_limit: int = 1
    max_limit: int = 100
    column_types: tuple[tuple[str, type], ...] = ()

    @classmethod
    def over(cls, table: Table, **options: Any) -> CursorPagination:
        """Cursor pagination over ``table``, whose cursors must hold values of its columns' types."""
        types = tuple((c.name, _PYTHON_TYPES[c.type]) for c in table.columns if c.type in _PYTHON_TYPES)
        return cls(column_types=types, **options)

    def position_types(self, order: Sequence[OrderBy]) -> list[type | None]:
        known = dict(self.column_types)
        return [known.get(o.column) for o in order]

    def parameters(self) -> dict[str, dict[str, Any]]:
        """The query parameters this style reads, name -> OpenAPI schema."""
        return {
            "limit": {
                "type": "integer",
                "minimum": self.min_limit,
                "maximum": self.max_limit,
                "default": self.default_limit,
            },
            "after": {"type": "string", "description": "The cursor of the page after this one."},
            "before": {"type": "string", "description": "The cursor of the page before this one."},
        }

    def limit(self, params: Mapping[str, Any]) -> int:
        value = params.get("limit")
        if value is None or value == "":
            return self.default_limit
        limit = None if type(value) is bool else parse_int(value)
        if limit is None or not self.min_limit <= limit <= self.max_limit:
            message = f"limit must be an integer between {self.min_limit} and {self.max_limit}."
            raise ValidationError({"limit": [ErrorMessage(message, "invalid_input")]})
        return limit

    def fetch(
        self,
        repository: Repository,
        scope: Scope,
        filters: tuple[Filter, ...],
        order: tuple[OrderBy, ...],
        params: Mapping[str, Any],
        render: Renderer,
    ) -> CursorPage[Any]:
        limit = self.limit(params)
        after, before = params.get("after"), params.get("before")
        types = self.position_types(order)
        after = None if after in (None, "") else decode_cursor(after, types, "after")
        before = None if before in (None, "") else decode_cursor(before, types, "before")
        if after is not None and before is not None:
            message = ErrorMessage("Send either after or before, not both.", "invalid_input")
            raise ValidationError({"after": [message], "before": [message]})
        count = repository.count(scope, filters)

        def exists(query: Query) -> bool:
            return bool(repository.find(scope, query))

        if before is None:
            rows = repository.find(scope, Query(filters, order, limit=limit + 1, after=after))
            more_after = len(rows) > limit
            rows = rows[:limit]
            more_before = (
                after is not None
                and bool(rows)
                and exists(Query(filters, order, limit=1, after=order_key(order, rows[0])).reversed())
            )
        else:
            rows = repository.find(scope, Query(filters, order, limit=limit + 1, after=before).reversed())
            more_before = len(rows) > limit
            rows = rows[:limit][::-1]
            more_after = bool(rows) and exists(Query(filters, order, limit=1, after=order_key(order, rows[-1])))
        return CursorPage(
            [render(r) for r in rows],
            count,
            encode_cursor(order_key(order, rows[-1])) if more_after else None,
            encode_cursor(order_key(order, rows[0])) if more_before else None,
        )
