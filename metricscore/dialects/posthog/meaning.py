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
    TranslationError,
    Unit,
    UnitKind,
    WarehouseTable,
    Window,
    WindowKind,
    Writing,
    data_keys_of,
    text_form,
    wire_payload,
)
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


def property_condition(prop: Any) -> Condition | str:
    """The condition a PostHog property filter states, or why it has none."""
    if not isinstance(prop, Mapping):
        return "A property filter must be an object."
    key = prop.get("key")
    if not isinstance(key, str) or not key:
        return "A property filter without a 'key' names no property."
    kind = PROPERTY_TYPES.get(prop.get("type", "event"))  # type: ignore[arg-type]
    if kind is None:
        return f"Property filters of type {prop.get('type')!r} have no event-level reading."
    operator = prop.get("operator", "exact")
    if operator is None:
        operator = "exact"
    if operator not in OPERATORS:
        return f"The operator {operator!r} has no canonical reading."
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


def _conditions(container: Mapping[str, Any], path: Path, aspect: str, out: ReadingBuilder) -> tuple[Condition, ...]:
    """The conditions of ``container["properties"]`` (absent: none), recorded under ``path``."""
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
            out.feeds((*path, index), aspect, condition, member=True)
    if not props:
        out.feeds(path, aspect, frozenset())
    return tuple(conditions)


class GroupUsageMetricMeaning:
    resource = GROUP_USAGE_METRICS.name

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
        elif "math_property" in wire:
            out.drop(("math_property",), "A count reads no property.")
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
            aspect = f"events.sources[{len(sources)}]"
            conditions = _conditions(entry, (*path, "properties"), f"{aspect}.conditions", out)
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
        where = _conditions(filters, ("filters", "properties"), "events.where", out)
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
        raise TranslationError("Writing PostHog group usage metrics is not available yet.")


GROUP_USAGE_METRIC_MEANING = GroupUsageMetricMeaning()
