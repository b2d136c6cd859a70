"""The route table: every seed endpoint, its handler, its status code and (PostHog) its scope."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..dialects.posthog import AccountRecord, GroupUsageMetricRecord
from ..dialects.sequence import CursorPage, UsageMetricRecord
from ..dialects.statsig import MetricService
from ..errors import NotFound, ValidationError
from ..pagination import OffsetPage
from ..service import EvaluatingService, IdempotentService
from .core import Call, Operation, Route
from .evaluation import EVALUATION_ROUTES

if TYPE_CHECKING:
    from ..dialects.posthog.evaluation import GroupUsageResult
    from ..dialects.sequence.evaluation import UsageMetricCalculation

__all__ = ["ROUTES", "STATSIG_ARCHIVE_MESSAGES"]


def _idempotency_key(call: Call) -> str | None:
    """The ``Idempotency-Key`` header: Sequence's own, an extension on PostHog's and Statsig's creates."""
    return call.request.header("idempotency-key")


# -- PostHog -------------------------------------------------------------------------------------


def _accounts(call: Call) -> IdempotentService[AccountRecord, OffsetPage[AccountRecord]]:
    try:
        return call.app.store.posthog.accounts(project_id=int(call.params["project_id"]))
    except ValidationError:
        raise NotFound() from None


def _group_metrics(
    call: Call,
) -> EvaluatingService[GroupUsageMetricRecord, OffsetPage[GroupUsageMetricRecord], GroupUsageResult]:
    index = call.params["group_type_index"]
    if not (index.isascii() and index.isdigit()) or len(index) > 9:
        raise NotFound()
    try:
        return call.app.store.posthog.group_usage_metrics(
            project_id=int(call.params["project_id"]), group_type_index=int(index)
        )
    except ValidationError:
        raise NotFound() from None


def _posthog_operations(service: Any, label: str, scope: str, item: bool) -> dict[str, Operation]:
    """List + create on the collection, or retrieve / PATCH / PUT / DELETE on an item."""
    read, write = f"{scope}:read", f"{scope}:write"
    resource = "posthog.accounts" if label == "accounts" else "posthog.group_usage_metrics"
    if not item:

        def list_(call: Call) -> tuple[int, Any]:
            page = service(call).list(**call.query)
            return 200, page.envelope(call.app.link_url(call.request))

        def create(call: Call) -> tuple[int, Any]:
            created = service(call).create(call.data, actor_id=call.key.user_id, idempotency_key=_idempotency_key(call))
            return 201, created

        return {
            "GET": Operation(list_, f"{label}_list", f"List {label}", 200, read, response=(resource, "page")),
            "POST": Operation(
                create,
                f"{label}_create",
                f"Create {label}",
                201,
                write,
                (resource, "create"),
                response=(resource, "record"),
                idempotency_key=True,
            ),
        }

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


# -- Sequence ------------------------------------------------------------------------------------


def _usage_metrics(
    call: Call,
) -> EvaluatingService[UsageMetricRecord, CursorPage[UsageMetricRecord], UsageMetricCalculation]:
    # A Sequence key always has a subject (its account); "" would be refused as a blank id.
    return call.app.store.sequence.usage_metrics(account_id=call.key.subject or "")


def _sequence_list(call: Call) -> tuple[int, Any]:
    return 200, _usage_metrics(call).list(**call.query).envelope(call.app.link_url(call.request))


def _sequence_create(call: Call) -> tuple[int, Any]:
    return 201, _usage_metrics(call).create(call.data, idempotency_key=_idempotency_key(call))


def _sequence_get(call: Call) -> tuple[int, Any]:
    return 200, _usage_metrics(call).get(call.params["id"])


def _sequence_replace(call: Call) -> tuple[int, Any]:
    return 200, _usage_metrics(call).replace(call.params["id"], call.data, idempotency_key=_idempotency_key(call))


def _sequence_delete(call: Call) -> tuple[int, Any]:
    return 200, _usage_metrics(call).delete(call.params["id"], idempotency_key=_idempotency_key(call))


USAGE_METRIC = ("sequence.usage_metrics", "record")
SEQUENCE_COLLECTION = {
    "GET": Operation(
        _sequence_list, "usage_metrics_list", "List usage metrics", 200, response=("sequence.usage_metrics", "page")
    ),
    "POST": Operation(
        _sequence_create,
        "usage_metrics_create",
        "Create a usage metric",
        201,
        body=("sequence.usage_metrics", "create"),
        response=USAGE_METRIC,
        idempotency_key=True,
    ),
}
SEQUENCE_ITEM = {
    "GET": Operation(_sequence_get, "usage_metrics_get", "Get a usage metric", 200, response=USAGE_METRIC),
    "PUT": Operation(
        _sequence_replace,
        "usage_metrics_update",
        "Update a usage metric",
        200,
        body=("sequence.usage_metrics", "replace"),
        response=USAGE_METRIC,
        idempotency_key=True,
    ),
    "DELETE": Operation(
        _sequence_delete,
        "usage_metrics_delete",
        "Delete a usage metric",
        200,
        response=USAGE_METRIC,
        idempotency_key=True,
    ),
}

# -- Statsig -------------------------------------------------------------------------------------

#: The messages of Statsig's published Console API spec.
STATSIG_ARCHIVE_MESSAGES = {
    "schedule_archive": "Metric archive scheduled successfully for next day.",
    "cancel_archive": "Metric archival cancelled successfully.",
    "unarchive": "Metric unarchived successfully.",
}


