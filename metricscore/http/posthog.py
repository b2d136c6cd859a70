"""PostHog over HTTP: personal API keys (``Authorization: Bearer phx_...``) with scopes and
projects, JSON or form bodies, DRF-style ``{type, code, detail, attr}`` errors, and the routes of
accounts and group usage metrics (``/api/environments/{project_id}/...`` and ``/api/projects/...``),
with the group usage metric's ``usage/`` extension."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from ..dialects.posthog import AccountsService, GroupUsageMetricsService, PostHog
from ..dialects.posthog.errors import ERROR_SCHEMA, render_error
from ..dialects.posthog.evaluation import GroupUsageResult
from ..errors import MetricscoreError, NotFound, PermissionDenied, Unauthenticated, ValidationError
from .dialect import (
    HttpDialect,
    NotAcceptable,
    UnsupportedMediaType,
    evaluation_query,
    idempotency_key,
    json_body,
    json_numbers,
    parse_error,
)
from .keys import ApiKey, KeyForm
from .types import JSON_TYPE, Call, Operation, QueryOperation, Request, Route

if TYPE_CHECKING:
    from .core import App

__all__ = ["POSTHOG_SCOPES", "AuthenticationFailed", "PostHogHttp"]

FORM_TYPE = "application/x-www-form-urlencoded"
#: The PostHog scopes the reference server checks; ``*`` grants all of them.
POSTHOG_SCOPES = ("account:read", "account:write", "usage_metric:read", "usage_metric:write")
_PLAIN_TYPES = {status: "invalid_request" for status in (400, 404, 405, 406, 413, 414, 415, 431)}
#: The media ranges that admit PostHog's one renderer, DRF's JSONRenderer (``application/json``;
#: a range's parameters, ``q`` included, do not matter to DRF's negotiation, and a bare ``*`` is no range).
_JSON_RANGES = frozenset({"*/*", "application/*", JSON_TYPE})


class AuthenticationFailed(Unauthenticated):
    """Credentials were sent but are not valid (DRF's AuthenticationFailed; PostHog's code)."""

    code = "authentication_failed"


def _posthog(call: Call) -> PostHog:
    namespace: PostHog = call.app.store.posthog
    return namespace


def _accounts(call: Call) -> AccountsService:
    try:
        return _posthog(call).accounts(project_id=int(call.params["project_id"]))
    except ValidationError:
        raise NotFound() from None


def _group_metrics(call: Call) -> GroupUsageMetricsService:
    index = call.params["group_type_index"]
    if not (index.isascii() and index.isdigit()) or len(index) > 9:
        raise NotFound()
    try:
        return _posthog(call).group_usage_metrics(
            project_id=int(call.params["project_id"]), group_type_index=int(index)
        )
    except ValidationError:
        raise NotFound() from None


def _collection(service: Any, resource: str, label: str, scope: str) -> dict[str, Operation]:
    """List + create on a collection."""

    def list_(call: Call) -> tuple[int, Any]:
        page = service(call).list(**call.query)
        return 200, page.envelope(call.app.link_url(call.request))

    def create(call: Call) -> tuple[int, Any]:
        created = service(call).create(call.data, actor_id=call.key.user_id, idempotency_key=idempotency_key(call))
        return 201, created

    return {
        "GET": Operation(list_, f"{label}_list", f"List {label}", 200, f"{scope}:read", response=(resource, "page")),
        "POST": Operation(
            create,
            f"{label}_create",
            f"Create {label}",
            201,
            f"{scope}:write",
            (resource, "create"),
            response=(resource, "record"),
            idempotency_key=True,
        ),
    }


def _item(service: Any, resource: str, label: str, scope: str) -> dict[str, Operation]:
    """Retrieve / PATCH / PUT / DELETE on an item."""
    read, write = f"{scope}:read", f"{scope}:write"

    def retrieve(call: Call) -> tuple[int, Any]:
        return 200, service(call).get(call.params["id"])

    def update(call: Call) -> tuple[int, Any]:
        return 200, service(call).update(call.params["id"], call.data, actor_id=call.key.user_id)

    def replace(call: Call) -> tuple[int, Any]:
        return 200, service(call).replace(call.params["id"], call.data, actor_id=call.key.user_id)

    def destroy(call: Call) -> tuple[int, Any]:
        service(call).delete(call.params["id"], actor_id=call.key.user_id)
        return 204, None

    record = (resource, "record")
    return {
        "GET": Operation(retrieve, f"{label}_retrieve", f"Retrieve {label}", 200, read, response=record),
        "PATCH": Operation(
            update, f"{label}_partial_update", f"Update {label}", 200, write, (resource, "update"), response=record
        ),
        "PUT": Operation(
            replace, f"{label}_update", f"Replace {label}", 200, write, (resource, "replace"), response=record
        ),
        "DELETE": Operation(destroy, f"{label}_destroy", f"Delete {label}", 204, write),
    }


def _usage(call: Call) -> tuple[int, Any]:
    return 200, json_numbers(_group_metrics(call).evaluate(call.params["id"], events=None, **evaluation_query(call)))


_USAGE = QueryOperation(
    _usage,
    "group_usage_metrics_usage",
    "Usage of a group usage metric for one group (metricscore extension)",
    200,
    scope="usage_metric:read",
    answer=("PostHogGroupUsage", GroupUsageResult),
    query=(
        ("group_key", True, "The group's key ($group_N of the metric's group type)"),
        ("now", False, "ISO 8601 instant ending the interval (default: now)"),
    ),
)
_METRICS = "/api/projects/{project_id}/groups_types/{group_type_index}/metrics/"


def _routes() -> tuple[Route, ...]:
    routes = [Route("posthog", _METRICS + "{id}/usage/", {"GET": _USAGE})]
    for root in ("/api/environments/{project_id}", "/api/projects/{project_id}"):
        routes.append(
            Route("posthog", f"{root}/accounts/", _collection(_accounts, "posthog.accounts", "accounts", "account"))
        )
        routes.append(
            Route("posthog", f"{root}/accounts/{{id}}/", _item(_accounts, "posthog.accounts", "accounts", "account"))
        )
    metrics = ("posthog.group_usage_metrics", "group_usage_metrics", "usage_metric")
    routes.append(Route("posthog", _METRICS, _collection(_group_metrics, *metrics)))
    routes.append(Route("posthog", _METRICS + "{id}/", _item(_group_metrics, *metrics)))
    return tuple(routes)


ROUTES = _routes()


class PostHogHttp(HttpDialect):
    """PostHog's personal API keys, scopes and projects, JSON and form bodies, and DRF's errors."""

    name = "posthog"
    #: Every path no other dialect claims gets PostHog's 404 (as a DRF server answers).
    prefixes = ("/",)
    security_scheme = ("PostHogPersonalAPIKey", {"type": "http", "scheme": "bearer"})
    error_schema = ("PostHogError", ERROR_SCHEMA)
    key_forms = (
        KeyForm(
            "posthog",
            prefix="phx_",
            header="Authorization: Bearer {token}",
            scopes=POSTHOG_SCOPES,
            projects=True,
            user_id=True,
        ),
    )

    def __init__(self, app: App, options: Mapping[str, Any]) -> None:
        super().__init__(app, options)
        self._form = self.key_forms[0]

    def routes(self) -> Sequence[Route]:
        return ROUTES

    def negotiate(self, request: Request) -> None:
        """DRF's content negotiation: an ``Accept`` header none of whose media ranges admits JSON
        (``text/html``, ``application/xml``) is a 406, before the key is looked at."""
        accept = (request.header("accept") or "").strip()
        if not accept:
            return
        ranges = {part.split(";", 1)[0].strip().lower() for part in accept.split(",")}
        if not ranges & _JSON_RANGES:
            raise NotAcceptable()

    def authenticate(self, request: Request) -> ApiKey:
        header = request.header("authorization") or ""
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Authentication credentials were not provided.")
        key = self.keys.check_token(self._form, token.strip())
        if key is None:
            raise AuthenticationFailed("Personal API key found in request Authorization header is invalid.")
        return key

    def authorize(self, operation: Operation, params: Mapping[str, str], key: ApiKey) -> None:
        if operation.scope is not None and not key.has_scope(operation.scope):
            raise PermissionDenied(f"API key missing required scope '{operation.scope}'")
        project = params.get("project_id", "")
        if not (project.isascii() and project.isdigit()) or len(project) > 18:
            raise NotFound()
        if not key.may_use_project(int(project)):
            raise PermissionDenied("You don't have access to the project.")

    def parse_body(self, request: Request) -> Any:
        """JSON (``application/json``, ``*+json`` or no type) or a form; any other type is a 415."""
        content_type = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
        if content_type == FORM_TYPE:
            try:
                text = request.body.decode("utf-8")
            except UnicodeDecodeError:
                raise parse_error("Form body is not valid UTF-8.") from None
            form: dict[str, Any] = {}
            for name, value in parse_qsl(text, keep_blank_values=True):
                if name in form:
                    previous = form[name]
                    form[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
                else:
                    form[name] = value
            return form
        if content_type not in ("", JSON_TYPE) and not content_type.endswith("+json"):
            raise UnsupportedMediaType(content_type)
        return json_body(request.body)

    def render_error(self, error: MetricscoreError) -> tuple[int, Mapping[str, Any]]:
        return render_error(error)

    def plain_error(self, status: int, code: str, message: str) -> dict[str, Any]:
        return {"type": _PLAIN_TYPES.get(status, "server_error"), "code": code, "detail": message, "attr": None}

    def openapi_statuses(self, route: Route, method: str, operation: Operation, found: set[int]) -> set[int]:
        # scopes and projects; a project id that is no number; an Accept without JSON; storage down
        found = found | {403, 404, 406, 503}
        if method == "DELETE":
            found.discard(409)
        if operation.body is not None:
            found.add(415)  # JSON and form bodies only
        return found
