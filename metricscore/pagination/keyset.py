"""Keyset pagination: opaque ``after`` / ``before`` cursors and a bounded ``limit`` (as Sequence uses it).

A cursor is the keyset position (the ``order`` column values) of a page's last item (``after``) or
first item (``before``), base64url-encoded; it is ``None`` when there is nothing further that way
(one ``limit=1`` probe asks). Paging backwards reads the reversed order from the position, then
flips the rows back. A page's body is a :class:`CursorEnvelope` (a generic ``TypedDict``); how a
vendor fills it in lives in its dialect (``dialects/sequence/envelope.py``).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypedDict

from ..errors import ErrorMessage, ValidationError
from ..jsonvalue import absent, string_problem
from ..query import OrderBy, Query, order_key
from ..table import ColumnType, TableSpec
from .base import Envelope, ItemT, Listing, PageItems, Styled, parse_int

__all__ = [
    "CursorEnvelope",
    "CursorPage",
    "CursorParams",
    "CursorPosition",
    "KeysetPagination",
    "decode_cursor",
    "encode_cursor",
]


class CursorParams(TypedDict, total=False):
    """The keywords of a cursor ``list()`` (``limit`` may also be the query string's text)."""

    limit: int | str | None
    after: str | None
    before: str | None


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


class CursorPosition(TypedDict):
    """Where a cursor page sits (Sequence's ``pagination``): the cursors of the pages ``after`` and
    ``before`` it (``None`` when there is none) and the listing's ``totalResultSize``."""

    after: str | None
    before: str | None
    totalResultSize: int


class CursorEnvelope(TypedDict, Generic[ItemT]):
    """The body of a cursor page (Sequence's): the records as ``items``, and ``pagination``."""

    items: list[ItemT]
    pagination: CursorPosition


@dataclass
class CursorPage(PageItems[ItemT, CursorEnvelope[ItemT]]):
    """One keyset page: ``results``, the total ``count``, and the cursors of the pages ``after``
    and ``before`` it (``None`` when there is none)."""

    results: list[ItemT]
    count: int
    after: str | None
    before: str | None
    envelope_format: Envelope[CursorPage[Any], CursorEnvelope[Any]] = field(repr=False, compare=False, kw_only=True)


_PYTHON_TYPES: dict[ColumnType, type] = {
    ColumnType.DATETIME: datetime,
    ColumnType.STRING: str,
    ColumnType.TEXT: str,
    ColumnType.INTEGER: int,
    ColumnType.FLOAT: float,
    ColumnType.BOOLEAN: bool,
}


@dataclass(frozen=True)
class KeysetPagination(Styled):
    """``limit`` (``min_limit``..``max_limit``, else a 400) and one of ``after`` / ``before``.

    ``column_types`` (``(column, Python type)`` pairs, see :meth:`over`) is what a cursor's values
    are checked against; a column missing from it takes any scalar.
    """

    envelope: Envelope[CursorPage[Any], CursorEnvelope[Any]]
    default_limit: int = 20
    min_limit: int = 1
    max_limit: int = 100
    column_types: tuple[tuple[str, type], ...] = ()

    @classmethod
    def over(
        cls, table: TableSpec, envelope: Envelope[CursorPage[Any], CursorEnvelope[Any]], **options: Any
    ) -> KeysetPagination:
        """Keyset pagination over ``table``, whose cursors must hold values of its columns' types."""
        types = tuple((c.name, _PYTHON_TYPES[c.type]) for c in table.columns if c.type in _PYTHON_TYPES)
        return cls(envelope, column_types=types, **options)

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
        if absent(value):
            return self.default_limit
        limit = None if type(value) is bool else parse_int(value)
        if limit is None or not self.min_limit <= limit <= self.max_limit:
            message = f"limit must be an integer between {self.min_limit} and {self.max_limit}."
            raise ValidationError({"limit": [ErrorMessage(message, "invalid_input")]})
        return limit

    def fetch(self, listing: Listing, params: Mapping[str, Any]) -> CursorPage[Any]:
        """The page after the ``after`` cursor, before the ``before`` one, or the first."""
        filters, order = listing.filters, listing.order
        limit = self.limit(params)
        after, before = params.get("after"), params.get("before")
        types = self.position_types(order)
        after = None if absent(after) else decode_cursor(after, types, "after")
        before = None if absent(before) else decode_cursor(before, types, "before")
        if after is not None and before is not None:
            message = ErrorMessage("Send either after or before, not both.", "invalid_input")
            raise ValidationError({"after": [message], "before": [message]})
        count = listing.count()

        def exists(query: Query) -> bool:
            return bool(listing.find(query))

        if before is None:
            rows = listing.find(Query(filters, order, limit=limit + 1, after=after))
            more_after = len(rows) > limit
            rows = rows[:limit]
            more_before = (
                after is not None
                and bool(rows)
                and exists(Query(filters, order, limit=1, after=order_key(order, rows[0])).reversed())
            )
        else:
            rows = listing.find(Query(filters, order, limit=limit + 1, after=before).reversed())
            more_before = len(rows) > limit
            rows = rows[:limit][::-1]
            more_after = bool(rows) and exists(Query(filters, order, limit=1, after=order_key(order, rows[-1])))
        return CursorPage(
            [listing.render(r) for r in rows],
            count,
            encode_cursor(order_key(order, rows[-1])) if more_after else None,
            encode_cursor(order_key(order, rows[0])) if more_before else None,
            envelope_format=self.envelope,
        )
