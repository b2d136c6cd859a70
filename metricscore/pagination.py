"""Pagination styles. Each parses its own query parameters, fetches one page through a
repository, and renders the vendor's envelope.

- :class:`LimitOffsetPagination`: PostHog (Django REST framework's LimitOffsetPagination).
Other styles (cursor, page number) live beside the dialects that use them and follow the same
shape: ``fetch(repository, scope, filters, order, params) -> Page``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from .query import Filter, OrderBy, Query
from .repository import Record, Repository, Scope

__all__ = [
    "ItemT",
    "LimitOffsetPagination",
    "OffsetPage",
    "Page",
    "Pagination",
    "offset_window",
    "parse_int",
    "remove_query_param",
    "replace_query_param",
]

Renderer = Callable[[Record], dict[str, Any]]
#: The records a page holds: a resource's record type (``OffsetPage[AccountRecord]``).
ItemT = TypeVar("ItemT", bound=Mapping[str, object])


class Page(Protocol):
    @property
    def results(self) -> Sequence[Mapping[str, object]]: ...

    @property
    def count(self) -> int: ...

    def envelope(self, *args: Any, **kwargs: Any) -> dict[str, Any]: ...


class Pagination(Protocol):
    def parameters(self) -> dict[str, dict[str, Any]]:
        """The query parameters the style reads (for the OpenAPI document)."""
        ...

    def fetch(
        self,
        repository: Repository,
        scope: Scope,
        filters: tuple[Filter, ...],
        order: tuple[OrderBy, ...],
        params: Mapping[str, Any],
        render: Renderer,
    ) -> Page: ...


def parse_int(value: Any) -> int | None:
    """An integer from a typed value or a query-string value; ``None`` when it is not one."""
    if type(value) is int:
        return value
    if type(value) is str and 0 < len(value) <= 20:
        try:
            return int(value)
        except ValueError:
            return None
    return None


def replace_query_param(url: str, key: str, value: Any) -> str:
    """``url`` with ``key`` set to ``value``; all parameters re-encoded sorted by name."""
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    params[key] = [str(value)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(params.items()), doseq=True), fragment))


def remove_query_param(url: str, key: str) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    params.pop(key, None)
    return urlunsplit((scheme, netloc, path, urlencode(sorted(params.items()), doseq=True), fragment))


def offset_window(
    repository: Repository,
    scope: Scope,
    filters: tuple[Filter, ...],
    order: tuple[OrderBy, ...],
    offset: int,
    limit: int,
) -> tuple[list[Record], int]:
    """The rows of one offset page and the total count (no row query past the end).

    A repository may offer ``find_with_count(scope, query) -> (rows, count)`` to answer both in
    one round trip (the SQL backend does); otherwise this is a count and a find.
    """
    combined = getattr(repository, "find_with_count", None)
    if combined is not None:
        rows, count = combined(scope, Query(filters, order, offset, limit))
        return rows, int(count)
    count = repository.count(scope, filters)
    rows = [] if offset >= count else repository.find(scope, Query(filters, order, offset, limit))
    return rows, count


@dataclass
class OffsetPage(Generic[ItemT]):
    """One limit/offset page: ``results``, the total ``count``, and DRF-style links."""

    results: list[ItemT]
    count: int
    limit: int
    offset: int

    def next_link(self, request_url: str) -> str | None:
        if self.offset + self.limit >= self.count:
            return None
        url = replace_query_param(request_url, "limit", self.limit)
        return replace_query_param(url, "offset", self.offset + self.limit)

    def previous_link(self, request_url: str) -> str | None:
        if self.offset <= 0:
            return None
        url = replace_query_param(request_url, "limit", self.limit)
        if self.offset - self.limit <= 0:
            return remove_query_param(url, "offset")
        return replace_query_param(url, "offset", self.offset - self.limit)

    @staticmethod
    def envelope_schema(item: dict[str, Any]) -> dict[str, Any]:
        """The OpenAPI 3.0 schema of :meth:`envelope`, its results described by ``item``."""
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "properties": {
                "count": {"type": "integer"},
                "next": link,
                "previous": link,
                "results": {"type": "array", "items": item},
            },
            "required": ["count", "next", "previous", "results"],
        }

    def envelope(self, request_url: str) -> dict[str, Any]:
        """``{count, next, previous, results}`` with links built from the request's own URL."""
        return {
            "count": self.count,
            "next": self.next_link(request_url),
            "previous": self.previous_link(request_url),
            "results": self.results,
        }


@dataclass(frozen=True)
class LimitOffsetPagination:
    """``limit`` (a positive integer, else the default) and ``offset`` (non-negative, else 0).

    ``max_limit`` caps ``limit`` when set; off by default, as in PostHog.
    """

    default_limit: int = 100
    max_limit: int | None = None

    def parameters(self) -> dict[str, dict[str, Any]]:
        """The query parameters this style reads, name -> OpenAPI schema."""
        return {
            "limit": {"type": "integer", "minimum": 1, "default": self.default_limit},
            "offset": {"type": "integer", "minimum": 0, "default": 0},
        }

    def window(self, params: Mapping[str, Any]) -> tuple[int, int]:
        limit = parse_int(params.get("limit"))
        if limit is None or limit <= 0:
            limit = self.default_limit
        if self.max_limit is not None:
            limit = min(limit, self.max_limit)
        offset = parse_int(params.get("offset"))
        if offset is None or offset < 0:
            offset = 0
        return limit, offset

    def fetch(
        self,
        repository: Repository,
        scope: Scope,
        filters: tuple[Filter, ...],
        order: tuple[OrderBy, ...],
        params: Mapping[str, Any],
        render: Renderer,
    ) -> OffsetPage[Any]:
        limit, offset = self.window(params)
        rows, count = offset_window(repository, scope, filters, order, offset, limit)
        return OffsetPage([render(r) for r in rows], count, limit, offset)
