"""Statsig over HTTP: console keys (``STATSIG-API-KEY: console-...``) bound to one project, the
mutation rate limit, ``{status, message}`` errors with ``Retry-After`` on a 429, ``{message, data}``
success bodies, and the Console API's metric routes (``/console/v1/metrics``), with the
``evaluate`` extension."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from ..dialects.statsig import MetricService, Statsig
from ..dialects.statsig.errors import BAD_KEY, ERROR_SCHEMA, error_headers, render_error
from ..dialects.statsig.evaluation import MetricDay
from ..errors import MetricscoreError, Unauthenticated
from ..evaluation.inputs import DAY_SCHEMA
from .dialect import HttpDialect, evaluation_query, idempotency_key, json_numbers
from .keys import ApiKey, KeyForm
from .ratelimit import STATSIG_LIMITS, RateLimiter
from .types import Call, Operation, QueryOperation, Request, Route

if TYPE_CHECKING:
    from .core import App

__all__ = ["STATSIG_ARCHIVE_MESSAGES", "StatsigHttp", "StatsigMetricEvaluation"]

#: The messages of Statsig's published Console API spec.
STATSIG_ARCHIVE_MESSAGES = {
    "schedule_archive": "Metric archive scheduled successfully for next day.",
    "cancel_archive": "Metric archival cancelled successfully.",
    "unarchive": "Metric unarchived successfully.",
}
STATSIG = "/console/v1/metrics"
METRIC_DATA = ("statsig.metrics", "data")


class StatsigMetricEvaluation(TypedDict):
    """``GET /console/v1/metrics/{id}/evaluate``: Statsig's ``{message, data}`` around the rows."""

    message: str
    data: list[MetricDay]


def _metrics(call: Call) -> MetricService:
    namespace: Statsig = call.app.store.statsig
    # A Statsig key always has a subject (its project); "" would be refused as a blank id.
    return namespace.metrics(project_id=call.key.subject or "")


def _actor(call: Call) -> dict[str, Any]:
    return {"name": call.key.name, "id": call.key.key_id}


def _dry_run(call: Call) -> bool:
    return call.query.get("dryRun", "").lower() == "true"


def _list(call: Call) -> tuple[int, Any]:
    return 200, _metrics(call).list(**call.query).envelope(call.app.link_url(call.request))


def _create(call: Call) -> tuple[int, Any]:
    metrics = _metrics(call)
    data = metrics.create(
        call.data, actor_id=_actor(call), dry_run=_dry_run(call), idempotency_key=idempotency_key(call)
    )
    return 201, {"message": "Metric created successfully.", "data": data}


def _read(call: Call) -> tuple[int, Any]:
    return 200, {"message": "Metric read successfully.", "data": _metrics(call).get(call.params["id"])}


def _read_by_name(call: Call) -> tuple[int, Any]:
    data = _metrics(call).get_by_name(call.params["name"], call.params["type"])
    return 200, {"message": "Metric read successfully.", "data": data}


def _update(call: Call) -> tuple[int, Any]:
    data = _metrics(call).update(call.params["id"], call.data, actor_id=_actor(call), dry_run=_dry_run(call))
    return 200, {"message": "Metric updated successfully.", "data": data}


def _delete(call: Call) -> tuple[int, Any]:
    _metrics(call).delete(call.params["id"], actor_id=_actor(call))
    return 200, {"message": "Metric deleted successfully."}


def _evaluate(call: Call) -> tuple[int, Any]:
    result = _metrics(call).evaluate(call.params["id"], events=None, **evaluation_query(call))
    return 200, {"message": "Metric evaluated successfully.", "data": json_numbers(result["data"])}


def _archive(action: str) -> Operation:
    def handler(call: Call) -> tuple[int, Any]:
        data = getattr(_metrics(call), action)(call.params["id"], actor_id=_actor(call))
        return 200, {"message": STATSIG_ARCHIVE_MESSAGES[action], "data": data}

    summary = action.replace("_", " ").capitalize()
    return Operation(handler, f"metrics_{action}", f"{summary} a metric", 200, mutation=True, response=METRIC_DATA)


EVALUATE = QueryOperation(
    _evaluate,
    "metrics_evaluate",
    "Metric value per unit per day (metricscore extension)",
    200,
    answer=("StatsigMetricEvaluation", StatsigMetricEvaluation),
    query=(
        ("date_from", True, "First Statsig day (YYYY-MM-DD)"),
        ("date_to", True, "Last Statsig day, inclusive (YYYY-MM-DD)"),
        ("day_start_utc_offset", False, "UTC offset at which a day starts, e.g. -08:00 (default)"),
    ),
    parameters={"date_from": DAY_SCHEMA, "date_to": DAY_SCHEMA},
)

