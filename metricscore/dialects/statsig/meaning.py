"""Statsig metric definitions <-> the canonical meaning (:mod:`metricscore.meaning`).

Reading (``evaluation-semantics.md`` section 3): one value per unit per Statsig day; each metric
event is a source (name, criteria ANDed); ``event_count_custom`` counts (or, when every metric
event is ``count_distinct``, counts distinct values), ``event_user`` is 1 for a unit with a
matching event, ``sum`` / ``mean`` read the event's ``value`` (metric event type ``value`` or
none) or ``metadata[metadataKey]`` (type ``metadata``). Criteria are case-sensitive;
``not_in`` / ``not_contains`` fail on a missing field unless ``nullVacuousOverride``. Types that
combine other metrics or steps (ratio, funnel, composite, ...) have no canonical meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...meaning import (
    Aggregation,
    AggregationKind,
    Condition,
    Direction,
    Display,
    EventField,
    Events,
    EventSource,
    FieldKind,
    Meaning,
    Op,
    Path,
    Reading,
    ReadingBuilder,
    TranslationError,
    Unit,
    UnitKind,
    Window,
    WindowKind,
    Writing,
    data_keys_of,
    wire_payload,
)
from .metrics import METRICS
from .schemas import MetricCreateSchema

__all__ = ["CONDITIONS", "CRITERION_FIELDS", "METRIC_MEANING", "MetricMeaning"]

_DATA_KEYS = data_keys_of(MetricCreateSchema())
WINDOW = Window(WindowKind.DAY)
_AGGREGATIONS = {
    "event_count_custom": AggregationKind.COUNT,
    "event_user": AggregationKind.ACTIVE_UNITS,
    "sum": AggregationKind.SUM,
    "mean": AggregationKind.MEAN,
}
_NO_MEANING = {
    "ratio": "a ratio divides one metric by another",
    "funnel": "a funnel counts units through ordered steps",
    "composite": "a composite combines other metrics",
    "composite_sum": "a composite sum adds other metrics",
    "undefined": "an undefined metric says nothing to compute",
    "user_warehouse": "a warehouse metric is defined by a query in the customer's warehouse",
}
#: Criterion ``type`` -> the event field kind it reads (``value`` reads the event's value).
CRITERION_FIELDS = {
    "value": FieldKind.VALUE,
    "metadata": FieldKind.PROPERTY,
    "user": FieldKind.USER,
    "user_custom": FieldKind.USER_CUSTOM,
}
#: Criterion ``condition`` -> operator (``=`` is read as ``in``).
CONDITIONS = {
    "in": Op.IN,
    "=": Op.IN,
    "not_in": Op.NOT_IN,
    "contains": Op.CONTAINS,
    "not_contains": Op.NOT_CONTAINS,
    "starts_with": Op.STARTS_WITH,
    "ends_with": Op.ENDS_WITH,
    ">": Op.GT,
    ">=": Op.GE,
    "<": Op.LT,
    "<=": Op.LE,
    "non_null": Op.IS_SET,
    "is_null": Op.IS_NOT_SET,
}
#: Operators under which ``nullVacuousOverride`` lets a missing field pass.
_OVERRIDABLE = (Op.NOT_IN, Op.NOT_CONTAINS)
_UNREADABLE_CONDITIONS = {
    "sql_filter": "a SQL filter is run by Statsig's warehouse and has no event-level reading",
    "after_exposure": "exposure time belongs to an experiment, not to the metric",
}
_CATALOG = "a catalogue flag of Statsig's console; it changes no computed value"
_DROPPED_FIELDS = {
    "isVerified": _CATALOG,
    "isReadOnly": _CATALOG,
    "isPermanent": _CATALOG,
    "team": "the owning team is a Statsig console setting",
    "teamID": "the owning team is a Statsig console setting",
    "warehouseNative": "warehouse-native settings apply to Statsig's warehouse pipeline, not to events",
    "rollupTimeWindow": "the rollup window is applied by Pulse over an experiment, not to a unit-day value",
    "customRollUpStart": "the rollup window is applied by Pulse over an experiment, not to a unit-day value",
    "customRollUpEnd": "the rollup window is applied by Pulse over an experiment, not to a unit-day value",
    "funnelEventList": "funnel steps are read by funnel metrics only",
    "funnelCountDistinct": "funnel counting is read by funnel metrics only",
    "metricComponentMetrics": "component metrics are read by composite metrics only",
}


def criterion_condition(criterion: Mapping[str, Any]) -> Condition | str:
    """The condition a criterion states, or why it has none."""
    condition = criterion["condition"]
    if condition in _UNREADABLE_CONDITIONS:
        return f"The criterion has no canonical reading: {_UNREADABLE_CONDITIONS[condition]}."
    kind = CRITERION_FIELDS[criterion["type"]]
    column = criterion.get("column")
    if kind is not FieldKind.VALUE and not column:
        return f"A '{criterion['type']}' criterion without a column reads no field."
    op = CONDITIONS[condition]
    field = EventField(kind, "" if kind is FieldKind.VALUE else str(column))
    missing = bool(criterion.get("nullVacuousOverride")) if op in _OVERRIDABLE else False
    return Condition(field, op, tuple(criterion.get("values") or ()), missing_passes=missing)


def _measure(event: Mapping[str, Any]) -> EventField | None:
    """The value a ``sum`` / ``mean`` metric event contributes."""
    kind = event.get("type")
    if kind in (None, "value"):
        return EventField(FieldKind.VALUE)
    if kind == "metadata" and event.get("metadataKey"):
        return EventField(FieldKind.PROPERTY, event["metadataKey"])
    return None


class MetricMeaning:
    resource = METRICS.name

    def read(self, payload: Any) -> Reading:
        wire = wire_payload(lambda data: METRICS.load(data, "create"), _DATA_KEYS, payload)
        wire.pop("dryRun", None)
        metric_type = wire["type"]
        if metric_type in _NO_MEANING:
            raise TranslationError(
                f"Statsig '{metric_type}' metrics have no canonical meaning: {_NO_MEANING[metric_type]}."
            )
        out = ReadingBuilder(wire)
        events = wire["metricEvents"]
        kind = _AGGREGATIONS[metric_type]
        distinct = [event.get("type") == "count_distinct" for event in events]
        if kind is AggregationKind.COUNT and events and all(distinct):
            kind = AggregationKind.UNIQUE_VALUES
        elif kind is AggregationKind.COUNT and any(distinct):
            raise TranslationError(
                "A Statsig event_count_custom metric whose metric events mix count_distinct with other "
                "types has no single aggregation."
            )
        aggregation = Aggregation(kind)
        out.feeds(("type",), "aggregation.kind", aggregation.kind)
        out.feeds(("type",), "aggregation.arithmetic", aggregation.arithmetic)
        if not events:
            out.feeds(("metricEvents",), "events.source_count", 0)
        for index in range(len(events)):
            out.feeds(("metricEvents", index, "name"), "events.source_count", len(events))

        sources = tuple(self._source(index, event, kind, out) for index, event in enumerate(events))

        unit = Unit(UnitKind.ID_TYPE, tuple(wire["unitTypes"]))
        out.feeds(("unitTypes",), "unit", unit)
        description = wire.get("description") or None
        direction = Direction(wire["directionality"])
        display = Display(name=wire["name"], description=description, tags=tuple(wire.get("tags", ())),
                          direction=direction)  # fmt: skip
        out.feeds(("name",), "display.name", display.name)
        out.feeds(("directionality",), "display.direction", direction)
        for wire_name in ("description", "tags"):
            if wire_name in wire:
                out.feeds((wire_name,), f"display.{wire_name}", getattr(display, wire_name))
        for wire_name, reason in _DROPPED_FIELDS.items():
            if wire_name in wire:
                out.drop((wire_name,), reason[0].upper() + reason[1:] + ".")
        meaning = Meaning(Events(sources), aggregation, unit, WINDOW, display)
        return out.build(meaning)

    def _source(self, index: int, event: Mapping[str, Any], kind: AggregationKind, out: ReadingBuilder) -> EventSource:
        prefix: Path = ("metricEvents", index)
        aspect = f"events.sources[{index}]"
        out.feeds((*prefix, "name"), f"{aspect}.name", event["name"])
        conditions: list[Condition] = []
        for position, criterion in enumerate(event.get("criteria") or ()):
            path: Path = (*prefix, "criteria", position)
            condition = criterion_condition(criterion)
            if isinstance(condition, str):
                out.drop(path, condition)
            else:
                conditions.append(condition)
                out.feeds(path, f"{aspect}.conditions", condition, member=True)
        if not event.get("criteria"):
            out.feeds((*prefix, "criteria"), f"{aspect}.conditions", frozenset())
        measure: EventField | None = None
        if kind in (AggregationKind.SUM, AggregationKind.MEAN):
            measure = _measure(event)
        elif kind is AggregationKind.UNIQUE_VALUES:
            key = event.get("metadataKey")
            measure = EventField(FieldKind.PROPERTY, key) if key else EventField(FieldKind.VALUE)
        reads_key = measure is not None and measure.kind is FieldKind.PROPERTY
        for wire_name in ("type", "metadataKey"):
            if wire_name not in event:
                continue
            if wire_name == "metadataKey" and not reads_key:
                out.drop((*prefix, wire_name), "The metric event reads no metadata value.")
            else:
                out.feeds((*prefix, wire_name), f"{aspect}.measure", measure)
        return EventSource(event["name"], tuple(conditions), measure)

    def write(self, meaning: Meaning) -> Writing:
        raise TranslationError("Writing Statsig metrics is not available yet.")


METRIC_MEANING = MetricMeaning()
