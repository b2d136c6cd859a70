"""The HTTP face of a dialect: one base class per concern, which each vendor subclasses.

:class:`~metricscore.http.App` knows no vendor. For each request it finds the route, then asks the
route's :class:`HttpDialect` to :meth:`~HttpDialect.authenticate` the caller,
:meth:`~HttpDialect.authorize` the operation, :meth:`~HttpDialect.parse_body` and, when anything
fails, :meth:`~HttpDialect.render_error` (plus :meth:`~HttpDialect.error_headers`). The OpenAPI
document takes each dialect's security scheme, error body and extra response shapes from it. As
webargs has one core parser and one subclass per web framework, metricscore has this base and one
subclass per vendor (``metricscore.http.posthog``, ``.sequence``, ``.statsig``, or a third
party's module named by its :class:`~metricscore.dialect.Dialect` declaration).

A subclass sets :attr:`name` (its dialect's name), :attr:`security_scheme`, :attr:`error_schema`
and :attr:`prefixes`, and implements :meth:`routes`, :meth:`authenticate` and :meth:`render_error`;
everything else has a default.
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ..dialect import dialect, dialect_names
from ..errors import NON_FIELD_ERRORS, ConfigurationError, ErrorMessage, MetricscoreError, ValidationError
from ..evaluation.inputs import json_number
from .types import Call, Operation, Request, Route

if TYPE_CHECKING:
    from .core import App
    from .keys import ApiKey, KeyForm, Keyring

__all__ = [
    "BodyTooLarge",
    "HttpDialect",
    "MalformedLength",
    "NotAcceptable",
    "PlainError",
    "ServerError",
    "UnsupportedMediaType",
    "evaluation_query",
    "http_dialect_class",
    "idempotency_key",
    "installed_http_dialects",
    "json_body",
    "json_numbers",
    "parse_error",
]


class PlainError(MetricscoreError):
    """An error of the HTTP exchange itself (no route, wrong method, a body too large or of an
    unsupported type): each dialect shows it with :meth:`HttpDialect.plain_error`."""

    status = 400
    code = "error"


class BodyTooLarge(PlainError):
    status = 413
    code = "request_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body is larger than {limit} bytes.")


class MalformedLength(PlainError):
    """A ``Content-Length`` header that is not a non-negative integer: malformed HTTP."""

    status = 400
    code = "parse_error"

    def __init__(self) -> None:
        super().__init__("Content-Length is not a non-negative integer.")


class NotAcceptable(PlainError):
    """An ``Accept`` header that allows no media type the dialect answers in (406)."""

    status = 406
    code = "not_acceptable"

    def __init__(self) -> None:
        super().__init__("Could not satisfy the request Accept header.")


class UnsupportedMediaType(PlainError):
    status = 415
    code = "unsupported_media_type"

    def __init__(self, content_type: str) -> None:
        super().__init__(f'Unsupported media type "{content_type}" in request.')


@functools.cache
def _plain_class(status: int, code: str) -> type[PlainError]:
    """A :class:`PlainError` with this status and code (errors carry both on the class)."""
    return type(f"PlainError{status}", (PlainError,), {"status": status, "code": code})


class ServerError(MetricscoreError):
    """An unexpected failure, rendered as each dialect's 500."""

    status = 500


def parse_error(message: str) -> ValidationError:
    """A body that is not JSON (or not a form): a 400 coded ``parse_error``."""
    return ValidationError({NON_FIELD_ERRORS: [ErrorMessage(message, "parse_error")]})


def json_body(body: bytes) -> Any:
    """``body`` decoded as JSON (an empty body is ``{}``); a ``parse_error`` otherwise."""
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        detail = str(error) if isinstance(error, ValueError) else "maximum nesting depth exceeded"
        raise parse_error(f"JSON parse error - {detail}") from None


