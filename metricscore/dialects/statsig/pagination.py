"""Statsig's page/limit pagination and its ``pagination`` object.

``page`` (default 1) and ``limit`` (default 100): a value that is not a positive integer falls back
to the default. The envelope is ``{message, data, pagination: {itemsPerPage, pageNumber,
totalItems, nextPage, previousPage, all}}`` with ``nextPage`` / ``previousPage`` as paths such as
``/console/v1/metrics/list?page=2&limit=5`` (or null).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic

from ...pagination import ItemT, offset_window, parse_int
from ...query import Filter, OrderBy
from ...repository import Record, Repository, Scope

__all__ = ["NumberedPage", "PagePagination"]

Renderer = Callable[[Record], dict[str, Any]]


@dataclass
class NumberedPage(Generic[ItemT]):
    """One page of a page/limit listing: ``results``, the total ``count``, ``page`` and ``limit``."""

    results: list[ItemT]
    count: int
    page: int
    limit: int

    def link(self, path: str, page: int) -> str:
        return f"{path}?page={page}&limit={self.limit}"

    @staticmethod
    def envelope_schema(item: dict[str, Any]) -> dict[str, Any]:
        """The OpenAPI 3.0 schema of :meth:`envelope`, its data described by ``item``."""
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

    def envelope(
        self, path: str = "/console/v1/metrics/list", message: str = "Metrics listed successfully."
    ) -> dict[str, Any]:
        has_next = self.page * self.limit < self.count
        return {
            "message": message,
            "data": self.results,
            "pagination": {
                "itemsPerPage": self.limit,
                "pageNumber": self.page,
                "totalItems": self.count,
                "nextPage": self.link(path, self.page + 1) if has_next else None,
                "previousPage": self.link(path, self.page - 1) if self.page > 1 else None,
                "all": path,
            },
        }


@dataclass(frozen=True)
class PagePagination:
    default_limit: int = 100

    def parameters(self) -> dict[str, dict[str, Any]]:
        """The query parameters this style reads, name -> OpenAPI schema."""
        return {
            "page": {"type": "integer", "minimum": 1, "default": 1},
            "limit": {"type": "integer", "minimum": 1, "default": self.default_limit},
        }

    def window(self, params: Mapping[str, Any]) -> tuple[int, int]:
        page = parse_int(params.get("page"))
        limit = parse_int(params.get("limit"))
        return (page if page is not None and page >= 1 else 1), (
            limit if limit is not None and limit >= 1 else self.default_limit
        )

    def fetch(
        self,
        repository: Repository,
        scope: Scope,
        filters: tuple[Filter, ...],
        order: tuple[OrderBy, ...],
        params: Mapping[str, Any],
        render: Renderer,
    ) -> NumberedPage[Any]:
        page, limit = self.window(params)
        rows, count = offset_window(repository, scope, filters, order, (page - 1) * limit, limit)
        return NumberedPage([render(r) for r in rows], count, page, limit)
