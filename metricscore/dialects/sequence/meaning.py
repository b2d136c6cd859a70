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
    TranslationError,
    Unit,
    UnitKind,
    Window,
    WindowKind,
    Writing,
    data_keys_of,
    wire_payload,
)
from .usage_metrics import USAGE_METRICS, UsageMetricSchema

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
        raise TranslationError("Writing Sequence usage metrics is not available yet.")


USAGE_METRIC_MEANING = UsageMetricMeaning()
