"""The page contract every pagination style keeps, and the pieces the styles share.

A *style* (:class:`Pagination`) reads its query parameters, fetches one page through a repository
and returns a :class:`Page`. A page holds the paging *mechanism*'s result (its records, the total
count, where it sits); how it is written on the wire is its vendor's :class:`Envelope`, given to
the style by the dialect that uses it, so the core knows no vendor's link format.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar
from urllib.parse import SplitResult, quote, urlsplit

from ..errors import ErrorMessage, ValidationError
from ..generics import TypeVar as DefaultedTypeVar
from ..query import Filter, OrderBy, Query
from ..repository import Record, Repository, Scope

__all__ = [
    "PATH_SAFE",
    "Envelope",
    "ItemT",
    "Listing",
    "Page",
    "PageItems",
    "Pagination",
    "Renderer",
    "Schema",
    "parse_int",
    "request_url_parts",
    "requote",
]

#: Turns a stored record into the dict a page holds.
Renderer = Callable[[Record], dict[str, Any]]
#: An OpenAPI 3.0 schema object.
Schema = dict[str, Any]
#: The records a page holds: a resource's record type (``OffsetPage[AccountRecord]``).
ItemT = TypeVar("ItemT", bound=Mapping[str, object])
ItemT_co = TypeVar("ItemT_co", bound=Mapping[str, object], covariant=True)
PageT_contra = TypeVar("PageT_contra", contravariant=True)
#: The body an envelope writes: a page style's envelope ``TypedDict`` (``OffsetEnvelope[AccountRecord]``).
BodyT = TypeVar("BodyT", bound=Mapping[str, object])
BodyT_co = DefaultedTypeVar("BodyT_co", bound=Mapping[str, object], covariant=True, default=Mapping[str, Any])


class Page(Protocol[ItemT_co]):
    """One page of a listing, whatever its style (:class:`~metricscore.pagination.OffsetPage`,
    :class:`~metricscore.pagination.CursorPage`, :class:`~metricscore.pagination.NumberedPage`).

    Iterating a page iterates its ``results``.
    """

    @property
    def results(self) -> Sequence[ItemT_co]:
        """The records on this page, in the listing's order."""
        ...

    @property
    def count(self) -> int:
        """How many records the whole listing holds (every page, not just this one)."""
        ...

    def envelope(self, request_url: str | None = None) -> Mapping[str, Any]:
        """The vendor's response body for this page (each page class types it as its envelope
        ``TypedDict``: an :class:`~metricscore.pagination.OffsetPage` answers an ``OffsetEnvelope``).
        ``request_url`` is the URL as the client sent it (absolute, or a path with its query);
        links to the neighbouring pages are built from it, keeping its other query parameters.
        Without it, links are built from the listing's own address as far as the style knows it."""
        ...

    def __iter__(self) -> Iterator[ItemT_co]: ...


class Envelope(Protocol[PageT_contra, BodyT_co]):
    """A vendor's list body: how a page (and the request URL) is written, and its OpenAPI schema.

    ``Envelope[OffsetPage[Any], OffsetEnvelope[Any]]`` renders offset pages as the ``TypedDict``
    :class:`~metricscore.pagination.OffsetPage.envelope` is typed with; the body type defaults to
    ``Mapping[str, Any]`` (``Envelope[MyPage]``).
    """

    if not TYPE_CHECKING:

        def __class_getitem__(cls, params):
            # ``Envelope[MyPage]``: the body type's default, at run time as for a type checker.
            params = params if isinstance(params, tuple) else (params,)
            return super().__class_getitem__(params + (Mapping[str, Any],) * (2 - len(params)))

    def render(self, page: PageT_contra, request_url: str | None) -> BodyT_co:
        """The response body for ``page``; links are built from ``request_url`` (see :meth:`Page.envelope`)."""
        ...

    def schema(self, item: Schema) -> Schema:
        """The OpenAPI 3.0 schema of :meth:`render`'s body, its records described by ``item``."""
        ...


