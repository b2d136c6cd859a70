"""Statsig's list body: ``{message, data, pagination: {itemsPerPage, pageNumber, totalItems,
nextPage, previousPage, all}}``.

``nextPage`` / ``previousPage`` are paths such as ``/console/v1/metrics/list?page=2&limit=5`` (or
null), and ``all`` is the list's path. They are built from the request URL as the client sent it
(an absolute URL or a path, under any mount prefix): its path, ``page`` and ``limit``, then its
other query parameters as sent (so a filtered listing stays filtered page after page), with what
a URL cannot hold as sent (a space, a quote, a ``%`` that starts no escape) percent-encoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from ...pagination import PATH_SAFE, NumberedEnvelope, NumberedPage, Schema, request_url_parts, requote

__all__ = ["ListEnvelope"]

_PAGING = frozenset({"page", "limit"})
#: What each query parameter of a link keeps unescaped (RFC 3986 ``query``, less the ``&`` that
#: separates parameters).
_QUERY_SAFE = "=:@/?!$'()*+,;"


@dataclass(frozen=True)
class ListEnvelope:
    """Statsig's list body for one listing: its ``message``, and the ``path`` its links use when
    no request URL is given."""

    path: str
    message: str

    def render(self, page: NumberedPage[Any], request_url: str | None) -> NumberedEnvelope[Any]:
        parts = request_url_parts(request_url)
        path = requote(parts.path, PATH_SAFE) if parts.path else self.path
        kept = [
            requote(p, _QUERY_SAFE)
            for p in parts.query.split("&")
            if p and unquote_plus(p.partition("=")[0]) not in _PAGING
        ]
        rest = "".join(f"&{p}" for p in kept)

        def link(number: int | None) -> str | None:
            return None if number is None else f"{path}?page={number}&limit={page.limit}{rest}"

        return {
            "message": self.message,
            "data": page.results,
            "pagination": {
                "itemsPerPage": page.limit,
                "pageNumber": page.page,
                "totalItems": page.count,
                "nextPage": link(page.next_number),
                "previousPage": link(page.previous_number),
                "all": path,
            },
        }

    def schema(self, item: Schema) -> Schema:
        link = {"type": "string", "nullable": True}
        return {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "data": {"type": "array", "items": item},
                "pagination": {
                    "type": "object",
                    "properties": {
                        "itemsPerPage": {"type": "integer"},
                        "pageNumber": {"type": "integer"},
                        "totalItems": {"type": "integer"},
                        "nextPage": link,
                        "previousPage": link,
                        "all": {"type": "string"},
                    },
                    "required": ["itemsPerPage", "pageNumber", "totalItems", "nextPage", "previousPage", "all"],
                },
            },
            "required": ["message", "data", "pagination"],
        }
