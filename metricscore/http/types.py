"""The plain objects of the HTTP layer: :class:`Request`, :class:`Response`, and the route table's
:class:`Route`, :class:`Operation` and :class:`Call`. Every other module of :mod:`metricscore.http`
(the app, the dialects' HTTP faces, the OpenAPI document) builds on these and on nothing above them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from ..wire import dumps as wire_json

if TYPE_CHECKING:
    from .core import App
    from .keys import ApiKey

__all__ = [
    "JSON_TYPE",
    "Call",
    "Handler",
    "Operation",
    "QueryOperation",
    "Request",
    "Response",
    "Route",
    "content_length",
    "json_response",
]

JSON_TYPE = "application/json"


def content_length(value: str) -> int | None:
    """The length a ``Content-Length`` header value declares; ``None`` when it is not a
    non-negative integer (malformed HTTP: a 400)."""
    value = value.strip(" \t")
    return int(value) if value.isascii() and value.isdigit() else None


@dataclass
class Request:
    """One HTTP request, as any server or framework can build it.

    ``path`` is the path as sent (percent-encoded): ``/console/v1/metrics/a%2Fb::sum`` names the metric
    ``a/b::sum``. ``query`` is the raw query string or a sequence of ``(name, value)`` pairs.
    ``headers`` is a mapping or a sequence of pairs; names are case-insensitive.
    """

    method: str
    path: str
    query: str | Sequence[tuple[str, str]] = ""
    headers: Mapping[str, str] | Sequence[tuple[str, str]] = ()
    body: bytes = b""
    #: ``http`` or ``https``: used with the ``Host`` header to build PostHog's pagination links.
    scheme: str = "http"
    #: The prefix the app is mounted under (WSGI ``SCRIPT_NAME``, ASGI ``root_path``), percent-encoded;
    #: ``path`` is the rest. Links in responses keep it.
    root_path: str = ""

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        if not isinstance(self.query, str):
            self.query = urlencode(list(self.query))
        pairs = self.headers.items() if isinstance(self.headers, Mapping) else self.headers
        self._headers: dict[str, str] = {str(k).lower(): str(v) for k, v in pairs}

    def header(self, name: str, default: str | None = None) -> str | None:
        return self._headers.get(name.lower(), default)

    @property
    def query_params(self) -> dict[str, str]:
        """The query parameters; of a repeated name the last value wins (as in Django)."""
        assert isinstance(self.query, str)
        return dict(parse_qsl(self.query, keep_blank_values=True))

    @property
    def url(self) -> str:
        """The absolute URL the client asked for (scheme, ``Host`` header, mount prefix, path and query).

        The ``Host`` header is taken as sent: links in responses use :meth:`App.link_url` instead,
        which only trusts allowed hosts.
        """
        host = self.header("host") or "localhost"
        query = f"?{self.query}" if self.query else ""
        return f"{self.scheme}://{host}{self.root_path.rstrip('/')}{self.path}{query}"


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def json(self) -> Any:
        """The body decoded as JSON (``None`` for an empty body)."""
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


def json_response(status: int, body: Any, headers: Sequence[tuple[str, str]] = ()) -> Response:
    if body is None:
        return Response(status, list(headers), b"")
    # wire_json escapes a lone surrogate (echoed from the request) as \udXXX, as the stdlib would
    return Response(status, [("Content-Type", JSON_TYPE), *headers], wire_json(body))


#: ``handler(call) -> (status, body)``; a ``None`` body is an empty response.
Handler = Callable[["Call"], tuple[int, Any]]


@dataclass(frozen=True)
class Operation:
    handler: Handler
    #: Name for the OpenAPI document (``operationId``).
    name: str
    summary: str
    status: int
    #: The API key scope the operation needs (read by its dialect's ``authorize``; PostHog's scopes).
    scope: str | None = None
    #: The resource whose schema documents the request body, and the mode (create/update/replace).
    body: tuple[str, str] | None = None
    #: A write its dialect may rate-limit (Statsig's mutation limit).
    mutation: bool = False
    #: What a success answers, for the OpenAPI document: the resource and the shape, one of
    #: ``record``, ``page`` (the resource's list envelope) or a shape of the route's dialect
    #: (:meth:`~metricscore.http.dialect.HttpDialect.response_schema`); ``None`` with no body (a 204).
    response: tuple[str, str] | None = None
    #: The handler reads an ``Idempotency-Key`` header (documented as an optional header parameter).
    idempotency_key: bool = False


@dataclass(frozen=True)
class Route:
    """A path template (``{name}`` segments; a trailing ``/`` is optional) and its operations."""

    dialect: str
    template: str
    operations: Mapping[str, Operation]
    regex: re.Pattern[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        pattern = ""
        for part in re.split(r"(\{\w+\})", self.template.rstrip("/")):
            if part.startswith("{"):
                pattern += f"(?P<{part[1:-1]}>[^/]+)"
            else:
                pattern += re.escape(part)
        object.__setattr__(self, "regex", re.compile(f"^{pattern}/?$"))


@dataclass
class Call:
    """What a handler gets: the app, the request, the path parameters and the caller's key."""

    app: App
    request: Request
    params: dict[str, str]
    key: ApiKey
    data: Any = None

    @property
    def query(self) -> dict[str, str]:
        return self.request.query_params


@dataclass(frozen=True)
class QueryOperation(Operation):
    """An operation documented with its query parameters: ``(name, required, description)``, and
    its success body: ``(OpenAPI component name, the TypedDict or union of them it answers)``."""

    query: tuple[tuple[str, bool, str], ...] = ()
    answer: tuple[str, Any] | None = None
    #: Further optional query parameters with their own schemas (name -> OpenAPI schema); one
    #: named in ``query`` refines that parameter's schema instead.
    parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: A JSON request body the handler reads itself: ``(OpenAPI component name, its TypedDict)``.
    request: tuple[str, Any] | None = None
