"""Sequence's list body: ``{"items": [...], "pagination": {"after", "before", "totalResultSize"}}``.

Sequence pages by opaque cursors that a client sends back as ``after`` / ``before``; its body holds
no links, so the request URL is not needed. The keyset mechanism is the core's
(:class:`~metricscore.pagination.KeysetPagination`); this module holds Sequence's envelope and limits.
"""

from __future__ import annotations

from typing import Any

from ...pagination import CursorEnvelope, CursorPage, KeysetPagination, Schema, request_url_parts
from ...table import TableSpec

__all__ = ["LIST_ENVELOPE", "ListEnvelope", "cursor_pagination"]


class ListEnvelope:
    """``{"items", "pagination": {"after", "before", "totalResultSize"}}``; the request URL is
    only checked to be one, as every envelope checks it."""

    def render(self, page: CursorPage[Any], request_url: str | None) -> CursorEnvelope[Any]:
        request_url_parts(request_url)
        return {
            "items": page.results,
            "pagination": {"after": page.after, "before": page.before, "totalResultSize": page.count},
        }

    def schema(self, item: Schema) -> Schema:
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


#: The envelope of every Sequence list.
LIST_ENVELOPE = ListEnvelope()


def cursor_pagination(table: TableSpec) -> KeysetPagination:
    """Sequence's list paging over ``table``: ``limit`` 1..100 (default 20; outside is a 400),
    ``after`` / ``before`` cursors holding values of the table's column types."""
    return KeysetPagination.over(table, LIST_ENVELOPE, default_limit=20, min_limit=1, max_limit=100)
