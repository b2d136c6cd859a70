"""Evaluation routes: Sequence's ``calculate`` and metricscore's documented extensions.

- ``GET /usage-metrics/{id}/calculate`` (and under ``/api``): Sequence's endpoint as its OpenAPI
  file describes it: query ``customerAliases`` (comma-separated), ``periodStart``, ``periodEnd``
  (inclusive), response ``{name, metricType, eventType, aggregationType, eventCount, value, unit,
  minEventId, maxEventId}`` (+ ``groups`` for GROUPED metrics).
- ``GET /api/projects/{project_id}/groups_types/{group_type_index}/metrics/{id}/usage/`` (extension):
  a PostHog group usage metric for ``group_key`` at ``now`` (value, previous, change, daily series).
- ``GET /console/v1/metrics/{id}/evaluate`` (extension): a Statsig metric per unit per day for
  ``date_from``..``date_to``, days starting at ``day_start_utc_offset`` (default ``-08:00``).
- ``POST /usage-events`` and ``GET /usage-events`` (and under ``/api``): Sequence's ingestion and
  listing of usage events (:mod:`metricscore.dialects.sequence.usage_events`), into and from the
  account's built-in events.

Each reads the scope's built-in events (``service.events``). Numbers are JSON numbers: exact
decimals become integers when whole and the nearest double otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Required, TypedDict
from urllib.parse import parse_qsl

from ..dialects.posthog.evaluation import GroupUsageResult
from ..dialects.sequence.evaluation import UsageMetricCalculation
from ..dialects.sequence.usage_events import PAGINATION, USAGE_EVENT_PARAMETERS, UsageEventRecord
from ..dialects.statsig.evaluation import MetricDay
from ..evaluation.inputs import json_number
from .core import Call, Operation, Route

__all__ = ["EVALUATION_ROUTES", "QueryOperation", "StatsigMetricEvaluation"]


@dataclass(frozen=True)
class QueryOperation(Operation):
    """An operation documented with its query parameters: ``(name, required, description)``, and
    its success body: ``(OpenAPI component name, the TypedDict or union of them it answers)``."""

    query: tuple[tuple[str, bool, str], ...] = ()
    answer: tuple[str, Any] | None = None
    #: Further optional query parameters with their own schemas (name -> OpenAPI schema).
    parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: A JSON request body the handler reads itself: ``(OpenAPI component name, its TypedDict)``.
    request: tuple[str, Any] | None = None


class StatsigMetricEvaluation(TypedDict):
    """``GET /console/v1/metrics/{id}/evaluate``: Statsig's ``{message, data}`` around the rows."""

    message: str
    data: list[MetricDay]


def _json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return json_number(value)


def _calculate(call: Call) -> tuple[int, Any]:
    from .routes import _usage_metrics

    return 200, _json(_usage_metrics(call).evaluate(call.params["id"], **call.query))


def _posthog_usage(call: Call) -> tuple[int, Any]:
    from .routes import _group_metrics

    return 200, _json(_group_metrics(call).evaluate(call.params["id"], **call.query))


def _statsig_evaluate(call: Call) -> tuple[int, Any]:
    from .routes import _metrics

    result = _metrics(call).evaluate(call.params["id"], **call.query)
    return 200, {"message": "Metric evaluated successfully.", "data": _json(result["data"])}


#: ``POST /usage-events``: Sequence's ``CreateUsageEventEndpointCreateUsageEventRequestModel``
#: (``eventTimestamp``: ISO 8601, default now; ``customerEventId``: another event with the same one
#: supersedes this one; ``eventProperties``: a flat object). The functional form keeps ``Required``
#: visible at run time under ``from __future__ import annotations``.
UsageEventInput = TypedDict(  # noqa: UP013 - see above
    "UsageEventInput",
    {
        "eventType": Required[str],
        "customerAlias": Required[str],
        "eventTimestamp": str | None,
        "customerEventId": str | None,
        "eventProperties": dict[str, str | float | bool | None] | None,
    },
    total=False,
)


class UsageEventPagination(TypedDict):
    after: str | None
    before: str | None
    totalResultSize: int


class UsageEventPage(TypedDict):
    """``GET /usage-events``: Sequence's cursor envelope around the events."""

    items: list[UsageEventRecord]
    pagination: UsageEventPagination


def _usage_events_create(call: Call) -> tuple[int, Any]:
    data = call.app._parse_body("sequence", call.request)
    events = call.app.store.sequence.usage_events(account_id=call.key.subject or "")
    return 201, events.create(data, idempotency_key=call.request.header("idempotency-key"))


def _usage_events_list(call: Call) -> tuple[int, Any]:
    assert isinstance(call.request.query, str)
    params: dict[str, Any] = {}
    for name, value in parse_qsl(call.request.query, keep_blank_values=True):
        if name in ("customerAlias[]", "customerAlias"):
            params.setdefault(name, []).append(value)
        else:
            params[name] = value
    events = call.app.store.sequence.usage_events(account_id=call.key.subject or "")
    return 200, events.list(**params).envelope()


_USAGE_EVENTS = {
    "GET": QueryOperation(
        _usage_events_list,
        "usage_events_list",
        "List usage events",
        200,
        answer=("SequenceUsageEventPage", UsageEventPage),
        parameters={**USAGE_EVENT_PARAMETERS, **PAGINATION.parameters()},
    ),
    "POST": QueryOperation(
        _usage_events_create,
        "usage_events_create",
        "Create a usage event",
        201,
        idempotency_key=True,
        answer=("SequenceUsageEvent", UsageEventRecord),
        request=("SequenceUsageEventInput", UsageEventInput),
    ),
}
_CALCULATE = QueryOperation(
    _calculate,
    "usage_metrics_calculate",
    "Calculate usage metric for customer and timeframe",
    200,
    answer=("SequenceUsageMetricCalculation", UsageMetricCalculation),
    query=(
        ("customerAliases", True, "Customer Aliases / internal IDs (comma-separated)"),
        ("periodStart", True, "Billing period start (YYYY-MM-DD, UTC)"),
        ("periodEnd", True, "Billing period end (inclusive, YYYY-MM-DD, UTC)"),
        ("customParameters", False, "Custom parameter values: read by CUSTOM metrics only, so ignored here"),
    ),
)
_POSTHOG_USAGE = QueryOperation(
    _posthog_usage,
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
_STATSIG_EVALUATE = QueryOperation(
    _statsig_evaluate,
    "metrics_evaluate",
    "Metric value per unit per day (metricscore extension)",
    200,
    answer=("StatsigMetricEvaluation", StatsigMetricEvaluation),
    query=(
        ("date_from", True, "First Statsig day (YYYY-MM-DD)"),
        ("date_to", True, "Last Statsig day, inclusive (YYYY-MM-DD)"),
        ("day_start_utc_offset", False, "UTC offset at which a day starts, e.g. -08:00 (default)"),
    ),
)

EVALUATION_ROUTES: tuple[Route, ...] = (
    Route("sequence", "/api/usage-events", _USAGE_EVENTS),
    Route("sequence", "/usage-events", _USAGE_EVENTS),
    Route("sequence", "/api/usage-metrics/{id}/calculate", {"GET": _CALCULATE}),
    Route("sequence", "/usage-metrics/{id}/calculate", {"GET": _CALCULATE}),
    Route(
        "posthog",
        "/api/projects/{project_id}/groups_types/{group_type_index}/metrics/{id}/usage/",
        {"GET": _POSTHOG_USAGE},
    ),
    Route("statsig", "/console/v1/metrics/{id}/evaluate", {"GET": _STATSIG_EVALUATE}),
)
