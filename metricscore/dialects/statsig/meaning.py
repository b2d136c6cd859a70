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
    Arithmetic,
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
    Supersede,
    TranslationError,
    Unit,
    UnitKind,
    Window,
    WindowKind,
    Writing,
    WritingBuilder,
    data_keys_of,
    describe,
    merged_conditions,
    wire_payload,
)
from .metrics import METRICS
from .schemas import (
    DESCRIPTION_MAX,
    NAME_MAX,
    NAME_MIN,
    NAME_PATTERN,
    NEEDS_EVENTS,
    NEEDS_UNIT_TYPES,
    TAG_MAX,
    MetricCreateSchema,
)

__all__ = ["BOOLEAN_CONDITIONS", "CONDITIONS", "CRITERION_FIELDS", "METRIC_MEANING", "MetricMeaning"]

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
#: Criterion ``condition`` -> the one text it tests for, ASCII case-insensitively (docs/evaluation.md:
#: a JSON ``true`` is stored as the text ``true``, so it passes ``is_true``, as do ``"TRUE"`` and
#: ``"True"``; ``"1"``, ``"yes"``, a missing or null field pass neither).
BOOLEAN_CONDITIONS = {"is_true": "true", "is_false": "false"}
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


_DRY_RUN = "A dry run asks Statsig to validate without creating; the translated definition is created."


def criterion_condition(criterion: Mapping[str, Any]) -> Condition | str:
    """The condition a criterion states, or why it has none."""
    condition = criterion["condition"]
    if condition in _UNREADABLE_CONDITIONS:
        return f"The criterion has no canonical reading: {_UNREADABLE_CONDITIONS[condition]}."
    kind = CRITERION_FIELDS[criterion["type"]]
    column = criterion.get("column")
    if kind is not FieldKind.VALUE and not column:
        return f"A '{criterion['type']}' criterion without a column reads no field."
    field = EventField(kind, "" if kind is FieldKind.VALUE else str(column))
    if condition in BOOLEAN_CONDITIONS:  # values, if sent, say nothing more
        return Condition(field, Op.IN, (BOOLEAN_CONDITIONS[condition],), case_sensitive=False)
    op = CONDITIONS[condition]
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
    scope = METRICS.table.scope

    def read(self, payload: Any) -> Reading:
        wire = wire_payload(lambda data: METRICS.load(data, "create"), _DATA_KEYS, payload)
        dry_run = wire.pop("dryRun", None)
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
        if dry_run is not None:  # a request flag: the translated payload would really be created
            out.drop(("dryRun",), _DRY_RUN if dry_run else "false is the default: the metric is created.")
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
        out = WritingBuilder(self.resource)
        events = meaning.events
        kind = meaning.aggregation.kind
        if kind not in _WIRE_TYPES:
            raise out.refuse(f"Statsig metrics have no '{kind.value}' aggregation outside warehouse-native metrics.")
        if events.table is not None:
            raise out.refuse("it reads a data-warehouse table; Statsig custom metrics read events.")
        metric_type = _WIRE_TYPES[kind]
        if not events.sources and metric_type in NEEDS_EVENTS:
            raise out.refuse("it reads no event.")
        metric_events = [
            self._event(index, source, conditions, kind, out)
            for index, (source, conditions) in enumerate(zip(events.sources, merged_conditions(events), strict=True))
        ]
        payload: dict[str, Any] = {
            "name": _metric_name(meaning.display.name),
            "type": metric_type,
            "metricEvents": metric_events,
        }
        if payload["name"] != meaning.display.name:
            out.note("display.name", "Statsig names are 4 to 200 letters, digits, spaces and _ . - ( ) / % :.")
        unit = meaning.unit
        if unit.kind is UnitKind.ID_TYPE and (unit.id_types or metric_type not in NEEDS_UNIT_TYPES):
            payload["unitTypes"] = list(unit.id_types)
        else:
            payload["unitTypes"] = [DEFAULT_UNIT_TYPE]
            out.default(
                "unitTypes", f"Statsig computes per unit id; '{DEFAULT_UNIT_TYPE}' stands for {describe(unit)}."
            )
            out.note("unit", f"Statsig computes per unit id of a unit type ({DEFAULT_UNIT_TYPE}).")
        display = meaning.display
        payload["description"] = (display.description or "")[:DESCRIPTION_MAX]  # Statsig stores "" for none
        if display.tags:
            payload["tags"] = [tag for tag in display.tags if tag.strip() and len(tag) <= TAG_MAX]
        if display.direction is not None:
            payload["directionality"] = display.direction.value
        else:
            out.default("directionality", "The definition does not say which way is good; Statsig assumes 'increase'.")
            out.note("display.direction", "Statsig metrics say which way is good; 'increase' is assumed.")
        if meaning.aggregation.arithmetic is not None:
            out.expect("aggregation.arithmetic", meaning.aggregation.arithmetic, Arithmetic.DECIMAL,
                       "Statsig sums exact values, not Float64 ones.")  # fmt: skip
        out.expect("window", meaning.window, WINDOW, "Statsig computes one value per unit per Statsig day (GMT-8).")
        out.expect(
            "events.supersede", events.supersede, Supersede.NONE, "Statsig counts every event; none supersedes another."
        )
        out.expect("group_by", meaning.group_by, None, "Statsig custom metrics are not split by a property.")
        facts = {"unit": "unit", "currency": "currency format", "sparkline": "daily series display"}
        out.display_facts(display, facts, "Statsig metric definitions")
        return out.build(payload)

    def _event(
        self,
        index: int,
        source: EventSource,
        conditions: tuple[Condition, ...],
        kind: AggregationKind,
        out: WritingBuilder,
    ) -> dict[str, Any]:
        aspect = f"events.sources[{index}]"
        if source.name is None:
            raise out.refuse("it reads every event; a Statsig metric event names its event.")
        event: dict[str, Any] = {"name": source.name}
        measure = source.measure
        if kind is AggregationKind.UNIQUE_VALUES:
            event["type"] = "count_distinct"
            if measure is not None and measure.kind is FieldKind.PROPERTY:
                event["metadataKey"] = measure.name
            elif measure is None or measure.kind is not FieldKind.VALUE:
                raise out.refuse(
                    f"Statsig counts distinct values of metadata or of the event's value, not {describe(measure)}."
                )
        elif kind in (AggregationKind.SUM, AggregationKind.MEAN):
            if measure is None:
                event["type"] = "metadata"  # no metadataKey: the event contributes no value
            elif measure.kind is FieldKind.PROPERTY:
                event.update(type="metadata", metadataKey=measure.name)
            elif measure.kind is FieldKind.VALUE:
                event["type"] = "value"
            else:
                raise out.refuse(f"Statsig sums the event's value or metadata, not {describe(measure)}.")
        criteria = []
        for condition in conditions:
            criterion = _criterion(condition)
            if isinstance(criterion, str):
                out.note(f"{aspect}.conditions", f"Left out {describe(condition)}: {criterion}")
                continue
            if not condition.case_sensitive and criterion["condition"] not in BOOLEAN_CONDITIONS:
                out.note(f"{aspect}.conditions", f"{describe(condition)} is now case-sensitive: Statsig criteria are.")
            criteria.append(criterion)
        if criteria:
            event["criteria"] = criteria
        elif kind is AggregationKind.ACTIVE_UNITS:
            raise out.refuse("Statsig event_user metrics need criteria on every metric event.")
        return event


