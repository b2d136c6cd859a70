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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic

from ...errors import ErrorMessage, ValidationError
from ...pagination import ItemT, parse_int
from ...query import Filter, OrderBy, Query, order_key
from ...repository import Record, Repository, Scope

__all__ = ["CursorPage", "CursorPagination", "decode_cursor", "encode_cursor"]

Renderer = Callable[[Record], dict[str, Any]]
MAX_CURSOR_LENGTH = 2000
BAD_CURSOR = "Invalid cursor."


def encode_cursor(position: tuple[Any, ...]) -> str:
    """An opaque, URL-safe cursor for a keyset position (datetimes keep their type)."""
    parts = [["d", value.isoformat()] if isinstance(value, datetime) else ["v", value] for value in position]
    raw = json.dumps(parts, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: Any, size: int, param: str) -> tuple[Any, ...]:
    """The keyset position in ``cursor``; a ValidationError on ``param`` when it is not one of ours."""
    error = ValidationError({param: [ErrorMessage(BAD_CURSOR, "invalid_input")]})
    if type(cursor) is not str or len(cursor) > MAX_CURSOR_LENGTH:
        raise error
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw.decode("ascii"))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise error from None
    if type(parts) is not list or len(parts) != size:
        raise error
    position: list[Any] = []
    for part in parts:
        if type(part) is not list or len(part) != 2 or part[0] not in ("d", "v"):
            raise error
        kind, value = part
        if kind == "d":
            try:
                moment = datetime.fromisoformat(value) if type(value) is str else None
            except ValueError:
                moment = None
            if moment is None or moment.tzinfo is None:
                raise error
            position.append(moment)
        elif type(value) in (str, int):
            position.append(value)
        else:
            raise error
    return tuple(position)


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


@dataclass(frozen=True)
class CursorPagination:
    """``limit`` (``min_limit``..``max_limit``, else a 400) and one of ``after`` / ``before``."""

    default_limit: int = 20
    min_limit: int = 1
    max_limit: int = 100

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
        after = None if after in (None, "") else decode_cursor(after, len(order), "after")
        before = None if before in (None, "") else decode_cursor(before, len(order), "before")
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
