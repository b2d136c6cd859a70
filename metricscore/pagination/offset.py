"""Offset windows: limit/offset pages (Django REST framework's LimitOffsetPagination, as PostHog
uses it) and page-number pages (``page`` and ``limit``, as Statsig uses them).

Both read one window of rows and the total count (:meth:`Listing.window`). Each page declares the
shape of its body (:class:`OffsetEnvelope`, :class:`NumberedEnvelope`: generic ``TypedDict`` s, so
``page.envelope(url)["results"][0]`` is typed); the links a vendor writes in it live in its dialect
(``dialects/posthog/envelope.py``, ``dialects/statsig/envelope.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypedDict

from .base import Envelope, ItemT, Listing, PageItems, Styled, parse_int

__all__ = [
    "LimitOffsetPagination",
    "NumberedEnvelope",
    "NumberedLinks",
    "NumberedPage",
    "NumberedParams",
    "OffsetEnvelope",
    "OffsetPage",
    "OffsetParams",
    "PageNumberPagination",
]


class OffsetParams(TypedDict, total=False):
    """The keywords of a limit/offset ``list()`` (values may also be the query string's text)."""

    limit: int | str | None
    offset: int | str | None


class NumberedParams(TypedDict, total=False):
    """The keywords of a numbered-page ``list()`` (values may also be the query string's text)."""

    page: int | str | None
    limit: int | str | None


class OffsetEnvelope(TypedDict, Generic[ItemT]):
    """The body of a limit/offset page (PostHog's, as Django REST framework writes it): the total
    ``count``, the URLs of the ``next`` and ``previous`` pages (``None`` at either end), ``results``."""

    count: int
    next: str | None
    previous: str | None
    results: list[ItemT]


class NumberedLinks(TypedDict):
    """Where a numbered page sits (Statsig's ``pagination``): its size and number, the total, the
    paths of the next and previous pages (``None`` at either end) and of the whole listing."""

    itemsPerPage: int
    pageNumber: int
    totalItems: int
    nextPage: str | None
    previousPage: str | None
    all: str


class NumberedEnvelope(TypedDict, Generic[ItemT]):
    """The body of a numbered page (Statsig's): a ``message``, the records as ``data``, and ``pagination``."""

    message: str
    data: list[ItemT]
    pagination: NumberedLinks


@dataclass
class OffsetPage(PageItems[ItemT, OffsetEnvelope[ItemT]]):
    """One limit/offset page: ``results``, the total ``count``, its ``limit`` and ``offset``."""

    results: list[ItemT]
    count: int
    limit: int
    offset: int
    envelope_format: Envelope[OffsetPage[Any], OffsetEnvelope[Any]] = field(repr=False, compare=False, kw_only=True)

    @property
    def next_offset(self) -> int | None:
        """The offset of the next page; ``None`` on the last one."""
        return None if self.offset + self.limit >= self.count else self.offset + self.limit

    @property
    def previous_offset(self) -> int | None:
        """The offset of the previous page (``0``: the first); ``None`` on the first page."""
        return None if self.offset <= 0 else max(self.offset - self.limit, 0)


@dataclass(frozen=True)
class LimitOffsetPagination(Styled):
    """``limit`` (a positive integer, else the default) and ``offset`` (non-negative, else 0).

    ``max_limit`` caps ``limit`` when set; off by default, as in PostHog.
    """

    envelope: Envelope[OffsetPage[Any], OffsetEnvelope[Any]]
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

    def fetch(self, listing: Listing, params: Mapping[str, Any]) -> OffsetPage[Any]:
        """The limit/offset window ``params`` ask for."""
        limit, offset = self.window(params)
        results, count = listing.window(offset, limit)
        return OffsetPage(results, count, limit, offset, envelope_format=self.envelope)


@dataclass
class NumberedPage(PageItems[ItemT, NumberedEnvelope[ItemT]]):
    """One page of a page/limit listing: ``results``, the total ``count``, ``page`` (from 1) and ``limit``."""

    results: list[ItemT]
    count: int
    page: int
    limit: int
    envelope_format: Envelope[NumberedPage[Any], NumberedEnvelope[Any]] = field(repr=False, compare=False, kw_only=True)

    @property
    def next_number(self) -> int | None:
        """The number of the next page; ``None`` on the last one."""
        return self.page + 1 if self.page * self.limit < self.count else None

    @property
    def previous_number(self) -> int | None:
        """The number of the previous page; ``None`` on the first one."""
        return self.page - 1 if self.page > 1 else None


@dataclass(frozen=True)
class PageNumberPagination(Styled):
    """``page`` (a positive integer, else 1) and ``limit`` (a positive integer, else the default)."""

    envelope: Envelope[NumberedPage[Any], NumberedEnvelope[Any]]
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

    def fetch(self, listing: Listing, params: Mapping[str, Any]) -> NumberedPage[Any]:
        """The numbered page ``params`` ask for."""
        page, limit = self.window(params)
        results, count = listing.window((page - 1) * limit, limit)
        return NumberedPage(results, count, page, limit, envelope_format=self.envelope)
