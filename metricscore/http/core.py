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

import base64
import binascii
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode

from ..errors import (
    NON_FIELD_ERRORS,
    ErrorMessage,
    MetricscoreError,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    ValidationError,
)
from .keys import ApiKey, Keyring
from .links import LinkBase
from .ratelimit import STATSIG_LIMITS, RateLimiter, Window

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["App", "Request", "Response", "Route"]

logger = logging.getLogger("metricscore.http")

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
#: The largest request body accepted (bytes).
DEFAULT_MAX_BODY = 1024 * 1024
#: How long a verified key is trusted by one process (a revocation elsewhere applies within it).
DEFAULT_KEY_CACHE_SECONDS = 1.0
_NO_BODY = object()


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
    try:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (echoed from the request): escape it, as \udXXX
        data = json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return Response(status, [("Content-Type", JSON_TYPE), *headers], data)


# -- dialects ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """How one vendor authenticates and shows errors."""

    name: str
    render_error: Callable[[MetricscoreError], tuple[int, dict[str, Any]]]
    #: A body for errors that are not metricscore errors (no route, method not allowed).
    plain_error: Callable[[int, str, str], dict[str, Any]]
    error_headers: Callable[[MetricscoreError], dict[str, str]] = lambda error: {}


def _posthog_plain(status: int, code: str, message: str) -> dict[str, Any]:
    kind = {404: "invalid_request", 405: "invalid_request", 413: "invalid_request", 415: "invalid_request"}
    return {"type": kind.get(status, "server_error"), "code": code, "detail": message, "attr": None}


def _sequence_plain(status: int, code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"key": "", "error": message}]}


def _statsig_plain(status: int, code: str, message: str) -> dict[str, Any]:
    return {"status": status, "message": message}


def _dialects() -> dict[str, Dialect]:
    from ..dialects.posthog import render_error as posthog_error
    from ..dialects.sequence import render_error as sequence_error
    from ..dialects.statsig import error_headers as statsig_headers
    from ..dialects.statsig import render_error as statsig_error

    return {
        "posthog": Dialect("posthog", posthog_error, _posthog_plain),
        "sequence": Dialect("sequence", sequence_error, _sequence_plain),
        "statsig": Dialect("statsig", statsig_error, _statsig_plain, statsig_headers),
    }


# -- routes --------------------------------------------------------------------------------------

#: ``handler(call) -> (status, body)``; a ``None`` body is an empty response.
Handler = Callable[["Call"], tuple[int, Any]]


@dataclass(frozen=True)
class Operation:
    handler: Handler
    #: Name for the OpenAPI document (``operationId``).
    name: str
    summary: str
    status: int
    #: PostHog: the API key scope the operation needs.
    scope: str | None = None
    #: The resource whose schema documents the request body, and the mode (create/update/replace).
    body: tuple[str, str] | None = None
    #: Statsig: counts towards the mutation rate limit.
    mutation: bool = False
    #: What a success answers, for the OpenAPI document: the resource and the shape, one of
    #: ``record``, ``page`` (the resource's list envelope), ``data`` (Statsig's ``{message, data}``)
    #: or ``message`` (Statsig's ``{message}``); ``None`` with no body (a 204).
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


# -- the app -------------------------------------------------------------------------------------