class HttpDialect:
    """One vendor's HTTP face, bound to an :class:`~metricscore.http.App`."""

    #: The dialect's name (as its :class:`~metricscore.dialect.Dialect` declaration has it).
    name: ClassVar[str]
    #: Paths starting with one of these get this dialect's 404 when no route matches (the longest
    #: matching prefix of every dialect wins).
    prefixes: ClassVar[tuple[str, ...]] = ()
    #: OpenAPI: ``(component name, security scheme object)``.
    security_scheme: ClassVar[tuple[str, dict[str, Any]]]
    #: OpenAPI: ``(component name, schema of its error body)``.
    error_schema: ClassVar[tuple[str, dict[str, Any]]]
    #: Keyword options of :class:`~metricscore.http.App` this dialect reads (``App(..., name=value)``),
    #: with their defaults; ``self.options`` holds the values.
    app_options: ClassVar[Mapping[str, Any]] = {}
    #: The kinds of API key it checks (:meth:`Keyring.create <metricscore.http.keys.Keyring.create>`
    #: and ``metricscore keys create <kind>`` make them).
    key_forms: ClassVar[tuple[KeyForm, ...]] = ()

    def __init__(self, app: App, options: Mapping[str, Any]) -> None:
        self.app = app
        self.options = {**self.app_options, **options}

    @property
    def keys(self) -> Keyring:
        return self.app.keys

    # -- the request -------------------------------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        """Every route this dialect serves (tried in order; put the more specific template first)."""
        raise NotImplementedError

    def negotiate(self, request: Request) -> None:
        """Refuse (:class:`NotAcceptable`) a request whose ``Accept`` header allows no answer this
        dialect gives; checked before the key, as Django REST framework negotiates first. The
        default accepts any ``Accept``, as an Express or Nest server does."""

    def authenticate(self, request: Request) -> ApiKey:
        """The caller's key, or :class:`~metricscore.errors.Unauthenticated`."""
        raise NotImplementedError

    def authorize(self, operation: Operation, params: Mapping[str, str], key: ApiKey) -> None:
        """Refuse (PermissionDenied, NotFound, RateLimited, ...) what ``key`` may not do; default: allow."""

    def parse_body(self, request: Request) -> Any:
        """The request body as data; the default reads JSON of any content type."""
        return json_body(request.body)

    # -- errors ------------------------------------------------------------------------------------

    def render_error(self, error: MetricscoreError) -> tuple[int, Mapping[str, Any]]:
        """The status and body this vendor answers ``error`` with."""
        raise NotImplementedError

    def error_headers(self, error: MetricscoreError, status: int) -> list[tuple[str, str]]:
        """Extra headers of an error response (``Retry-After``, ``WWW-Authenticate``); default none."""
        return []

    def plain_error(self, status: int, code: str, message: str) -> dict[str, Any]:
        """The body of an error of the exchange itself (404 without route, 405, 413, 415, or a 500
        when :meth:`render_error` failed); the default renders a :class:`PlainError` through it."""
        return dict(self.render_error(_plain_class(status, code)(message))[1])

    # -- the OpenAPI document ---------------------------------------------------------------------

    def openapi_statuses(self, route: Route, method: str, operation: Operation, found: set[int]) -> set[int]:
        """The error statuses ``operation`` can answer: ``found`` (the common ones) plus this
        dialect's own (e.g. 403 for scopes, 415 for content types)."""
        return found

    def openapi_error(self, status: int, answer: dict[str, Any]) -> dict[str, Any]:
        """The documented error response for ``status`` (add headers such as ``WWW-Authenticate``)."""
        return answer

    def openapi_operation(self, route: Route, method: str, operation: Operation, entry: dict[str, Any]) -> None:
        """Add this dialect's own parameters to an operation's entry (e.g. a ``dryRun`` query)."""

    def openapi_components(self) -> dict[str, dict[str, Any]]:
        """Extra schema components its response shapes refer to."""
        return {}

    def response_schema(self, shape: str, record: dict[str, Any], page: dict[str, Any]) -> dict[str, Any]:
        """The schema of a success body of ``shape`` (``Operation.response[1]``): ``record`` and
        ``page`` are known to every dialect; a dialect adds its own envelopes (Statsig's ``data``)."""
        if shape == "record":
            return record
        if shape == "page":
            return page
        raise KeyError(f"The {self.name} dialect has no response shape {shape!r}.")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def idempotency_key(call: Call) -> str | None:
    """The ``Idempotency-Key`` header: Sequence's own, an extension on PostHog's and Statsig's creates."""
    return call.request.header("idempotency-key")


def evaluation_query(call: Call) -> dict[str, str]:
    """The query parameters an evaluation route passes to ``evaluate(id, **params)``. ``events`` is
    the library's own keyword (a runner or a list of events), not a vendor parameter: a query
    parameter of that name is ignored, as every unknown one is."""
    params = call.query
    params.pop("events", None)
    return params


def json_numbers(value: Any) -> Any:
    """An evaluation result for the wire: exact decimals become integers when whole and the nearest
    double otherwise (JSON numbers)."""
    if isinstance(value, dict):
        return {k: json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_numbers(v) for v in value]
    return json_number(value)


def http_dialect_class(name: str) -> type[HttpDialect] | None:
    """The :class:`HttpDialect` subclass the dialect ``name`` declares (``None`` if it has no HTTP face)."""
    path = dialect(name).http
    if path is None:
        return None
    if isinstance(path, str):
        module_name, _, attribute = path.partition(":")
        try:
            found = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise ConfigurationError(
                f"The HTTP face {path!r} of dialect {name!r} cannot be imported: {error}"
            ) from error
    else:
        found = path
    if not (isinstance(found, type) and issubclass(found, HttpDialect)) or found.name != name:
        raise ConfigurationError(f"{path!r} (dialect {name!r}) is not an HttpDialect subclass named {name!r}.")
    return found


def installed_http_dialects(names: Sequence[str] | None = None) -> list[type[HttpDialect]]:
    """The HTTP faces of the dialects ``names`` (default: every installed dialect), in that order."""
    found = (http_dialect_class(name) for name in (dialect_names() if names is None else names))
    return [face for face in found if face is not None]
