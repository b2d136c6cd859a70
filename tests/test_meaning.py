"""The canonical meaning of a metric definition, as each metric dialect reads it."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metricscore as mc
from metricscore.meaning import (
    Aggregation,
    AggregationKind,
    Arithmetic,
    Condition,
    Direction,
    EventField,
    EventSource,
    FieldKind,
    Op,
    Supersede,
    TranslationError,
    Unit,
    UnitKind,
    WarehouseTable,
    Window,
    WindowKind,
    aspects,
    meaning_of,
    numeric_value,
    read,
    text_form,
    translatable_resources,
)
from metricscore.testing.strategies import payloads

METRIC_RESOURCES = ("posthog.group_usage_metrics", "sequence.usage_metrics", "statsig.metrics")
BOUNDED = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def prop(name: str) -> EventField:
    return EventField(FieldKind.PROPERTY, name)


# -- Sequence ---------------------------------------------------------------------------------


def test_sequence_sum_with_filters_and_grouping() -> None:
    meaning = meaning_of(
        "sequence.usage_metrics",
        {
            "name": " SMS sent ",
            "metricType": "GROUPED",
            "eventType": "message_sent",
            "aggregationType": "SUM",
            "aggregationProperty": "length",
            "groupingProperty": "country",
            "propertyFilters": {"channel": ["text", "email"], "plan": ["pro"]},
            "caseSensitive": False,
            "unit": "bytes",
        },
    )
    (source,) = meaning.events.sources
    assert source.name == "message_sent"
    assert source.measure == prop("length")
    assert set(source.conditions) == {
        Condition(prop("channel"), Op.IN, ("email", "text"), case_sensitive=False),
        Condition(prop("plan"), Op.IN, ("pro",), case_sensitive=False),
    }
    assert all(not c.missing_passes for c in source.conditions)
    assert meaning.events.supersede is Supersede.LAST_RECEIVED
    assert meaning.aggregation == Aggregation(AggregationKind.SUM, Arithmetic.DECIMAL)
    assert meaning.unit == Unit(UnitKind.CUSTOMER)
    assert meaning.window == Window(WindowKind.PERIOD)
    assert meaning.group_by == prop("country")
    assert (meaning.display.name, meaning.display.unit) == ("SMS sent", "bytes")


def test_sequence_count_ignores_its_aggregation_property_and_unique_reads_values() -> None:
    reading = read(
        "sequence.usage_metrics",
        {"name": "n", "metricType": "SIMPLE", "eventType": "e", "aggregationType": "COUNT", "aggregationProperty": "p"},
    )
    assert reading.meaning.aggregation == Aggregation(AggregationKind.COUNT)
    assert reading.meaning.aggregation.arithmetic is None
    assert reading.meaning.events.sources[0].measure is None
    assert "COUNT" in reading.dropped[("aggregationProperty",)]
    unique = meaning_of(
        "sequence.usage_metrics",
        {
            "name": "n",
            "metricType": "SIMPLE",
            "eventType": "e",
            "aggregationType": "UNIQUE",
            "aggregationProperty": "u",
        },
    )
    assert unique.aggregation.kind is AggregationKind.UNIQUE_VALUES
    assert unique.events.sources[0].measure == prop("u")
    assert unique.events.sources[0].conditions == ()


# -- PostHog ----------------------------------------------------------------------------------


def test_posthog_events_properties_and_operators() -> None:
    reading = read(
        "posthog.group_usage_metrics",
        {
            "name": "Revenue",
            "format": "currency",
            "display": "sparkline",
            "interval": 30,
            "math": "sum",
            "math_property": "amount",
            "filters": {
                "events": [
                    {"id": "purchase", "type": "events", "properties": [{"key": "plan", "value": ["pro", 2]}]},
                    {"id": None},
                ],
                "properties": [
                    {"key": "$browser", "operator": "is_not", "value": "bot"},
                    {"key": "email", "operator": "icontains", "value": "@acme", "type": "person"},
                    {"key": "n", "operator": "gte", "value": 3},
                    {"nonsense": True},
                ],
                "filter_test_accounts": True,
            },
        },
    )
    meaning = reading.meaning
    assert meaning.events.sources == (
        EventSource("purchase", (Condition(prop("plan"), Op.IN, ("2", "pro")),), prop("amount")),
        EventSource(None, (), prop("amount")),
    )
    assert set(meaning.events.where) == {
        Condition(prop("$browser"), Op.NOT_IN, ("bot",), missing_passes=True),
        Condition(EventField(FieldKind.USER, "email"), Op.CONTAINS, ("@acme",), case_sensitive=False),
        Condition(prop("n"), Op.GE, ("3",)),
    }
    assert meaning.aggregation == Aggregation(AggregationKind.SUM, Arithmetic.FLOAT64)
    assert meaning.unit == Unit(UnitKind.GROUP)
    assert meaning.window == Window(WindowKind.TRAILING_DAYS, 30)
    assert meaning.display.currency and meaning.display.sparkline
    assert set(reading.dropped) == {("filters", "properties", 3), ("filters", "filter_test_accounts")}


def test_posthog_all_events_and_data_warehouse() -> None:
    everything = meaning_of("posthog.group_usage_metrics", {"name": "all", "filters": {}})
    assert everything.events.reads_everything
    assert everything.aggregation == Aggregation(AggregationKind.COUNT)
    warehouse = meaning_of(
        "posthog.group_usage_metrics",
        {
            "name": "mrr",
            "math": "sum",
            "math_property": "amount * 2",
            "filters": {"source": "data_warehouse", "table_name": "t", "timestamp_field": "ts", "key_field": "org"},
        },
    )
    assert warehouse.events.table == WarehouseTable("t", "ts", "org")
    assert warehouse.events.sources == (EventSource(None, (), EventField(FieldKind.COLUMN, "amount * 2")),)
    assert not warehouse.events.reads_everything


# -- Statsig ----------------------------------------------------------------------------------


def test_statsig_sum_reads_value_or_metadata_and_criteria() -> None:
    reading = read(
        "statsig.metrics",
        {
            "name": "Revenue",
            "type": "sum",
            "unitTypes": ["userID", "stableID"],
            "directionality": "decrease",
            "tags": "money",
            "metricEvents": [
                {"name": "purchase", "type": "metadata", "metadataKey": "price", "criteria": [
                    {"type": "metadata", "column": "plan", "condition": "=", "values": ["pro"]},
                    {"type": "user", "column": "country", "condition": "not_in", "values": ["FR"],
                     "nullVacuousOverride": True},
                    {"type": "value", "condition": "sql_filter"},
                ]},
                {"name": "refund"},
            ],
        },
    )  # fmt: skip
    first, second = reading.meaning.events.sources
    assert first.measure == prop("price")
    assert set(first.conditions) == {
        Condition(prop("plan"), Op.IN, ("pro",)),
        Condition(EventField(FieldKind.USER, "country"), Op.NOT_IN, ("FR",), missing_passes=True),
    }
    assert second == EventSource("refund", (), EventField(FieldKind.VALUE))
    assert reading.meaning.unit == Unit(UnitKind.ID_TYPE, ("userID", "stableID"))
    assert reading.meaning.window == Window(WindowKind.DAY)
    assert reading.meaning.display.direction is Direction.DECREASE
    assert reading.meaning.display.tags == ("money",)
    assert ("metricEvents", 0, "criteria", 2) in reading.dropped


def test_statsig_count_user_and_distinct() -> None:
    base = {"name": "Clicks", "unitTypes": ["userID"]}
    count = meaning_of("statsig.metrics", {**base, "type": "event_count_custom", "metricEvents": [{"name": "click"}]})
    assert count.aggregation.kind is AggregationKind.COUNT and count.events.sources[0].measure is None
    distinct = meaning_of(
        "statsig.metrics",
        {
            **base,
            "type": "event_count_custom",
            "metricEvents": [{"name": "c", "type": "count_distinct", "metadataKey": "k"}],
        },
    )
    assert distinct.aggregation.kind is AggregationKind.UNIQUE_VALUES
    assert distinct.events.sources[0].measure == prop("k")
    active = meaning_of(
        "statsig.metrics",
        {
            **base,
            "type": "event_user",
            "metricEvents": [{"name": "c", "criteria": [{"type": "value", "condition": "non_null"}]}],
        },
    )
    assert active.aggregation.kind is AggregationKind.ACTIVE_UNITS
    assert active.events.sources[0].conditions == (Condition(EventField(FieldKind.VALUE), Op.IS_SET),)


@pytest.mark.parametrize("kind", ["funnel", "ratio", "composite", "undefined", "user_warehouse"])
def test_statsig_types_without_a_meaning_are_refused(kind: str) -> None:
    payload: dict[str, Any] = {"name": "Thing", "type": kind, "unitTypes": ["userID"], "metricEvents": [{"name": "e"}]}
    if kind == "funnel":
        payload.update(funnelCountDistinct="users", funnelEventList=[{"name": "a", "type": "event_user"}] * 2)
    with pytest.raises(TranslationError, match=kind) as info:
        meaning_of("statsig.metrics", payload)
    assert info.value.code == "untranslatable"
    assert isinstance(info.value, mc.MetricscoreError)


# -- every dialect ----------------------------------------------------------------------------


def test_invalid_payloads_are_validation_errors() -> None:
    for resource in METRIC_RESOURCES:
        with pytest.raises(mc.ValidationError):
            meaning_of(resource, {"name": 5})
        with pytest.raises(mc.ValidationError):
            meaning_of(resource, [1, 2])


def test_accounts_and_unknown_resources_have_no_meaning() -> None:
    assert translatable_resources() == sorted(METRIC_RESOURCES)
    for resource in ("posthog.accounts", "nope", 5, None):
        with pytest.raises(TranslationError) as info:
            meaning_of(resource, {"name": "x"})  # type: ignore[arg-type]
        assert info.value.code == "unknown_resource"


@pytest.mark.parametrize("resource", METRIC_RESOURCES)
@BOUNDED
@given(data=st.data())
def test_every_valid_payload_has_a_meaning_and_every_field_is_accounted_for(resource: str, data: st.DataObject) -> None:
    payload = data.draw(payloads(resource))
    try:
        reading = read(resource, payload)
    except TranslationError as error:
        assert resource == "statsig.metrics" and error.code == "untranslatable"
        return
    covered = {path[0] for path in (*reading.fields, *reading.dropped)}
    assert set(reading.payload) <= covered
    for contributions in reading.fields.values():
        for contribution in contributions:
            assert contribution.holds_in(aspects(reading.meaning)), contribution


def test_text_form_and_numeric_reading() -> None:
    assert [text_form(v) for v in ("a", 12, 2.5, True, False, None, {}, [])] == [
        "a", "12", "2.5", "true", "false", None, None, None]  # fmt: skip
    numbers = [numeric_value(v) for v in (3, 2.5, "-2.5", "1e3", " 1", "", "abc", True, None, "nan", [1])]
    assert numbers == [Decimal(3), Decimal("2.5"), Decimal("-2.5"), Decimal("1e3"), *[None] * 7]


def test_the_core_model_imports_no_dialect() -> None:
    code = "import sys, metricscore.meaning; print([m for m in sys.modules if m.startswith('metricscore.dialects')])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_third_party_codec_registers_by_resource_name() -> None:
    from metricscore.meaning import Meaning, Reading, ReadingBuilder, Writing, codecs

    class Echo:
        """A dialect whose payload is ``{"event": name}`` and counts that event."""

        resource = "acme.counters"
        scope = ("tenant",)

        def read(self, payload: Any) -> Reading:
            if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
                raise mc.ValidationError({"event": ["This field is required."]})
            out = ReadingBuilder(payload)
            out.feeds(("event",), "events.sources[0].name", payload["event"])
            name = payload["event"]
            sequence = {"name": name, "metricType": "SIMPLE", "eventType": name, "aggregationType": "COUNT"}
            base = meaning_of("sequence.usage_metrics", sequence)
            return out.build(base)

        def write(self, meaning: Meaning) -> Writing:
            return Writing({"event": meaning.events.sources[0].name})

    codecs.register_codec(Echo())
    try:
        assert "acme.counters" in translatable_resources()
        payload, report = mc.translate({"event": "signup"}, source="acme.counters", target="statsig.metrics")
        assert payload["metricEvents"] == [{"name": "signup"}]
        assert report.outcome("event").status == "exact"
        back, _ = mc.translate(payload, source="statsig.metrics", target="acme.counters")
        assert back == {"event": "signup"}
    finally:
        codecs._runtime.pop("acme.counters", None)
