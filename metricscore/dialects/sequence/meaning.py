"""Sequence usage metrics <-> the canonical meaning (:mod:`metricscore.meaning`).

Reading (``evaluation-semantics.md`` section 1): one event type; ``propertyFilters`` are ``in``
conditions on event properties (AND across keys, any-of within a key, a missing property fails),
case-sensitive unless ``caseSensitive`` is false; COUNT / SUM / UNIQUE; GROUPED splits by
``groupingProperty``; per customer, over a billing period (UTC dates, inclusive end); a later event
with the same customer event id supersedes an earlier one; exact decimal sums.
"""

from __future__ import annotations

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
    Reading,
    ReadingBuilder,
    Supersede,
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
from .usage_metrics import DESCRIPTION_LENGTH, TEXT_LENGTH, USAGE_METRICS, UsageMetricSchema

__all__ = ["USAGE_METRIC_MEANING", "UsageMetricMeaning"]

_AGGREGATIONS = {
    "COUNT": AggregationKind.COUNT,
    "SUM": AggregationKind.SUM,
    "UNIQUE": AggregationKind.UNIQUE_VALUES,
}
_DATA_KEYS = data_keys_of(UsageMetricSchema())
SOURCE = "events.sources[0]"
UNIT = Unit(UnitKind.CUSTOMER)
WINDOW = Window(WindowKind.PERIOD)