# ``{id}/evaluate`` and the archive actions come before ``{name}/{type}``, which would match them too.
ROUTES = (
    Route("statsig", STATSIG + "/{id}/evaluate", {"GET": EVALUATE}),
    Route(
        "statsig",
        f"{STATSIG}/list",
        {"GET": Operation(_list, "metrics_list", "List metrics", 200, response=("statsig.metrics", "page"))},
    ),
    Route(
        "statsig",
        STATSIG,
        {
            "POST": Operation(
                _create,
                "metrics_create",
                "Create a metric",
                201,
                body=("statsig.metrics", "create"),
                mutation=True,
                response=METRIC_DATA,
                idempotency_key=True,
            )
        },
    ),
    Route(
        "statsig",
        STATSIG + "/{id}",
        {
            "GET": Operation(_read, "metrics_read", "Read a metric", 200, response=METRIC_DATA),
            "POST": Operation(
                _update,
                "metrics_update",
                "Update a metric (partial)",
                200,
                body=("statsig.metrics", "update"),
                mutation=True,
                response=METRIC_DATA,
            ),
            "DELETE": Operation(
                _delete,
                "metrics_delete",
                "Delete a metric",
                200,
                mutation=True,
                response=("statsig.metrics", "message"),
            ),
        },
    ),
    *(Route("statsig", f"{STATSIG}/{{id}}/{action}", {"PUT": _archive(action)}) for action in STATSIG_ARCHIVE_MESSAGES),
    Route(
        "statsig",
        STATSIG + "/{name}/{type}",
        {
            "GET": Operation(
                _read_by_name, "metrics_read_by_name", "Read a metric by name and type", 200, response=METRIC_DATA
            )
        },
    ),
)
_MESSAGE = {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}


class StatsigHttp(HttpDialect):
    """Statsig's console keys, its per-project mutation rate limit and its ``{status, message}`` errors."""

    name = "statsig"
    prefixes = ("/console/",)
    security_scheme = ("StatsigConsoleKey", {"type": "apiKey", "in": "header", "name": "STATSIG-API-KEY"})
    error_schema = ("StatsigError", ERROR_SCHEMA)
    #: ``statsig_limits``: the mutation rate limit per project (``()`` turns it off).
    app_options = {"statsig_limits": STATSIG_LIMITS}
    key_forms = (
        KeyForm(
            "statsig",
            prefix="console-",
            header="STATSIG-API-KEY: {token}",
            subject="project_id",
            subject_length=100,
            default_name="CONSOLE API",
        ),
    )

    def __init__(self, app: App, options: Mapping[str, Any]) -> None:
        super().__init__(app, options)
        self.rate_limiter = RateLimiter(app.store, self.options["statsig_limits"], name="statsig")

    def routes(self) -> Sequence[Route]:
        return ROUTES

    def authenticate(self, request: Request) -> ApiKey:
        sent = request.header("statsig-api-key") or ""
        key = self.keys.check_token(self.key_forms[0], sent.strip())
        if key is None:
            raise Unauthenticated(BAD_KEY + sent)
        return key

    def authorize(self, operation: Operation, params: Mapping[str, str], key: ApiKey) -> None:
        if operation.mutation and key.subject is not None:
            self.rate_limiter.hit(key.subject)

    def render_error(self, error: MetricscoreError) -> tuple[int, Mapping[str, Any]]:
        return render_error(error)

    def error_headers(self, error: MetricscoreError, status: int) -> list[tuple[str, str]]:
        return list(error_headers(error).items())

    def plain_error(self, status: int, code: str, message: str) -> dict[str, Any]:
        return {"status": status, "message": message}

    def openapi_statuses(self, route: Route, method: str, operation: Operation, found: set[int]) -> set[int]:
        return found | {429} if operation.mutation else found

    def openapi_error(self, status: int, answer: dict[str, Any]) -> dict[str, Any]:
        if status == 429:
            answer["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}}
        return answer

    def openapi_operation(self, route: Route, method: str, operation: Operation, entry: dict[str, Any]) -> None:
        if operation.body is not None:
            entry.setdefault("parameters", []).append(
                {
                    "name": "dryRun",
                    "in": "query",
                    "required": False,
                    "description": "`true`: validate and answer the would-be metric; store nothing.",
                    "schema": {"type": "boolean"},
                }
            )

    def openapi_components(self) -> dict[str, dict[str, Any]]:
        return {"StatsigMessage": _MESSAGE}

    def response_schema(self, shape: str, record: dict[str, Any], page: dict[str, Any]) -> dict[str, Any]:
        if shape == "message":
            return {"$ref": "#/components/schemas/StatsigMessage"}
        if shape == "data":
            return {
                "type": "object",
                "properties": {"message": {"type": "string"}, "data": record},
                "required": ["message", "data"],
            }
        return super().response_schema(shape, record, page)
