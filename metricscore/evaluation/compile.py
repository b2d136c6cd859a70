"""The canonical meaning of a metric (:mod:`metricscore.meaning`) as evaluation plans.

Vendor-free: which events (sources, conditions, supersession), what is computed, per what and over
which window all come from the :class:`~metricscore.meaning.Meaning`; a dialect only chooses the
window's inputs (a billing period, *now*, a date range) and shapes the answer.

Event fields map onto the events source (see :mod:`metricscore.evaluation.events`):
``property`` -> the property, ``value`` -> the value column, ``user`` field ``userID`` -> the
customer column and any other ``user`` field -> the property ``user.<name>``,
``user_custom`` -> ``user.custom.<name>``. Numbers follow
:data:`~metricscore.evaluation.plan.NUMBER_PATTERN` (docs/evaluation.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Protocol

from ..errors import ErrorMessage, ValidationError
from ..meaning import (
    NUMERIC_OPS,
    AggregationKind,
    Arithmetic,
    Condition,
    EventField,
    EventSource,
    FieldKind,
    Meaning,
    Op,
    Supersede,
    UnitKind,
    numeric_value,
)
from . import plan as p

__all__ = [
    "EventsRunner",
    "MeasureSet",
    "compile_condition",
    "compile_field",
    "daily_plan",
    "events_condition",
    "measures_for",
    "period_plan",
    "trailing_plan",
    "value_of",
]

#: A plan's numeric bounds are exact within DECIMAL(38, 12); numbers are at most 18 integer digits.
_LIMIT = Decimal(10) ** 18
_QUANTUM = Decimal(1).scaleb(-12)


class EventsRunner(Protocol):
    """Anything that computes a plan's rows: the reference evaluator over events, or a database."""

    def run(self, plan: p.Plan) -> list[p.Row]: ...