class UsageMetricMeaning:
    resource = USAGE_METRICS.name
    scope = USAGE_METRICS.table.scope

    def read(self, payload: Any) -> Reading:
        wire = wire_payload(lambda data: USAGE_METRICS.load(data, "create"), _DATA_KEYS, payload)
        out = ReadingBuilder(wire)
        kind = _AGGREGATIONS[wire["aggregationType"]]
        aggregation = Aggregation(kind)
        out.feeds(("aggregationType",), "aggregation.kind", aggregation.kind)
        out.feeds(("aggregationType",), "aggregation.arithmetic", aggregation.arithmetic)

        measure = None
        prop = wire.get("aggregationProperty")
        if kind is AggregationKind.COUNT:
            if prop is not None:
                out.drop(("aggregationProperty",), "COUNT counts events and reads no property.")
        else:
            measure = EventField(FieldKind.PROPERTY, str(prop))
            out.feeds(("aggregationProperty",), f"{SOURCE}.measure", measure)

        case_sensitive = wire.get("caseSensitive", True)
        filters = wire.get("propertyFilters") or {}
        conditions = tuple(
            Condition(EventField(FieldKind.PROPERTY, key), Op.IN, tuple(values), case_sensitive=case_sensitive)
            for key, values in filters.items()
        )
        for key, condition in zip(filters, conditions, strict=True):
            out.feeds(("propertyFilters", key), f"{SOURCE}.conditions", condition, member=True)
            if "caseSensitive" in wire:
                out.feeds(("caseSensitive",), f"{SOURCE}.conditions", condition, member=True)
        if "propertyFilters" in wire and not filters:
            out.feeds(("propertyFilters",), f"{SOURCE}.conditions", frozenset())
        if "caseSensitive" in wire and not filters:
            if wire["caseSensitive"] is True:  # the default, as a stored record has it: no conditions either way
                out.feeds(("caseSensitive",), f"{SOURCE}.conditions", frozenset())
            else:
                out.drop(("caseSensitive",), "There are no property filters for it to apply to.")

        out.feeds(("eventType",), f"{SOURCE}.name", wire["eventType"])
        out.feeds(("eventType",), "events.source_count", 1)

        group_by = None
        grouping = wire.get("groupingProperty")
        if wire["metricType"] == "GROUPED":
            group_by = EventField(FieldKind.PROPERTY, str(grouping))
            out.feeds(("groupingProperty",), "group_by", group_by)
        elif grouping is not None:
            out.drop(("groupingProperty",), "A SIMPLE metric is not split into groups.")
        out.feeds(("metricType",), "group_by", group_by)

        display = Display(name=wire["name"], description=wire.get("description"), unit=wire.get("unit"))
        for wire_name, aspect in (("name", "name"), ("description", "description"), ("unit", "unit")):
            if wire_name in wire:
                out.feeds((wire_name,), f"display.{aspect}", getattr(display, aspect))

        meaning = Meaning(
            events=Events((EventSource(wire["eventType"], conditions, measure),), supersede=Supersede.LAST_RECEIVED),
            aggregation=aggregation,
            unit=UNIT,
            window=WINDOW,
            display=display,
            group_by=group_by,
        )
        return out.build(meaning)

    def write(self, meaning: Meaning) -> Writing:
        out = WritingBuilder(self.resource)
        events = meaning.events
        if events.table is not None:
            raise out.refuse("it reads a data-warehouse table; Sequence usage metrics read events.")
        if len(events.sources) != 1:
            raise out.refuse(f"it reads {len(events.sources)} kinds of event; a Sequence usage metric reads one.")
        source = events.sources[0]
        if source.name is None:
            raise out.refuse("it reads every event; a Sequence usage metric reads one event type.")
        kind = meaning.aggregation.kind
        if kind not in _WIRE_AGGREGATIONS:
            raise out.refuse(f"Sequence has no '{kind.value}' aggregation (only COUNT, SUM and UNIQUE).")
        payload: dict[str, Any] = {
            "name": _text(meaning.display.name, TEXT_LENGTH) or "metric",
            "metricType": "SIMPLE",
            "eventType": source.name,
            "aggregationType": _WIRE_AGGREGATIONS[kind],
        }
        if meaning.display.description is not None:
            payload["description"] = _text(meaning.display.description, DESCRIPTION_LENGTH)
        if meaning.display.unit is not None:
            payload["unit"] = _text(meaning.display.unit, TEXT_LENGTH)
        if kind is not AggregationKind.COUNT:
            payload["aggregationProperty"] = self._measure(source.measure, out)
        if meaning.aggregation.arithmetic is not None:
            out.expect("aggregation.arithmetic", meaning.aggregation.arithmetic, Arithmetic.DECIMAL,
                       "Sequence adds exact decimals, not Float64 values.")  # fmt: skip
        self._filters(merged_conditions(events)[0], payload, out)
        if meaning.group_by is not None:
            if meaning.group_by.kind is FieldKind.PROPERTY:
                payload["metricType"] = "GROUPED"
                payload["groupingProperty"] = meaning.group_by.name
            else:
                out.note("group_by", "Sequence groups by an event property only.")
        out.expect("unit", meaning.unit, UNIT, "Sequence computes per customer (the events' customerAlias).")
        out.expect(
            "window", meaning.window, WINDOW, "Sequence computes over a billing period (UTC dates, end included)."
        )
        out.expect("events.supersede", events.supersede, Supersede.LAST_RECEIVED,
                   "Sequence counts only the last received of events sharing a customerEventId.")  # fmt: skip
        facts = {"tags": "tags", "direction": "direction", "currency": "currency format", "sparkline": "daily series"}
        out.display_facts(meaning.display, facts, "Sequence usage metrics")
        return out.build(payload)

    def _measure(self, measure: EventField | None, out: WritingBuilder) -> str:
        if measure is None:
            raise out.refuse("its events contribute no value, and SUM and UNIQUE need an aggregationProperty.")
        if measure.kind is FieldKind.PROPERTY:
            return measure.name
        if measure.kind is FieldKind.VALUE:
            out.note(f"{SOURCE}.measure", "Sequence reads event properties only: the value is read from 'value'.")
            return "value"
        raise out.refuse(
            f"it aggregates the {measure.kind.value} field '{measure.name}'; Sequence reads event properties."
        )

    def _filters(self, conditions: tuple[Condition, ...], payload: dict[str, Any], out: WritingBuilder) -> None:
        """``propertyFilters``: ``in`` conditions on event properties; others are noted and left out."""
        aspect = f"{SOURCE}.conditions"
        filters: dict[str, list[str]] = {}
        cases: set[bool] = set()
        for condition in conditions:
            field = condition.field
            if field.kind is not FieldKind.PROPERTY or condition.op is not Op.IN or condition.missing_passes:
                out.note(
                    aspect, f"Left out {describe(condition)}: Sequence filters accept listed property values only."
                )
                continue
            if not condition.values or len(field.name) > TEXT_LENGTH or not field.name.strip():
                out.note(aspect, f"Left out {describe(condition)}: not a property filter Sequence can store.")
                continue
            values = list(condition.values)
            if field.name in filters:  # both must hold: the values in both lists
                values = [value for value in filters[field.name] if value in condition.values]
                if not values:
                    out.note(
                        aspect, f"Left out {describe(condition)}: together with another filter it accepts nothing."
                    )
                    continue
            filters[field.name] = values
            cases.add(condition.case_sensitive)
        if not filters:
            return
        payload["propertyFilters"] = filters
        payload["caseSensitive"] = cases != {False}
        if len(cases) > 1:
            out.note(aspect, "Sequence has one caseSensitive flag: every filter is now case-sensitive.")


def _text(value: str, limit: int) -> str:
    """A text as Sequence stores it: trimmed, at most ``limit`` characters."""
    return value.strip()[:limit].strip()


_WIRE_AGGREGATIONS = {kind: wire for wire, kind in _AGGREGATIONS.items()}


USAGE_METRIC_MEANING = UsageMetricMeaning()
