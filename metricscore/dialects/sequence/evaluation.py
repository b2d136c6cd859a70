"""``GET /usage-metrics/{id}/calculate``: a Sequence usage metric over a customer's billing period.

Semantics (evaluation-semantics.md section 1): events of the metric's ``eventType`` sent for one
of ``customerAliases`` (comma-separated, trimmed; case-sensitive), from ``periodStart`` 00:00 UTC
to the end of ``periodEnd`` (inclusive), the last received of each ``customerEventId`` only,
passing the property filters. ``eventCount`` counts those events, ``value`` is the aggregation
(exact decimals), ``minEventId``/``maxEventId`` the smallest/largest event id among them.
GROUPED metrics add the extension ``groups``: one entry per text value of ``groupingProperty``
(events without it form the group ``null``, listed last).

No ``from __future__ import annotations`` here: Python 3.11 computes a ``TypedDict``'s required keys
(``groups`` is not) from evaluated annotations only.
"""

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, NotRequired, TypedDict, cast

from ...errors import ErrorMessage, ValidationError
from ...evaluation import inputs
from ...evaluation.compile import EventsRunner, measures_for, period_plan
from ...evaluation.inputs import Number
from ...evaluation.plan import Field, Measure
from ...meaning import meaning_of
from .usage_metrics import AggregationType, MetricType

__all__ = [
    "USAGE_METRIC_EVALUATION",
    "CalculationGroup",
    "CalculationParams",
    "UsageMetricCalculation",
    "UsageMetricEvaluation",
]


class CalculationParams(TypedDict):
    """The keywords of ``usage_metrics.evaluate()``: the calculate endpoint's query parameters."""

    #: Comma-separated customer aliases, or a list of such strings.
    customerAliases: str | Sequence[str]
    #: ``YYYY-MM-DD`` (or a ``date``), UTC; the end is inclusive.
    periodStart: str | date
    periodEnd: str | date
    #: Binds a CUSTOM metric's parameters: accepted and ignored (metricscore stores none).
    customParameters: NotRequired[object]


class CalculationGroup(TypedDict):
    """One ``groupingProperty`` value of a GROUPED metric (``None``: the events without it)."""

    group: str | None
    eventCount: int
    value: Number | None


class UsageMetricCalculation(TypedDict):
    """The calculate endpoint's answer; ``minEventId``/``maxEventId`` are null with no events."""

    name: str
    metricType: MetricType
    eventType: str
    aggregationType: AggregationType
    eventCount: int
    value: Number | None
    unit: str | None
    minEventId: str | None
    maxEventId: str | None
    #: GROUPED metrics only (an extension).
    groups: NotRequired[list[CalculationGroup]]


_IDS = (Measure("min_text", Field("id")), Measure("max_text", Field("id")))


class UsageMetricEvaluation:
    """The calculate endpoint's semantics and response shape."""

    def evaluate(
        self,
        record: Mapping[str, Any],
        scope: Mapping[str, Any],
        runner: EventsRunner,
        params: dict[str, Any],
        now: datetime,
    ) -> UsageMetricCalculation:
        # ``customParameters`` binds the typed parameters of a CUSTOM metric's SQL; metricscore stores
        # COUNT / SUM / UNIQUE metrics only, which have none, so it is accepted and ignored (as
        # Sequence can only ignore it for those: docs/evaluation.md).
        errors: inputs.Errors = {}
        customers = inputs.aliases(params, "customerAliases", errors)
        start = inputs.day(params, "periodStart", errors)
        end = inputs.day(params, "periodEnd", errors)
        if start is not None and end is not None and end < start:
            errors["periodEnd"] = [ErrorMessage("periodEnd must not be before periodStart.", "invalid")]
        if errors or start is None or end is None:
            raise ValidationError(errors)
        meaning = meaning_of("sequence.usage_metrics", dict(record))
        measures = measures_for(meaning)
        with inputs.dates_in_range("periodStart", "periodEnd"):
            plan = period_plan(meaning, start, end, customers=customers, extra=_IDS)
        [row] = runner.run(plan)
        size = len(measures.measures)
        result: UsageMetricCalculation = {
            "name": record["name"],
            "metricType": record["metricType"],
            "eventType": record["eventType"],
            "aggregationType": record["aggregationType"],
            "eventCount": cast(int, row[0]),
            "value": cast(Number | None, measures.value(row)),
            "unit": record.get("unit"),
            "minEventId": cast(str | None, row[size]),
            "maxEventId": cast(str | None, row[size + 1]),
        }
        if meaning.group_by is not None:
            rows = runner.run(period_plan(meaning, start, end, customers=customers, grouped=True))
            result["groups"] = [
                {
                    "group": cast(str | None, group_row[0]),
                    "eventCount": cast(int, group_row[1]),
                    "value": cast(Number | None, measures.value(group_row[1:])),
                }
                for group_row in rows
            ]
        return result


USAGE_METRIC_EVALUATION = UsageMetricEvaluation()
