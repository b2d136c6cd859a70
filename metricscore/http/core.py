"""The framework-agnostic HTTP core: plain request and response objects and :class:`App`.

::

    from metricscore.http import App, Request

    app = App(mc.open_store("sqlite:///metrics.db"))
    response = app.handle(Request("GET", "/api/environments/1/accounts/", headers={"Authorization": "Bearer phx_..."}))
    response.status, response.headers, response.body

``App.handle`` never raises: every outcome is a response in the vendor's own format (status code,
envelope, error body). Adapters (:mod:`metricscore.http.wsgi`, :mod:`metricscore.http.asgi`) only
translate their framework's request into a :class:`Request` and the :class:`Response` back.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..errors import ConfigurationError, MetricscoreError
from .dialect import BodyTooLarge, HttpDialect, MalformedLength, PlainError, ServerError, installed_http_dialects
from .keys import Keyring
from .links import LinkBase
from .openapi import openapi_document
from .types import JSON_TYPE, Call, Operation, Request, Response, Route, content_length, json_response

if TYPE_CHECKING:
    from ..api import Store

__all__ = ["App", "Call", "Operation", "Request", "Response", "Route"]

logger = logging.getLogger("metricscore.http")

#: The largest request body accepted (bytes).
DEFAULT_MAX_BODY = 1024 * 1024
#: How long a verified key is trusted by one process (a revocation elsewhere applies within it).
DEFAULT_KEY_CACHE_SECONDS = 1.0


# -- the app -------------------------------------------------------------------------------------


def _not_allowed(request: Request) -> str:
    return f'Method "{request.method}" not allowed.'


def _answered_as(method: str) -> str:
    """The method whose operation answers ``method``: ``HEAD`` is answered as ``GET`` (RFC 9110
    section 9.3.2, as Django and Express do); the response keeps the body, which the server drops."""
    return "GET" if method == "HEAD" else method


def _names(option: str, value: object) -> list[str]:
    """``value`` as a list of strings (a single string is not a list of names); ConfigurationError otherwise."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{option} is a list of names, not {value!r}.")
    names = list(value)
    if not all(type(name) is str for name in names):
        raise ConfigurationError(f"{option} is a list of names (strings), not {names!r}.")
    return names


