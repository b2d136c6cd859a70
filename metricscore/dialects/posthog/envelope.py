"""PostHog's list body, as Django REST framework's LimitOffsetPagination writes it:
``{count, next, previous, results}``, where ``next`` / ``previous`` are the request URL with
``limit`` and ``offset`` replaced and every query parameter re-encoded, sorted by name.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from ...pagination import PATH_SAFE, OffsetEnvelope, OffsetPage, Schema, request_url_parts, requote

__all__ = ["LIST_ENVELOPE", "ListEnvelope", "next_link", "previous_link", "remove_query_param", "replace_query_param"]


def _with_params(url: str, key: str, value: Any | None) -> str:
    """``url`` with ``key`` set to ``value`` (``None``: removed); all parameters re-encoded sorted
    by name, and the path escaped where it holds what a URL cannot (as Django's ``escape_uri_path``)."""
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    if value is None:
        params.pop(key, None)
    else:
        params[key] = [str(value)]
    query = urlencode(sorted(params.items()), doseq=True)
    return urlunsplit((scheme, netloc, requote(path, PATH_SAFE), query, fragment))


def replace_query_param(url: str, key: str, value: Any) -> str:
    """``url`` with ``key`` set to ``value``; all parameters re-encoded sorted by name."""
    return _with_params(url, key, value)


def remove_query_param(url: str, key: str) -> str:
    """``url`` without ``key``; all parameters re-encoded sorted by name."""
    return _with_params(url, key, None)


def next_link(page: OffsetPage[Any], request_url: str) -> str | None:
    """The next page's URL: ``request_url`` with its ``limit`` and the next ``offset``."""
    if page.next_offset is None:
        return None
    return replace_query_param(replace_query_param(request_url, "limit", page.limit), "offset", page.next_offset)


def previous_link(page: OffsetPage[Any], request_url: str) -> str | None:
    """The previous page's URL; on the way back to the first page it has no ``offset`` at all."""
    if page.previous_offset is None:
        return None
    url = replace_query_param(request_url, "limit", page.limit)
    if page.previous_offset == 0:
        return remove_query_param(url, "offset")
    return replace_query_param(url, "offset", page.previous_offset)


class ListEnvelope:
    """``{count, next, previous, results}``. Without a request URL the links are relative
    references holding only the query (``?limit=2&offset=2``), to be resolved against the list's URL."""

    def render(self, page: OffsetPage[Any], request_url: str | None) -> OffsetEnvelope[Any]:
        request_url_parts(request_url)  # a ValidationError unless it is a URL
        url = request_url or ""
        return {
            "count": page.count,
            "next": next_link(page, url),
            "previous": previous_link(page, url),
            "results": page.results,
        }

    def schema(self, item: Schema) -> Schema:
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


#: The envelope of every PostHog list (accounts, group usage metrics).
LIST_ENVELOPE = ListEnvelope()