@dataclass(frozen=True)
class Listing:
    """What a style pages through: a repository's records in ``scope`` matching ``filters``, in
    ``order`` (ties broken), each turned into the page's item by ``render``."""

    repository: Repository
    scope: Scope
    filters: tuple[Filter, ...]
    order: tuple[OrderBy, ...]
    render: Renderer

    def count(self) -> int:
        return self.repository.count(self.scope, self.filters)

    def find(self, query: Query) -> list[Record]:
        return self.repository.find(self.scope, query)

    def window(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """The rendered records of one offset window and the total count (no row query past the end).

        A repository may offer ``find_with_count(scope, query) -> (rows, count)`` to answer both in
        one round trip (the SQL backend does); otherwise this is a count and a find.
        """
        query = Query(self.filters, self.order, offset, limit)
        combined = getattr(self.repository, "find_with_count", None)
        if combined is not None:
            rows, count = combined(self.scope, query)
            count = int(count)
        else:
            count = self.count()
            rows = [] if offset >= count else self.find(query)
        return [self.render(row) for row in rows], count


class Pagination(Protocol):
    """A pagination style: its query parameters, one page fetched, its envelope's schema."""

    def parameters(self) -> dict[str, dict[str, Any]]:
        """The query parameters the style reads (for the OpenAPI document)."""
        ...

    def envelope_schema(self, item: Schema) -> Schema:
        """The OpenAPI 3.0 schema of its pages' envelope, records described by ``item``."""
        ...

    def fetch(self, listing: Listing, params: Mapping[str, Any]) -> Page[Any]:
        """The page of ``listing`` that ``params`` (the request's query parameters) ask for."""
        ...


class PageItems(Generic[ItemT, BodyT]):
    """What every page class shares: iteration over ``results`` and ``envelope`` through its format,
    typed as the page's envelope ``TypedDict`` (``BodyT``)."""

    results: list[ItemT]
    envelope_format: Envelope[Any, BodyT]

    def __iter__(self) -> Iterator[ItemT]:
        return iter(self.results)

    def envelope(self, request_url: str | None = None) -> BodyT:
        """The vendor's response body for this page, links built from ``request_url`` (the URL as
        the client sent it; see :meth:`Page.envelope`)."""
        return self.envelope_format.render(self, request_url)


class Styled:
    """What every pagination style shares: the envelope its pages are written in."""

    envelope: Envelope[Any, Any]

    def envelope_schema(self, item: Schema) -> Schema:
        """The OpenAPI 3.0 schema of this style's envelope, records described by ``item``."""
        return self.envelope.schema(item)


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


def request_url_parts(request_url: str | None) -> SplitResult:
    """``request_url`` split into scheme, host, path, query and fragment (all empty for ``None``).

    A ValidationError on ``request_url`` when it is not a URL: not a string, a host that cannot
    be one (``http://[::1``), which :func:`urllib.parse.urlsplit` refuses with a ValueError, or a
    lone surrogate, which no URL encodes (the links re-encode the query as UTF-8).
    """
    if request_url is None:
        return SplitResult("", "", "", "", "")
    if type(request_url) is str:
        try:
            request_url.encode("utf-8")
            return urlsplit(request_url)
        except ValueError:  # UnicodeEncodeError is one
            pass
    raise ValidationError({"request_url": [ErrorMessage("Enter a valid URL.", "invalid")]})


_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
#: What a link's path keeps unescaped (RFC 3986 ``pchar`` and ``/``).
PATH_SAFE = "/:@!$&'()*+,;="


def requote(text: str, safe: str) -> str:
    """``text`` (part of a URL as the client sent it) as a valid part of a link: its escapes kept
    as sent (``%2F`` stays an escaped slash), and a ``%`` that starts none, or any character
    neither unreserved nor in ``safe`` (a space, a quote, ``<``, non-ASCII as UTF-8), escaped."""
    return quote(_LONE_PERCENT.sub("%25", text), safe=safe + "%")
