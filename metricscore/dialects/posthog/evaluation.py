"""A PostHog group usage metric for one group: value over the interval, previous interval, change,
daily series (``UsageMetricsQueryRunner``, evaluation-semantics.md section 2).

``now`` (default: the store's clock) ends the current window ``[now - interval days, now]``
(both ends inclusive); the previous window is ``[now - 2 * interval days, now - interval days)``.
Days are UTC dates; the current and the previous series each list every date they touch (the
first and last ones partial), missing days are 0.0. ``value`` and ``previous`` are the sums of the
daily values; ``change_from_previous_pct`` is null unless ``previous`` is positive. A metric that
would read every event, or a ``sum`` without ``math_property``, is not computed: the answer is
``{"id", "name", "skipped": true, "reason"}`` as PostHog leaves such metrics out. Values are
floats: each day's exact decimal sum rounded once to the nearest double (not PostHog's
order-dependent Float64 sum).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Required, TypedDict

from ...errors import ErrorMessage, ValidationError
from ...evaluation import inputs
from ...evaluation.compile import EventsRunner, measures_for, trailing_plan
from ...evaluation.reference import day_range
from ...jsonvalue import absent
from ...meaning import meaning_of
from .group_usage_metrics import Display, Format

__all__ = [
    "GROUP_USAGE_METRIC_EVALUATION",
    "GroupUsage",
    "GroupUsageMetricEvaluation",
    "GroupUsageParams",
    "GroupUsageResult",
    "SkippedGroupUsage",
]


class GroupUsage(TypedDict):
    """A group usage metric's usage for one group: the current and the previous window."""

    id: str
    name: str
    format: Format
    display: Display
    interval: int
    value: float
    previous: float
    change_from_previous_pct: float | None
    #: Daily values of the current window (``display: sparkline`` only, else null).
    timeseries: list[float] | None
    timeseries_labels: list[str] | None


class SkippedGroupUsage(TypedDict):
    """A metric PostHog leaves out (``skipped`` is always true)."""

    id: str
    name: str
    skipped: bool
    reason: str


#: What ``evaluate`` answers: tell the two apart by ``"skipped" in result``.
GroupUsageResult = GroupUsage | SkippedGroupUsage

#: The keywords of ``group_usage_metrics.evaluate()``: ``group_key`` (the group's ``$group_N``)
#: and ``now``, an ISO 8601 instant (or an aware ``datetime``) ending the interval. The functional
#: form keeps ``Required`` visible at run time under ``from __future__ import annotations``.
GroupUsageParams = TypedDict(  # noqa: UP013 - see above
    "GroupUsageParams", {"group_key": Required[str], "now": str | datetime}, total=False
)


def _skipped(record: Mapping[str, Any], reason: str) -> SkippedGroupUsage:
    return {"id": record["id"], "name": record["name"], "skipped": True, "reason": reason}


class GroupUsageMetricEvaluation:
    def evaluate(
        self,
        record: Mapping[str, Any],
        scope: Mapping[str, Any],
        runner: EventsRunner,
        params: dict[str, Any],
        now: datetime,
    ) -> GroupUsageResult:
        errors: inputs.Errors = {}
        group_key = inputs.text(params, "group_key", errors)
        now = inputs.instant(params, "now", errors, now)
        if errors or group_key is None:
            raise ValidationError(errors)
        filters = record.get("filters") or {}
        if filters.get("source") == "data_warehouse":
            message = "Data-warehouse metrics read a warehouse table, not events: they are not evaluated."
            raise ValidationError({"filters": [ErrorMessage(message, "unsupported")]})
        if record.get("math") == "sum" and not (record.get("math_property") or "").strip():
            return _skipped(record, "A sum without math_property is not computed.")
        meaning = meaning_of("posthog.group_usage_metrics", dict(record))
        if meaning.events.reads_everything:
            return _skipped(record, "Events metrics with no real filter would scan all events; they are skipped.")
        days = int(record["interval"])
        measures = measures_for(meaning)
        with inputs.dates_in_range(*([] if absent(params.get("now")) else ["now"]), "interval"):
            plan = trailing_plan(meaning, now, days, (int(scope["group_type_index"]), group_key))
        rows = runner.run(plan)
        date_from = now - timedelta(days=days)
        current_dates = day_range(date_from.date(), now.date())
        previous_dates = day_range((now - timedelta(days=2 * days)).date(), (date_from - timedelta(seconds=1)).date())
        current: dict[date, float] = dict.fromkeys(current_dates, 0.0)
        previous: dict[date, float] = dict.fromkeys(previous_dates, 0.0)
        for after, day, *values in rows:
            amount = measures.value(values)
            number = float(amount) if isinstance(amount, (int, float, Decimal)) else 0.0
            series = current if after else previous
            assert isinstance(day, date)
            series[day] = series.get(day, 0.0) + number
        value = sum(current[d] for d in current_dates)
        before = sum(previous[d] for d in previous_dates)
        sparkline = record.get("display") == "sparkline"
        return {
            "id": record["id"],
            "name": record["name"],
            "format": record["format"],
            "display": record["display"],
            "interval": days,
            "value": value,
            "previous": before,
            "change_from_previous_pct": (value - before) / before * 100 if before > 0 else None,
            "timeseries": [current[d] for d in current_dates] if sparkline else None,
            "timeseries_labels": [d.isoformat() for d in current_dates] if sparkline else None,
        }


GROUP_USAGE_METRIC_EVALUATION = GroupUsageMetricEvaluation()