class App:
    """Every seed endpoint over one store.

    :param store: the :class:`~metricscore.Store` every request reads and writes.
    :param statsig_limits: Statsig's mutation rate limit per project (``()`` turns it off).
    :param max_body: the largest request body accepted, in bytes.
    :param openapi: serve the OpenAPI 3 document at ``/openapi.json``.
    :param key_cache_seconds: how long a verified API key is trusted without reading it again
        (see :class:`~metricscore.http.keys.Keyring`); ``0`` reads it on every request.
    :param public_url: the base URL clients reach the app at (``https://api.example.com/metrics``);
        pagination links start with it. Without it they use the request's scheme, an allowed
        ``Host`` and the mount prefix (see :mod:`metricscore.http.links`).
    :param allowed_hosts: ``Host`` header values trusted in links (``*``, ``.example.com`` or exact
        names; default :data:`~metricscore.http.links.DEFAULT_ALLOWED_HOSTS`, the loopback names).
    """

    def __init__(
        self,
        store: Store,
        *,
        statsig_limits: Sequence[Window] = STATSIG_LIMITS,
        max_body: int = DEFAULT_MAX_BODY,
        openapi: bool = True,
        key_cache_seconds: float = DEFAULT_KEY_CACHE_SECONDS,
        public_url: str | None = None,
        allowed_hosts: Sequence[str] | None = None,
    ) -> None:
        from .routes import ROUTES

        self.store = store
        self.keys = Keyring(store, cache_seconds=key_cache_seconds)
        self.rate_limiter = RateLimiter(store, statsig_limits)
        self.max_body = max_body
        self.links = LinkBase(public_url, allowed_hosts)
        self.routes: tuple[Route, ...] = ROUTES
        self.serve_openapi = openapi
        self._dialects = _dialects()
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

    def link_url(self, request: Request) -> str:
        """The URL of ``request`` as links in its response show it (see :mod:`metricscore.http.links`)."""
        assert isinstance(request.query, str)
        base = self.links.absolute(request.scheme, request.header("host"), request.root_path)
        return f"{base}{request.path}{'?' + request.query if request.query else ''}"

    def link_path(self, request: Request, path: str) -> str:
        """``path`` (of this app) as a link in a response: under the public URL's path or mount prefix."""
        return f"{self.links.prefix(request.root_path)}{path}"

    def _dialect_of(self, path: Any) -> Dialect:
        try:
            for route in self.routes:
                if route.regex.match(path):
                    return self._dialects[route.dialect]
            return self._dialects[_guess_dialect(path)]
        except Exception:
            return self._dialects["posthog"]

    def _server_error(self, dialect: Dialect) -> Response:
        """A 500 in ``dialect``'s own error format (its body never echoes the request)."""
        try:
            status, body = dialect.render_error(_ServerError())
        except Exception:  # the renderer itself failed: its dialect's plain shape
            status, body = 500, dialect.plain_error(500, "error", "A server error occurred.")
        return json_response(status, body)

    def _handle(self, request: Request) -> Response:
        path = request.path
        if self.serve_openapi and path == "/openapi.json":
            return self._openapi_response(request)
        for route in self.routes:
            match = route.regex.match(path)
            if match is not None:
                break
        else:
            return self._plain(self._dialects[_guess_dialect(path)], 404, "not_found", "Not found.")
        dialect = self._dialects[route.dialect]
        operation = route.operations.get(request.method)
        if operation is None:
            allowed = ", ".join(route.operations)
            response = self._plain(dialect, 405, "method_not_allowed", f'Method "{request.method}" not allowed.')
            response.headers.append(("Allow", allowed))
            return response
        try:
            params = {name: unquote(value) for name, value in match.groupdict().items()}
            key = self._authenticate(dialect.name, request)
            self._authorize(dialect.name, operation, params, key)
            call = Call(self, request, params, key)
            if operation.body is not None:
                call.data = self._parse_body(dialect.name, request)
            status, body = operation.handler(call)
        except MetricscoreError as error:
            return self._error(dialect, error)
        except Exception:
            logger.exception("Error in %s %s", request.method, request.path)
            return self._server_error(dialect)
        return json_response(status, body)

    # -- authentication and authorisation -------------------------------------------------------

    def _authenticate(self, dialect: str, request: Request) -> ApiKey:
        if dialect == "posthog":
            header = request.header("authorization") or ""
            scheme, _, token = header.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("Authentication credentials were not provided.")
            key = self.keys.check_token("posthog", token.strip())
            if key is None:
                raise AuthenticationFailed("Personal API key found in request Authorization header is invalid.")
            return key
        if dialect == "sequence":
            header = request.header("authorization") or ""
            scheme, _, encoded = header.strip().partition(" ")
            if scheme.lower() == "basic" and encoded.strip():
                try:
                    decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError, ValueError):
                    decoded = ""
                client_id, colon, secret = decoded.partition(":")
                found = self.keys.check_credentials(client_id, secret) if colon else None
                if found is not None:
                    return found
            raise Unauthenticated("")
        sent = request.header("statsig-api-key") or ""
        key = self.keys.check_token("statsig", sent.strip())
        if key is None:
            from ..dialects.statsig.errors import BAD_KEY

            raise Unauthenticated(BAD_KEY + sent)
        return key

    def _authorize(self, dialect: str, operation: Operation, params: dict[str, str], key: ApiKey) -> None:
        if dialect == "posthog":
            if operation.scope is not None and not key.has_scope(operation.scope):
                raise PermissionDenied(f"API key missing required scope '{operation.scope}'")
            project = params.get("project_id", "")
            if not (project.isascii() and project.isdigit()) or len(project) > 18:
                raise NotFound()
            if not key.may_use_project(int(project)):
                raise PermissionDenied("You don't have access to the project.")
        elif dialect == "statsig" and operation.mutation and key.subject is not None:
            self.rate_limiter.hit(key.subject)

    # -- bodies and errors ------------------------------------------------------------------------

    def _parse_body(self, dialect: str, request: Request) -> Any:
        body = request.body
        if len(body) > self.max_body:
            raise _BodyTooLarge(self.max_body)
        content_type = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
        if dialect == "posthog" and content_type == FORM_TYPE:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise _parse_error("Form body is not valid UTF-8.") from None
            form: dict[str, Any] = {}
            for name, value in parse_qsl(text, keep_blank_values=True):
                if name in form:
                    previous = form[name]
                    form[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
                else:
                    form[name] = value
            return form
        if dialect == "posthog" and content_type not in ("", JSON_TYPE) and not content_type.endswith("+json"):
            raise _UnsupportedMediaType(content_type)
        if not body.strip():
            return {}
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as error:
            detail = str(error) if isinstance(error, ValueError) else "maximum nesting depth exceeded"
            raise _parse_error(f"JSON parse error - {detail}") from None

    def _error(self, dialect: Dialect, error: MetricscoreError) -> Response:
        if isinstance(error, _PlainError):
            return self._plain(dialect, error.http_status, error.error_code, error.message)
        status, body = dialect.render_error(error)
        headers = list(dialect.error_headers(error).items())
        if status == 401 and dialect.name == "sequence":
            headers.append(("WWW-Authenticate", 'Basic realm="metricscore"'))
        if status >= 500:
            logger.error("Server error: %r", error, exc_info=error)
        return json_response(status, body, headers)

    def _plain(self, dialect: Dialect, status: int, code: str, message: str) -> Response:
        return json_response(status, dialect.plain_error(status, code, message))

    def _openapi_response(self, request: Request) -> Response:
        if request.method != "GET":
            return json_response(405, {"detail": f'Method "{request.method}" not allowed.'}, [("Allow", "GET")])
        if self._openapi is None:
            from .openapi import openapi_document

            self._openapi = json.dumps(openapi_document(self.routes), separators=(",", ":")).encode("utf-8")
        return Response(200, [("Content-Type", JSON_TYPE)], self._openapi)


class AuthenticationFailed(Unauthenticated):
    """Credentials were sent but are not valid (DRF's AuthenticationFailed; PostHog's code)."""

    code = "authentication_failed"


class _ServerError(MetricscoreError):
    """An unexpected failure, rendered as each dialect's 500."""

    status = 500


def _parse_error(message: str) -> ValidationError:
    return ValidationError({NON_FIELD_ERRORS: [ErrorMessage(message, "parse_error")]})


class _PlainError(MetricscoreError):
    http_status = 400
    error_code = "error"


class _BodyTooLarge(_PlainError):
    http_status = 413
    error_code = "request_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body is larger than {limit} bytes.")


class _UnsupportedMediaType(_PlainError):
    http_status = 415
    error_code = "unsupported_media_type"

    def __init__(self, content_type: str) -> None:
        super().__init__(f'Unsupported media type "{content_type}" in request.')


def _guess_dialect(path: str) -> str:
    if path.startswith("/console/"):
        return "statsig"
    if path.startswith(("/usage-metrics", "/api/usage-metrics")):
        return "sequence"
    return "posthog"
