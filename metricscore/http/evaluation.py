"""Evaluation routes: Sequence's ``calculate`` and metricscore's documented extensions.

- ``GET /usage-metrics/{id}/calculate`` (and under ``/api``): Sequence's endpoint as its OpenAPI
  file describes it: query ``customerAliases`` (comma-separated), ``periodStart``, ``periodEnd``
  (inclusive), response ``{name, metricType, eventType, aggregationType, eventCount, value, unit,
  minEventId, maxEventId}`` (+ ``groups`` for GROUPED metrics).
- ``GET /api/projects/{project_id}/groups_types/{group_type_index}/metrics/{id}/usage/`` (extension):
  a PostHog group usage metric for ``group_key`` at ``now`` (value, previous, change, daily series).
- ``GET /console/v1/metrics/{id}/evaluate`` (extension): a Statsig metric per unit per day for
  ``date_from``..``date_to``, days starting at ``day_start_utc_offset`` (default ``-08:00``).

Each reads the scope's built-in events (``service.events``). Numbers are JSON numbers: exact
decimals become integers when whole and the nearest double otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from ..dialects.posthog.evaluation import GroupUsageResult
from ..dialects.sequence.evaluation import UsageMetricCalculation
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
    Route("sequence", "/api/usage-metrics/{id}/calculate", {"GET": _CALCULATE}),
    Route("sequence", "/usage-metrics/{id}/calculate", {"GET": _CALCULATE}),
    Route(
        "posthog",
        "/api/projects/{project_id}/groups_types/{group_type_index}/metrics/{id}/usage/",
        {"GET": _POSTHOG_USAGE},
    ),
    Route("statsig", "/console/v1/metrics/{id}/evaluate", {"GET": _STATSIG_EVALUATE}),
)
