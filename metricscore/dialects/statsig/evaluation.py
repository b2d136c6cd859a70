"""A Statsig metric per unit per day (evaluation-semantics.md section 3).

Days start at a fixed UTC offset (``day_start_utc_offset``, Statsig's default ``-08:00``, no
daylight saving); ``date_from``/``date_to`` are inclusive Statsig days. One row per unit id of each
of the metric's ``unitTypes`` and day with at least one matching event:
``{date, unitType, unitId, value, numerator, denominator}``, sorted by date, unit type, unit id.
``event_count_custom``: events; ``event_user``: 1; ``sum``: exact sum of the numeric values (0
when none); ``mean``: numerator (sum) / denominator (numeric values), ``value`` null when the
denominator is 0. ``numerator``/``denominator`` are set for ``mean`` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Required, TypedDict, cast

from ...errors import ErrorMessage, ValidationError
from ...evaluation import inputs
from ...evaluation.compile import EventsRunner, daily_plan, measures_for
from ...evaluation.inputs import Number
from ...meaning import AggregationKind, TranslationError, UnitKind, meaning_of

__all__ = ["METRIC_EVALUATION", "MetricDay", "MetricEvaluation", "MetricEvaluationParams", "MetricEvaluationResult"]

#: The keywords of ``metrics.evaluate()``: the first and last Statsig day (``YYYY-MM-DD`` or a
#: ``date``) and the days' start as a UTC offset (``"-08:00"`` by default). The functional form
#: keeps ``Required`` visible at run time under ``from __future__ import annotations``.
MetricEvaluationParams = TypedDict(  # noqa: UP013 - see above
    "MetricEvaluationParams",
    {"date_from": Required[str | date], "date_to": Required[str | date], "day_start_utc_offset": str},
    total=False,
)


class MetricDay(TypedDict):
    """One unit's value on one Statsig day; ``numerator``/``denominator`` are set for ``mean`` only."""

    date: str
    unitType: str
    unitId: str
    value: Number | None
    numerator: Number | None
    denominator: int | None


class MetricEvaluationResult(TypedDict):
    """The metric's rows, sorted by date, unit type and unit id."""

    metricID: str
    data: list[MetricDay]


DEFAULT_DAY_START = "-08:00"


class MetricEvaluation:
    def evaluate(
        self,
        record: Mapping[str, Any],
        scope: Mapping[str, Any],
        runner: EventsRunner,
        params: dict[str, Any],
        now: datetime,
    ) -> MetricEvaluationResult:
        errors: inputs.Errors = {}
        first = inputs.day(params, "date_from", errors)
        last = inputs.day(params, "date_to", errors)
        offset = inputs.utc_offset(params, "day_start_utc_offset", errors, DEFAULT_DAY_START)
        if first is not None and last is not None and last < first:
            errors["date_to"] = [ErrorMessage("date_to must not be before date_from.", "invalid")]
        if first is not None and last is not None and (last - first).days > 366:
            errors["date_to"] = [ErrorMessage("At most 367 days can be evaluated at once.", "invalid")]
        if errors or first is None or last is None:
            raise ValidationError(errors)
        try:
            meaning = meaning_of("statsig.metrics", dict(record))
        except TranslationError as error:
            raise ValidationError({"type": [ErrorMessage(f"Not evaluated: {error.message}", "unsupported")]}) from error
        if meaning.unit.kind is not UnitKind.ID_TYPE or not meaning.unit.id_types:
            raise ValidationError({"unitTypes": [ErrorMessage("The metric names no unit type.", "unsupported")]})
        measures = measures_for(meaning)
        mean = measures.kind is AggregationKind.MEAN
        out: list[MetricDay] = []
        for id_type in dict.fromkeys(meaning.unit.id_types):
            with inputs.dates_in_range("date_from", "date_to"):
                plan = daily_plan(meaning, first, last, offset, id_type)
            for day, unit_id, *values in runner.run(plan):
                assert isinstance(day, date)
                numerator, denominator = measures.mean_parts(values) if mean else (None, None)
                out.append(
                    {
                        "date": day.isoformat(),
                        "unitType": id_type,
                        "unitId": cast(str, unit_id),
                        "value": cast(Number | None, measures.value(values)),
                        "numerator": cast(Number | None, numerator),
                        "denominator": cast(int | None, denominator),
                    }
                )
        out.sort(key=lambda r: (r["date"], r["unitType"], r["unitId"]))
        return {"metricID": record["id"], "data": out}


METRIC_EVALUATION = MetricEvaluation()