def _metrics(call: Call) -> MetricService:
    # A Statsig key always has a subject (its project); "" would be refused as a blank id.
    return call.app.store.statsig.metrics(project_id=call.key.subject or "")


def _actor(call: Call) -> dict[str, Any]:
    return {"name": call.key.name, "id": call.key.key_id}


def _dry_run(call: Call) -> bool:
    return call.query.get("dryRun", "").lower() == "true"


def _statsig_list(call: Call) -> tuple[int, Any]:
    return 200, _metrics(call).list(**call.query).envelope(call.app.link_url(call.request))


def _statsig_create(call: Call) -> tuple[int, Any]:
    metrics = _metrics(call)
    data = metrics.create(
        call.data, actor_id=_actor(call), dry_run=_dry_run(call), idempotency_key=_idempotency_key(call)
    )
    return 201, {"message": "Metric created successfully.", "data": data}


def _statsig_read(call: Call) -> tuple[int, Any]:
    return 200, {"message": "Metric read successfully.", "data": _metrics(call).get(call.params["id"])}


def _statsig_read_by_name(call: Call) -> tuple[int, Any]:
    data = _metrics(call).get_by_name(call.params["name"], call.params["type"])
    return 200, {"message": "Metric read successfully.", "data": data}


def _statsig_update(call: Call) -> tuple[int, Any]:
    data = _metrics(call).update(call.params["id"], call.data, actor_id=_actor(call), dry_run=_dry_run(call))
    return 200, {"message": "Metric updated successfully.", "data": data}


def _statsig_delete(call: Call) -> tuple[int, Any]:
    _metrics(call).delete(call.params["id"], actor_id=_actor(call))
    return 200, {"message": "Metric deleted successfully."}


def _statsig_archive(action: str) -> Operation:
    def handler(call: Call) -> tuple[int, Any]:
        data = getattr(_metrics(call), action)(call.params["id"], actor_id=_actor(call))
        return 200, {"message": STATSIG_ARCHIVE_MESSAGES[action], "data": data}

    summary = action.replace("_", " ").capitalize()
    return Operation(handler, f"metrics_{action}", f"{summary} a metric", 200, mutation=True, response=METRIC_DATA)


STATSIG = "/console/v1/metrics"
METRIC_DATA = ("statsig.metrics", "data")

# -- the table -------------------------------------------------------------------------------------


def _routes() -> tuple[Route, ...]:
    routes: list[Route] = []
    for root in ("/api/environments/{project_id}", "/api/projects/{project_id}"):
        routes.append(
            Route("posthog", f"{root}/accounts/", _posthog_operations(_accounts, "accounts", "account", False))
        )
        routes.append(
            Route("posthog", f"{root}/accounts/{{id}}/", _posthog_operations(_accounts, "accounts", "account", True))
        )
    metrics_root = "/api/projects/{project_id}/groups_types/{group_type_index}/metrics/"
    routes.append(
        Route(
            "posthog", metrics_root, _posthog_operations(_group_metrics, "group_usage_metrics", "usage_metric", False)
        )
    )
    routes.append(
        Route(
            "posthog",
            metrics_root + "{id}/",
            _posthog_operations(_group_metrics, "group_usage_metrics", "usage_metric", True),
        )
    )
    for root in ("/api/usage-metrics", "/usage-metrics"):
        routes.append(Route("sequence", root, SEQUENCE_COLLECTION))
        routes.append(Route("sequence", root + "/{id}", SEQUENCE_ITEM))
    routes.append(
        Route(
            "statsig",
            f"{STATSIG}/list",
            {
                "GET": Operation(
                    _statsig_list, "metrics_list", "List metrics", 200, response=("statsig.metrics", "page")
                )
            },
        )
    )
    routes.append(
        Route(
            "statsig",
            STATSIG,
            {
                "POST": Operation(
                    _statsig_create,
                    "metrics_create",
                    "Create a metric",
                    201,
                    body=("statsig.metrics", "create"),
                    mutation=True,
                    response=METRIC_DATA,
                    idempotency_key=True,
                )
            },
        )
    )
    routes.append(
        Route(
            "statsig",
            STATSIG + "/{id}",
            {
                "GET": Operation(_statsig_read, "metrics_read", "Read a metric", 200, response=METRIC_DATA),
                "POST": Operation(
                    _statsig_update,
                    "metrics_update",
                    "Update a metric (partial)",
                    200,
                    body=("statsig.metrics", "update"),
                    mutation=True,
                    response=METRIC_DATA,
                ),
                "DELETE": Operation(
                    _statsig_delete,
                    "metrics_delete",
                    "Delete a metric",
                    200,
                    mutation=True,
                    response=("statsig.metrics", "message"),
                ),
            },
        )
    )
    for action in STATSIG_ARCHIVE_MESSAGES:
        routes.append(Route("statsig", f"{STATSIG}/{{id}}/{action}", {"PUT": _statsig_archive(action)}))
    routes.append(
        Route(
            "statsig",
            STATSIG + "/{name}/{type}",
            {
                "GET": Operation(
                    _statsig_read_by_name,
                    "metrics_read_by_name",
                    "Read a metric by name and type",
                    200,
                    response=METRIC_DATA,
                )
            },
        )
    )
    return tuple(routes)


# Evaluation routes first: ``/console/v1/metrics/{id}/evaluate`` would also match ``{name}/{type}``.
ROUTES = (*EVALUATION_ROUTES, *_routes())