class App:
    """Every route of every installed dialect over one store.

    :param store: the :class:`~metricscore.Store` every request reads and writes.
    :param max_body: the largest request body accepted, in bytes.
    :param openapi: serve the OpenAPI 3 document at ``/openapi.json``.
    :param key_cache_seconds: how long a verified API key is trusted without reading it again
        (see :class:`~metricscore.http.keys.Keyring`); ``0`` reads it on every request.
    :param public_url: the base URL clients reach the app at (``https://api.example.com/metrics``);
        pagination links start with it. Without it they use the request's scheme, an allowed
        ``Host`` and the mount prefix (see :mod:`metricscore.http.links`).
    :param allowed_hosts: ``Host`` header values trusted in links (``*``, ``.example.com`` or exact
        names; default :data:`~metricscore.http.links.DEFAULT_ALLOWED_HOSTS`, the loopback names).
    :param dialects: the names of the dialects to serve (default: every installed one).
    :param options: options of the dialects' HTTP faces, by name (``statsig_limits``: Statsig's
        mutation rate limit per project, ``()`` turns it off); see each
        :attr:`~metricscore.http.dialect.HttpDialect.app_options`.
    """

    def __init__(
        self,
        store: Store,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        openapi: bool = True,
        key_cache_seconds: float = DEFAULT_KEY_CACHE_SECONDS,
        public_url: str | None = None,
        allowed_hosts: Sequence[str] | None = None,
        dialects: Iterable[str] | None = None,
        **options: Any,
    ) -> None:
        self.store = store
        self.keys = Keyring(store, cache_seconds=key_cache_seconds)
        if type(max_body) is not int or max_body < 0:
            raise ConfigurationError(f"max_body is a number of bytes (an integer of at least 0), not {max_body!r}.")
        self.max_body = max_body
        self.links = LinkBase(public_url, allowed_hosts)
        self.serve_openapi = openapi
        self.dialects: dict[str, HttpDialect] = {}
        used: set[str] = set()
        for face in installed_http_dialects(None if dialects is None else _names("dialects", dialects)):
            mine = {option: options[option] for option in options if option in face.app_options}
            used |= set(mine)
            self.dialects[face.name] = face(self, mine)
        unknown = sorted(set(options) - used)
        if unknown:
            raise TypeError(f"App() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}")
        self.routes: tuple[Route, ...] = tuple(route for face in self.dialects.values() for route in face.routes())
        self._openapi: bytes | None = None

    def __repr__(self) -> str:
        return f"<metricscore.http.App {self.store!r}>"

    def handle(self, request: Request) -> Response:
        """The response to ``request``; never raises."""
        try:
            return self._handle(request)
        except Exception:  # a bug: still answer as the vendor whose route was asked would
            logger.exception("Unhandled error in %s %s", request.method, request.path)
            return self._server_error(self._dialect_of(request.path))

    def refusal(self, path: str, status: int, code: str, message: str) -> Response:
        """The answer to a request the server could not read (a request line or headers too long,
        malformed HTTP), in the format of the dialect ``path`` (what could be read of it) suggests:
        the server in front of :meth:`handle` sends it instead of its own page. A ``status`` of 500
        or more is the dialect's 500."""
        face = self._dialect_of(path)
        if status >= 500:
            return self._server_error(face)
        return self._plain(face, status, code, message)

    def declared_length(self, request: Request) -> int | None:
        """The body length ``request``'s ``Content-Length`` header declares (``None`` without one);
        a 400 (:class:`MalformedLength`) when it is not a non-negative integer."""
        value = request.header("content-length")
        if value is None:
            return None
        length = content_length(value)
        if length is None:
            raise MalformedLength()
        return length

    def body_too_large(self, request: Request) -> bool:
        """Whether ``request``'s body, as sent or as its ``Content-Length`` declares it, is past
        :attr:`max_body`: an adapter that saw the header need not have read the body."""
        declared = self.declared_length(request)
        return len(request.body) > self.max_body or (declared is not None and declared > self.max_body)

    def link_url(self, request: Request) -> str:
        """The URL of ``request`` as links in its response show it (see :mod:`metricscore.http.links`)."""
        assert isinstance(request.query, str)
        base = self.links.absolute(request.scheme, request.header("host"), request.root_path)
        return f"{base}{request.path}{'?' + request.query if request.query else ''}"

    def _dialect_of(self, path: Any) -> HttpDialect | None:
        """The dialect that answers for ``path``: its route's, else :meth:`_claimant`'s."""
        try:
            for route in self.routes:
                if route.regex.match(path):
                    return self.dialects[route.dialect]
            return self._claimant(path)
        except Exception:
            return None

    def _claimant(self, path: str) -> HttpDialect | None:
        """The dialect with the longest of its ``prefixes`` starting ``path`` (a path no route matches)."""
        best: HttpDialect | None = None
        longest = -1
        if not path.startswith("/"):  # "*" (OPTIONS *), "" or a full URL: as the path below the root
            path = "/" + path
        for face in self.dialects.values():
            for prefix in face.prefixes:
                if len(prefix) > longest and path.startswith(prefix):
                    best, longest = face, len(prefix)
        return best

    def _server_error(self, face: HttpDialect | None) -> Response:
        """A 500 in the dialect's own error format (its body never echoes the request)."""
        if face is None:
            return json_response(500, {"detail": "A server error occurred."})
        try:
            status, body = face.render_error(ServerError())
        except Exception:  # the renderer itself failed: its dialect's plain shape
            status, body = 500, self._plain_body(face, 500, "error", "A server error occurred.")
        return json_response(status, body)

    def route(self, method: str, path: str) -> tuple[Route, re.Match[str]] | None:
        """The route that answers ``method`` on ``path``, with its match: the first route whose
        template matches and that has the method, else the first whose template matches (the
        method is then a 405); ``None`` when no template matches (a 404).

        Templates overlap (Statsig's ``GET {name}/{type}`` and ``PUT {id}/cancel_archive``), so a
        method is looked up on every route the path matches, as the vendors' routers do.
        """
        first: tuple[Route, re.Match[str]] | None = None
        method = _answered_as(method)
        for route in self.routes:
            match = route.regex.match(path)
            if match is not None:
                if method in route.operations:
                    return route, match
                first = first or (route, match)
        return first

    def _handle(self, request: Request) -> Response:
        path = request.path
        try:
            self.declared_length(request)
        except MalformedLength as error:  # malformed HTTP, whatever the route
            return self._plain(self._dialect_of(path), error.status, error.code, error.message)
        if self.serve_openapi and path == "/openapi.json":
            return self._openapi_response(request)
        found = self.route(request.method, path)
        if found is None:
            return self._plain(self._claimant(path), 404, "not_found", "Not found.")
        route, match = found
        face = self.dialects[route.dialect]
        operation = route.operations.get(_answered_as(request.method))
        if operation is None:
            methods = [
                m
                for other in self.routes
                if other.regex.match(path)
                for m in (*other.operations, *(("HEAD",) if "GET" in other.operations else ()))
            ]
            response = self._plain(face, 405, "method_not_allowed", _not_allowed(request))
            response.headers.append(("Allow", ", ".join(dict.fromkeys(methods))))
            return response
        try:
            params = {name: unquote(value) for name, value in match.groupdict().items()}
            face.negotiate(request)
            key = face.authenticate(request)
            face.authorize(operation, params, key)
            call = Call(self, request, params, key)
            if operation.body is not None:
                if self.body_too_large(request):
                    raise BodyTooLarge(self.max_body)
                call.data = face.parse_body(request)
            status, body = operation.handler(call)
        except MetricscoreError as error:
            return self._error(face, error)
        except Exception:
            logger.exception("Error in %s %s", request.method, request.path)
            return self._server_error(face)
        return json_response(status, body)

    # -- errors -----------------------------------------------------------------------------------

    def _error(self, face: HttpDialect, error: MetricscoreError) -> Response:
        if isinstance(error, PlainError):
            return self._plain(face, error.status, error.code, error.message)
        status, body = face.render_error(error)
        if status >= 500:
            logger.error("Server error: %r", error, exc_info=error)
        return json_response(status, body, face.error_headers(error, status))

    def _plain_body(self, face: HttpDialect | None, status: int, code: str, message: str) -> Any:
        if face is None:
            return {"detail": message}
        return face.plain_error(status, code, message)

    def _plain(self, face: HttpDialect | None, status: int, code: str, message: str) -> Response:
        return json_response(status, self._plain_body(face, status, code, message))

    def _openapi_response(self, request: Request) -> Response:
        if _answered_as(request.method) != "GET":  # in the words of the dialect answering for "/"
            response = self._plain(self._claimant(request.path), 405, "method_not_allowed", _not_allowed(request))
            response.headers.append(("Allow", "GET, HEAD"))
            return response
        if self._openapi is None:
            self._openapi = json.dumps(openapi_document(self), separators=(",", ":")).encode("utf-8")
        return Response(200, [("Content-Type", JSON_TYPE)], self._openapi)