_WIRE_TYPES = {
    AggregationKind.COUNT: "event_count_custom",
    AggregationKind.UNIQUE_VALUES: "event_count_custom",
    AggregationKind.SUM: "sum",
    AggregationKind.MEAN: "mean",
    AggregationKind.ACTIVE_UNITS: "event_user",
}
_WIRE_CONDITIONS = {op: wire for wire, op in CONDITIONS.items() if wire != "="}
_WIRE_FIELDS = {kind: wire for wire, kind in CRITERION_FIELDS.items()}
DEFAULT_UNIT_TYPE = "userID"


def _criterion(condition: Condition) -> dict[str, Any] | str:
    """The criterion saying ``condition``, or why there is none."""
    field = condition.field
    if field.kind not in _WIRE_FIELDS:
        return f"Statsig criteria read the value, metadata or user fields, not a {field.kind.value}."
    criterion: dict[str, Any] = {"type": _WIRE_FIELDS[field.kind], "condition": _WIRE_CONDITIONS[condition.op]}
    if field.kind is not FieldKind.VALUE:
        criterion["column"] = field.name
    boolean = _boolean_condition(condition)
    if boolean is not None:
        criterion["condition"] = boolean
    elif condition.values:
        criterion["values"] = list(condition.values)
    if condition.op in _OVERRIDABLE:
        if condition.missing_passes:
            criterion["nullVacuousOverride"] = True
    elif condition.missing_passes and condition.op is not Op.IS_NOT_SET:
        return "Statsig lets a missing field pass only not_in and not_contains criteria."
    return criterion


def _boolean_condition(condition: Condition) -> str | None:
    """``is_true`` / ``is_false`` when ``condition`` is exactly what that criterion means."""
    if condition.op is not Op.IN or condition.case_sensitive or condition.missing_passes:
        return None
    return next((wire for wire, text in BOOLEAN_CONDITIONS.items() if condition.values == (text,)), None)


def _metric_name(name: str) -> str:
    """``name`` as a valid Statsig name: other characters become ``_``; 4 to 200 characters."""
    cleaned = "".join(c if NAME_PATTERN.fullmatch(c) else "_" for c in name)[:NAME_MAX]
    return cleaned.ljust(NAME_MIN, "_")


METRIC_MEANING = MetricMeaning()
