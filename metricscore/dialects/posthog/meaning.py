"""PostHog group usage metrics <-> the canonical meaning (:mod:`metricscore.meaning`).

Reading (``evaluation-semantics.md`` section 2): ``filters.events`` entries are sources (an entry
without an ``id`` is any event), each with its own ``properties``; top-level ``filters.properties``
apply to every event; ``math`` is ``count`` or a Float64 ``sum`` of ``math_property``; per group
of the metric's group type, over the trailing ``interval`` days. Property filters read:
``exact`` (in), ``is_not`` (not in; a missing property passes), ``icontains`` /
``not_icontains`` (case-insensitive), ``gt`` / ``gte`` / ``lt`` / ``lte``, ``is_set`` /
``is_not_set``, on event (``type: event``) or person (``type: person``) properties.
A ``data_warehouse`` source reads the rows of a table instead of events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...meaning import (
    Aggregation,
    AggregationKind,
    Arithmetic,
    Condition,
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
    Unit,
    UnitKind,
    WarehouseTable,
    Window,
    WindowKind,
    Writing,
    WritingBuilder,
    data_keys_of,
    describe,
    merged_conditions,
    text_form,
    wire_payload,
)
from ...validation import display
from .group_usage_metrics import GROUP_USAGE_METRICS, GroupUsageMetricCreateSchema

__all__ = ["GROUP_USAGE_METRIC_MEANING", "OPERATORS", "PROPERTY_TYPES", "GroupUsageMetricMeaning", "property_condition"]

_DATA_KEYS = data_keys_of(GroupUsageMetricCreateSchema())
UNIT = Unit(UnitKind.GROUP)
#: PostHog operator -> (operator, case-sensitive, a missing property passes).
OPERATORS: dict[str, tuple[Op, bool, bool]] = {
    "exact": (Op.IN, True, False),
    "is_not": (Op.NOT_IN, True, True),
    "icontains": (Op.CONTAINS, False, False),
    "not_icontains": (Op.NOT_CONTAINS, False, True),
    "gt": (Op.GT, True, False),
    "gte": (Op.GE, True, False),
    "lt": (Op.LT, True, False),
    "lte": (Op.LE, True, False),
    "is_set": (Op.IS_SET, True, False),
    "is_not_set": (Op.IS_NOT_SET, True, True),
}
#: PostHog property filter ``type`` -> the event field kind it reads.
PROPERTY_TYPES = {"event": FieldKind.PROPERTY, "person": FieldKind.USER}
#: The keys of an event entry and of a property filter that have a reading (others are dropped).
_ENTRY_KEYS = ("id", "type", "properties")
_PROPERTY_KEYS = ("key", "type", "operator", "value")
_ENTRY_READ = "id, type and properties"
_PROPERTY_READ = "key, type, operator and value"


def property_condition(prop: Any) -> Condition | str:
    """The condition a PostHog property filter states, or why it has none."""
    if not isinstance(prop, Mapping):
        return "A property filter must be an object."
    key = prop.get("key")
    if not isinstance(key, str) or not key:
        return "A property filter without a 'key' names no property."
    prop_type = prop.get("type", "event")
    kind = PROPERTY_TYPES.get(prop_type) if isinstance(prop_type, str) else None
    if kind is None:
        return f"Property filters of type {display(prop_type)!r} have no event-level reading."
    operator = prop.get("operator", "exact")
    if operator is None:
        operator = "exact"
    if not isinstance(operator, str) or operator not in OPERATORS:
        return f"The operator {display(operator)!r} has no canonical reading."
    op, case_sensitive, missing = OPERATORS[operator]
    raw = prop.get("value")
    values: list[str] = []
    if op not in (Op.IS_SET, Op.IS_NOT_SET):
        items = raw if isinstance(raw, list) else [raw]
        texts = [text_form(item) for item in items]
        if not items or any(text is None for text in texts):
            return "The filter's value must be a string, a number, a boolean or a list of them."
        values = [text for text in texts if text is not None]
        if op not in (Op.IN, Op.NOT_IN) and len(values) != 1:
            return f"The operator {operator!r} compares with one value."
    return Condition(EventField(kind, key), op, tuple(values), case_sensitive=case_sensitive, missing_passes=missing)


def _conditions(
    container: Mapping[str, Any], path: Path, aspects: tuple[str, ...], out: ReadingBuilder
) -> tuple[Condition, ...]:
    """The conditions of ``container["properties"]`` (absent: none), each a member of ``aspects``."""
    if "properties" not in container:
        return ()
    props = container["properties"]
    if not isinstance(props, list):
        out.drop(path, "Property filters must be a list.")
        return ()
    conditions: list[Condition] = []
    for index, prop in enumerate(props):
        condition = property_condition(prop)
        if isinstance(condition, str):
            out.drop((*path, index), condition)
        else:
            conditions.append(condition)
            for aspect in aspects:
                out.feeds((*path, index), aspect, condition, member=True)
            for key in prop:
                if key not in _PROPERTY_KEYS:  # a label, or a key PostHog has no reading for
                    out.drop((*path, index, key), f"PostHog property filters read {_PROPERTY_READ} only.")
    if not props:
        out.fields[path] = ()  # an empty list adds no condition (and removes none)
    return tuple(conditions)


class GroupUsageMetricMeaning:
    resource = GROUP_USAGE_METRICS.name
    scope = GROUP_USAGE_METRICS.table.scope

    def read(self, payload: Any) -> Reading:
        wire = wire_payload(lambda data: GROUP_USAGE_METRICS.load(data, "create"), _DATA_KEYS, payload)
        out = ReadingBuilder(wire)
        filters: Mapping[str, Any] = wire["filters"]
        kind = AggregationKind.SUM if wire["math"] == "sum" else AggregationKind.COUNT
        aggregation = Aggregation(kind, Arithmetic.FLOAT64)
        out.feeds(("math",), "aggregation.kind", aggregation.kind)
        out.feeds(("math",), "aggregation.arithmetic", aggregation.arithmetic)
        prop = wire.get("math_property")
        if filters.get("source", "events") == "data_warehouse":
            events = self._warehouse(filters, prop if kind is AggregationKind.SUM else None, out)
        else:
            events = self._events(filters, prop if kind is AggregationKind.SUM else None, out)
        if kind is AggregationKind.SUM:
            for index, source in enumerate(events.sources):
                out.feeds(("math_property",), f"events.sources[{index}].measure", source.measure)
        elif wire.get("math_property") is not None:
            out.drop(("math_property",), "A count reads no property.")
        elif "math_property" in wire:  # null, as a stored record has it: exactly "a count reads no property"
            out.feeds(("math_property",), "aggregation.kind", aggregation.kind)
        interval = wire["interval"]
        window = Window(WindowKind.TRAILING_DAYS, interval)
        out.feeds(("interval",), "window", window)
        display = Display(name=wire["name"], currency=wire["format"] == "currency",
                          sparkline=wire["display"] == "sparkline")  # fmt: skip
        out.feeds(("name",), "display.name", display.name)
        out.feeds(("format",), "display.currency", display.currency)
        out.feeds(("display",), "display.sparkline", display.sparkline)
        return out.build(Meaning(events, aggregation, UNIT, window, display))

    def _events(self, filters: Mapping[str, Any], prop: str | None, out: ReadingBuilder) -> Events:
        measure = EventField(FieldKind.PROPERTY, prop) if prop else None
        if "source" in filters:
            out.feeds(("filters", "source"), "events.table", None)
        sources: list[EventSource] = []
        names: list[Path] = []
        entries = filters.get("events", [])
        if not isinstance(entries, list):
            out.drop(("filters", "events"), "'events' must be a list of event filters.")
            entries = []
        for index, entry in enumerate(entries):
            path: Path = ("filters", "events", index)
            if not isinstance(entry, Mapping) or entry.get("type", "events") != "events":
                out.drop(path, "Only event entries ({'id': <event name>}) are read; actions live in PostHog.")
                continue
            name = entry.get("id")
            if name is not None and not isinstance(name, str):
                out.drop(path, "An event entry's 'id' must be an event name or null.")
                continue
            for key in entry:
                if key not in _ENTRY_KEYS:  # PostHog's runner reads no other key (a series' math...)
                    out.drop((*path, key), f"PostHog usage metrics read an event entry's {_ENTRY_READ} only.")
            aspect = f"events.sources[{len(sources)}]"
            conditions = _conditions(entry, (*path, "properties"), (f"{aspect}.conditions",), out)
            sources.append(EventSource(name, conditions, measure))
            names.append((*path, "id"))
        for index, path in enumerate(names):
            out.feeds(path, f"events.sources[{index}].name", sources[index].name)
            out.feeds(path, "events.source_count", len(sources))
        if not sources:
            sources.append(EventSource(None, (), measure))
            # No event entry (or none readable): every event, stated by the entries or their absence.
            path = ("filters", "events") if "events" in filters else ("filters",)
            out.feeds(path, "events.sources[0].name", None)
            out.feeds(path, "events.source_count", 1)
        aspects = tuple(f"events.sources[{index}].conditions" for index in range(len(sources)))
        where = _conditions(filters, ("filters", "properties"), aspects, out)
        for key in filters:
            if key in ("source", "events", "properties"):
                continue
            if key == "filter_test_accounts":
                reason = (
                    "Test-account filters are a PostHog team setting; none exist outside PostHog."
                    if filters[key]
                    else "false is the default: no test-account filter applies."
                )
            elif key == "actions":
                reason = "Actions are defined in PostHog, not in the metric; they are not read."
            else:
                reason = "Not part of an event filter."
            out.drop(("filters", key), reason)
        return Events(tuple(sources), where)

    def _warehouse(self, filters: Mapping[str, Any], prop: str | None, out: ReadingBuilder) -> Events:
        table = WarehouseTable(filters["table_name"], filters["timestamp_field"], filters["key_field"])
        for key in filters:
            if key in ("source", "table_name", "timestamp_field", "key_field"):
                out.feeds(("filters", key), "events.table", table)
            else:
                out.drop(("filters", key), "Not read for a data-warehouse metric.")
        measure = EventField(FieldKind.COLUMN, prop) if prop else None
        return Events((EventSource(None, (), measure),), table=table)

    def write(self, meaning: Meaning) -> Writing:
        out = WritingBuilder(self.resource)
        events = meaning.events
        kind = meaning.aggregation.kind
        if kind not in (AggregationKind.COUNT, AggregationKind.SUM):
            raise out.refuse(f"PostHog usage metrics count events or sum a property; '{kind.value}' has no math.")
        if not events.sources:
            raise out.refuse("it reads no event, and a PostHog metric without events would read every event.")
        display = meaning.display
        name = display.name.strip()[:NAME_LENGTH].strip()
        payload: dict[str, Any] = {"name": name or "metric", "math": kind.value}
        if payload["name"] != display.name:
            out.note("display.name", "PostHog trims names to at most 255 characters.")
        if events.table is not None:
            table = events.table
            payload["filters"] = {"source": "data_warehouse", "table_name": table.table,
                                  "timestamp_field": table.timestamp_field, "key_field": table.key_field}  # fmt: skip
        else:
            payload["filters"] = self._filters(events, out)
        if kind is AggregationKind.SUM:
            payload["math_property"] = self._math_property(events, out)
        if meaning.aggregation.arithmetic is not None:
            out.expect("aggregation.arithmetic", meaning.aggregation.arithmetic, Arithmetic.FLOAT64,
                       "PostHog adds Float64 values, not exact decimals.")  # fmt: skip
        if meaning.window.kind is WindowKind.TRAILING_DAYS and meaning.window.days is not None:
            payload["interval"] = meaning.window.days
        else:
            payload["interval"] = DEFAULT_INTERVAL
            out.default(
                "interval", f"PostHog computes over the trailing interval; {describe(meaning.window)} has none."
            )
            out.note("window", f"PostHog computes over the trailing {DEFAULT_INTERVAL} days ending now.")
        if display.currency:
            payload["format"] = "currency"
        if display.sparkline:
            payload["display"] = "sparkline"
        out.expect("unit", meaning.unit, UNIT, "PostHog computes per group of the metric's group type ($group_N).")
        out.expect(
            "events.supersede", events.supersede, Supersede.NONE, "PostHog counts every event; none supersedes another."
        )
        out.expect("group_by", meaning.group_by, None, "PostHog usage metrics are not split by a property.")
        facts = {"description": "description", "unit": "unit", "tags": "tags", "direction": "direction"}
        out.display_facts(display, facts, "PostHog group usage metrics")
        return out.build(payload)

    def _filters(self, events: Events, out: WritingBuilder) -> dict[str, Any]:
        """Event entries, with the conditions every entry shares written once at the top level."""
        merged = merged_conditions(events)
        common = [c for c in merged[0] if all(c in conditions for conditions in merged[1:])]
        entries: list[dict[str, Any]] = []
        for index, (source, conditions) in enumerate(zip(events.sources, merged, strict=True)):
            entry: dict[str, Any] = {"id": source.name, "type": "events"}
            own = [self._property(c, index, out) for c in conditions if c not in common]
            if any(own):
                entry["properties"] = [p for p in own if p]
            entries.append(entry)
        filters: dict[str, Any] = {"events": entries}
        shared = [p for p in (self._property(c, None, out, len(entries)) for c in common) if p]
        if shared:
            filters["properties"] = shared
        return filters

    def _property(self, condition: Condition, index: int | None, out: WritingBuilder, count: int = 1) -> dict[str, Any]:
        """The property filter saying ``condition`` (empty when there is none, noted)."""
        aspects = [f"events.sources[{i}].conditions" for i in ([index] if index is not None else range(count))]
        written = _property_filter(condition)
        if isinstance(written, str):
            for aspect in aspects:
                out.note(aspect, f"Left out {describe(condition)}: {written}")
            return {}
        prop, change = written
        if change:
            for aspect in aspects:
                out.note(aspect, f"{describe(condition)} is written as PostHog's '{prop['operator']}': {change}")
        return prop

    def _math_property(self, events: Events, out: WritingBuilder) -> str:
        measures = {source.measure for source in events.sources}
        if len(measures) != 1:
            raise out.refuse("its events sum different values; PostHog sums one math_property for every event.")
        (measure,) = measures
        if measure is None:
            raise out.refuse("its events contribute no value to sum.")
        if events.table is not None and measure.kind is FieldKind.COLUMN:
            return measure.name
        if measure.kind is FieldKind.PROPERTY and events.table is None:
            return measure.name
        if measure.kind is FieldKind.VALUE and events.table is None:
            for index in range(len(events.sources)):
                out.note(
                    f"events.sources[{index}].measure", "PostHog sums event properties: the value is read from 'value'."
                )
            return "value"
        raise out.refuse(f"PostHog cannot sum {describe(measure)}.")


NAME_LENGTH = 255
DEFAULT_INTERVAL = 7
_WIRE_OPERATORS = {(op, case, missing): wire for wire, (op, case, missing) in OPERATORS.items()}
_WIRE_TYPES = {kind: wire for wire, kind in PROPERTY_TYPES.items()}


def _property_filter(condition: Condition) -> tuple[dict[str, Any], str] | str:
    """(filter, what changed) for ``condition``, or why PostHog has no filter for it."""
    field = condition.field
    if field.kind not in _WIRE_TYPES:
        return f"PostHog filters read event or person properties, not a {field.kind.value}."
    op = condition.op
    candidates = [key for key in _WIRE_OPERATORS if key[0] is op]
    if not candidates:
        return f"PostHog has no '{op.value}' property operator."
    exact = (op, condition.case_sensitive, condition.missing_passes)
    key = exact if exact in _WIRE_OPERATORS else candidates[0]
    changes = []
    if key[1] != condition.case_sensitive:
        changes.append("case-sensitive" if key[1] else "case-insensitive")
    if key[2] != condition.missing_passes:
        changes.append("a missing property passes" if key[2] else "a missing property fails")
    operator = _WIRE_OPERATORS[key]
    prop: dict[str, Any] = {"key": field.name, "operator": operator, "type": _WIRE_TYPES[field.kind]}
    if op in (Op.IN, Op.NOT_IN):
        if not condition.values:
            return "PostHog's property filters need at least one value."
        prop["value"] = list(condition.values)
    elif op not in (Op.IS_SET, Op.IS_NOT_SET):
        if len(condition.values) != 1:
            return f"PostHog's '{operator}' compares with exactly one value."
        prop["value"] = condition.values[0]
    return prop, " and ".join(changes) + " in PostHog" if changes else ""


GROUP_USAGE_METRIC_MEANING = GroupUsageMetricMeaning()
