"""Pagination: one page contract, and the paging mechanisms the dialects configure.

Every page (:class:`OffsetPage`, :class:`CursorPage`, :class:`NumberedPage`) is a :class:`Page`:
``results``, the total ``count``, iteration over its results, and ``envelope(request_url=None)``,
the vendor's response body with links built from the URL as the client sent it, typed as the
page's envelope ``TypedDict`` (:class:`OffsetEnvelope`, :class:`CursorEnvelope`,
:class:`NumberedEnvelope`) of its records. Each style
(:class:`LimitOffsetPagination`, :class:`KeysetPagination`, :class:`PageNumberPagination`) reads
its query parameters, fetches one page, and describes its envelope (``envelope_schema``). The
envelopes themselves, the vendors' link formats, live in the dialects: a style is given one.
"""

from .base import (
    PATH_SAFE,
    Envelope,
    ItemT,
    Listing,
    Page,
    Pagination,
    Renderer,
    Schema,
    parse_int,
    request_url_parts,
    requote,
)
from .keyset import (
    CursorEnvelope,
    CursorPage,
    CursorParams,
    CursorPosition,
    KeysetPagination,
    decode_cursor,
    encode_cursor,
)
from .offset import (
    LimitOffsetPagination,
    NumberedEnvelope,
    NumberedLinks,
    NumberedPage,
    NumberedParams,
    OffsetEnvelope,
    OffsetPage,
    OffsetParams,
    PageNumberPagination,
)

__all__ = [
    "PATH_SAFE",
    "CursorEnvelope",
    "CursorPage",
    "CursorParams",
    "CursorPosition",
    "Envelope",
    "ItemT",
    "KeysetPagination",
    "LimitOffsetPagination",
    "Listing",
    "NumberedEnvelope",
    "NumberedLinks",
    "NumberedPage",
    "NumberedParams",
    "OffsetEnvelope",
    "OffsetPage",
    "OffsetParams",
    "Page",
    "PageNumberPagination",
    "Pagination",
    "Renderer",
    "Schema",
    "decode_cursor",
    "encode_cursor",
    "parse_int",
    "request_url_parts",
    "requote",
]