def _property(name: str) -> p.Field:
    """A property field; names every engine's JSON path syntax can spell (no quotes, backslashes or
    control characters) or the evaluation is refused everywhere, the reference included."""
    if any(ch in '"\\' or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        message = f"The property name {name!r} cannot be evaluated: it has a quote, backslash or control character."
        raise _unsupported("property", message)
    return p.Field("property", name)


def compile_field(ref: EventField) -> p.Field:
    kind = ref.kind
    if kind is FieldKind.PROPERTY:
        return _property(ref.name)
    if kind is FieldKind.VALUE:
        return p.Field("value")
    if kind is FieldKind.USER:
        return p.Field("customer") if ref.name == "userID" else _property(f"user.{ref.name}")
    if kind is FieldKind.USER_CUSTOM:
        return _property(f"user.custom.{ref.name}")
    raise _unsupported("events.table", "Data-warehouse tables are not evaluated over events.")


def _unsupported(field: str, message: str) -> ValidationError:
    return ValidationError({field: [ErrorMessage(message, "unsupported")]})


def _bound(op: Op, value: Decimal) -> tuple[str, Decimal] | bool:
    """``number <op> value`` for numbers of NUMBER_PATTERN, with ``value`` made exact in DECIMAL(38, 12).

    Such numbers are multiples of 10**-12 below 10**18 in size, so a finer bound moves to the
    neighbouring multiple without changing any outcome, and a bound beyond 10**18 decides alone
    (``True``: every number passes, ``False``: none does).
    """
    if value >= _LIMIT:
        return op in (Op.LT, Op.LE)
    if value <= -_LIMIT:
        return op in (Op.GT, Op.GE)
    # In EXACT: the default context's 28 digits cannot hold 30 (18 integer and 12 fraction digits).
    floor = value.quantize(_QUANTUM, rounding=ROUND_FLOOR, context=p.EXACT)
    if floor != value:
        # No number lies strictly between floor and ceiling: n > v <=> n >= ceiling, n < v <=> n <= floor.
        if op in (Op.GT, Op.GE):
            return (">=", value.quantize(_QUANTUM, rounding=ROUND_CEILING, context=p.EXACT))
        return ("<=", floor)
    return (_SYMBOL[op.value], value)


_SYMBOL = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _core(condition: Condition, field: p.Field) -> p.Condition:
    """The test on an event that has the field."""
    op = condition.op
    cs = condition.case_sensitive
    values = condition.values
    if op in (Op.IN, Op.NOT_IN):
        test: p.Condition = p.OneOf(field, values, cs)
    elif op in (Op.CONTAINS, Op.NOT_CONTAINS):
        test = p.AnyOf(tuple(p.Contains(field, v, cs) for v in values))
    elif op in (Op.STARTS_WITH, Op.ENDS_WITH):
        test = p.AnyOf(tuple(p.Affix(field, v, op is Op.ENDS_WITH, cs) for v in values))
    elif op in NUMERIC_OPS:
        branches: list[p.Condition] = []
        for text in values:
            number = numeric_value(text)
            if number is None:
                continue
            bound = _bound(op, number)
            if bound is True:
                branches.append(p.Compare(field, ">=", -_LIMIT))  # any number
            elif bound is not False:
                symbol, exact = bound
                branches.append(p.Compare(field, symbol, exact))  # type: ignore[arg-type]
        test = p.AnyOf(tuple(branches))
    elif op in (Op.IS_SET, Op.IS_NOT_SET):
        return p.IsSet(field) if op is Op.IS_SET else p.Not(p.IsSet(field))
    else:  # pragma: no cover - a new operator must be taught here
        raise _unsupported("conditions", f"The operator {op.value!r} cannot be evaluated.")
    return p.Not(test) if op in (Op.NOT_IN, Op.NOT_CONTAINS) else test


def compile_condition(condition: Condition) -> p.Condition:
    """A canonical condition, with its ``missing_passes`` outcome for events without the field."""
    field = compile_field(condition.field)
    if condition.op in (Op.IS_SET, Op.IS_NOT_SET):
        return _core(condition, field)
    present = p.IsSet(field)
    if condition.missing_passes:
        return p.AnyOf((p.Not(present), _core(condition, field)))
    return p.AllOf((present, _core(condition, field)))


def _source_condition(source: EventSource) -> p.Condition:
    parts: list[p.Condition] = []
    if source.name is not None:
        parts.append(p.OneOf(p.Field("name"), (source.name,)))
    parts.extend(compile_condition(c) for c in source.conditions)
    return p.AllOf(tuple(parts))


def events_condition(meaning: Meaning) -> p.Condition:
    """The events a meaning reads: every ``where`` condition and one of the sources."""
    if meaning.events.table is not None:
        raise _unsupported(
            "filters", "Data-warehouse metrics read a warehouse table, not events; they are not evaluated."
        )
    where = [compile_condition(c) for c in meaning.events.where]
    sources = p.AnyOf(tuple(_source_condition(s) for s in meaning.events.sources))
    return p.AllOf((*where, sources))


def value_of(meaning: Meaning) -> p.ValueSource | None:
    """The value each read event contributes: the measure of the first source it matches."""
    branches = tuple(
        (_source_condition(s), compile_field(s.measure)) for s in meaning.events.sources if s.measure is not None
    )
    if not branches:
        return None
    kinds = {b[1] for b in branches}
    if len(kinds) == 1 and len(branches) == len(meaning.events.sources):
        return branches[0][1]
    return p.FirstOf(branches)


@dataclass(frozen=True)
class MeasureSet:
    """The measures a plan computes for a meaning, and how to read the aggregation's value."""

    measures: tuple[p.Measure, ...]
    kind: AggregationKind
    arithmetic: Arithmetic | None

    def value(self, row: Sequence[object]) -> object:
        """The aggregation's value from the measures (``row`` holds them in order)."""
        kind = self.kind
        if kind is AggregationKind.COUNT:
            return self._number(row[0])
        if kind is AggregationKind.ACTIVE_UNITS:
            return 1 if row[0] else 0
        if kind is AggregationKind.UNIQUE_VALUES:
            return row[1]
        if kind is AggregationKind.SUM:
            return self._number(row[1] if row[1] is not None else Decimal(0))
        if kind is AggregationKind.MEAN:
            total, numbers = row[1], row[2]
            if not numbers:
                return None
            assert isinstance(total, Decimal) and isinstance(numbers, int)
            return self._number(total / numbers)
        return None if row[1] is None else self._number(row[1])

    def mean_parts(self, row: Sequence[object]) -> tuple[object, object]:
        """(numerator, denominator) of a mean."""
        return (self._number(row[1] if row[1] is not None else Decimal(0)), row[2])

    def _number(self, value: object) -> object:
        if self.arithmetic is Arithmetic.FLOAT64:
            return float(value)  # type: ignore[arg-type]
        return value


_VALUE_MEASURE: dict[AggregationKind, p.MeasureKind] = {
    AggregationKind.UNIQUE_VALUES: "unique",
    AggregationKind.SUM: "sum",
    AggregationKind.MEAN: "sum",
    AggregationKind.MAX: "max",
    AggregationKind.MIN: "min",
    AggregationKind.LATEST: "latest",
}


def measures_for(meaning: Meaning) -> MeasureSet:
    """``count`` first, then what the aggregation needs."""
    kind = meaning.aggregation.kind
    measures = [p.Measure("count")]
    if kind in _VALUE_MEASURE:
        value = value_of(meaning)
        measures.append(p.Measure(_VALUE_MEASURE[kind], value))
        if kind is AggregationKind.MEAN:
            measures.append(p.Measure("numbers", value))
    return MeasureSet(tuple(measures), kind, meaning.aggregation.arithmetic)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _unit_filter(meaning: Meaning, customers: Sequence[str] | None, group: tuple[int, str] | None) -> list[p.Condition]:
    kind = meaning.unit.kind
    if kind is UnitKind.CUSTOMER and customers is not None:
        return [p.OneOf(p.Field("customer"), tuple(customers))]
    if kind is UnitKind.GROUP and group is not None:
        return [p.OneOf(p.Field("group", str(group[0])), (group[1],))]
    return []


def _supersede(meaning: Meaning) -> bool:
    return meaning.events.supersede is Supersede.LAST_RECEIVED


def period_plan(
    meaning: Meaning,
    start: date,
    end: date,
    *,
    customers: Sequence[str] | None = None,
    extra: tuple[p.Measure, ...] = (),
    grouped: bool = False,
) -> p.Plan:
    """From ``start`` 00:00 UTC up to ``end`` + 1 day 00:00 UTC (inclusive end date)."""
    measures = measures_for(meaning).measures + extra
    group_by: tuple[p.Key, ...] = ()
    if grouped and meaning.group_by is not None:
        group_by = (p.GroupKey(compile_field(meaning.group_by)),)
    return p.Plan(
        where=p.AllOf((*_unit_filter(meaning, customers, None), events_condition(meaning))),
        start=_midnight(start),
        end=_midnight(end + timedelta(days=1)),
        supersede=_supersede(meaning),
        group_by=group_by,
        measures=measures,
    )


def trailing_plan(meaning: Meaning, now: datetime, days: int, group: tuple[int, str] | None) -> p.Plan:
    """``[now - 2 days, now]`` split at ``now - days`` and by UTC day (PostHog's two intervals)."""
    date_from = now - timedelta(days=days)
    return p.Plan(
        where=p.AllOf((*_unit_filter(meaning, None, group), events_condition(meaning))),
        start=now - timedelta(days=2 * days),
        end=now + timedelta(microseconds=1),
        supersede=_supersede(meaning),
        group_by=(p.AfterKey(date_from), p.DayKey(0)),
        measures=measures_for(meaning).measures,
    )


def daily_plan(meaning: Meaning, first: date, last: date, offset_seconds: int, id_type: str) -> p.Plan:
    """One row per unit id of ``id_type`` and day (days start at UTC + ``offset_seconds``)."""
    _property(id_type)
    unit = p.Field("unit", id_type)
    shift = timedelta(seconds=offset_seconds)
    return p.Plan(
        where=p.AllOf((p.IsSet(unit), events_condition(meaning))),
        start=_midnight(first) - shift,
        end=_midnight(last + timedelta(days=1)) - shift,
        supersede=_supersede(meaning),
        group_by=(p.DayKey(offset_seconds), p.GroupKey(unit)),
        measures=measures_for(meaning).measures,
    )
