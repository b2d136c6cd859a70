"""mc.translate: examples of what carries over, what is approximated, dropped or refused."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metricscore as mc
from metricscore.testing.strategies import json_values
from metricscore.translation import Status

SEQ, STATSIG, POSTHOG = "sequence.usage_metrics", "statsig.metrics", "posthog.group_usage_metrics"

REVENUE = {
    "name": "Revenue",
    "type": "sum",
    "unitTypes": ["userID"],
    "tags": ["money"],
    "isVerified": True,
    "metricEvents": [
        {
            "name": "purchase",
            "type": "metadata",
            "metadataKey": "price",
            "criteria": [
                {"type": "metadata", "column": "plan", "condition": "in", "values": ["pro", "team"]},
                {"type": "value", "condition": "sql_filter"},
            ],
        }
    ],
}


def statuses(report: mc.TranslationReport) -> dict[str, str]:
    return {item.field: item.status.value for item in report.fields}


def test_statsig_sum_to_sequence() -> None:
    payload, report = mc.translate(REVENUE, source=STATSIG, target=SEQ)
    assert payload == {
        "name": "Revenue",
        "metricType": "SIMPLE",
        "eventType": "purchase",
        "aggregationType": "SUM",
        "aggregationProperty": "price",
        "propertyFilters": {"plan": ["pro", "team"]},
        "caseSensitive": True,
    }
    assert statuses(report) == {
        "name": "exact",
        "type": "exact",
        "unitTypes": "approximated",
        "tags": "dropped",
        "isVerified": "dropped",
        "metricEvents[0].name": "exact",
        "metricEvents[0].type": "exact",
        "metricEvents[0].metadataKey": "exact",
        "metricEvents[0].criteria[0]": "exact",
        "metricEvents[0].criteria[1]": "dropped",
    }
    assert "SQL filter" in report.outcome("metricEvents[0].criteria[1]").detail
    assert report.outcome("unitTypes").context_only
    assert {item.aspect for item in report.implied} >= {"window", "events.supersede"}
    store = mc.open_store("memory://")
    assert store.sequence.usage_metrics(account_id="a").create(payload)["aggregationProperty"] == "price"


def test_strict_lists_every_loss_and_accepts_context_changes() -> None:
    with pytest.raises(mc.TranslationError) as info:
        mc.translate(REVENUE, source=STATSIG, target=SEQ, strict=True)
    error = info.value
    assert error.code == "lossy_translation" and isinstance(error, mc.MetricscoreError)
    assert {getattr(item, "field", None) for item in error.items} == {
        "tags", "isVerified", "metricEvents[0].criteria[1]"}  # fmt: skip
    assert "tags: dropped" in str(error) and "unitTypes" not in str(error)
    simple = {"name": "Messages", "metricType": "SIMPLE", "eventType": "message_sent", "aggregationType": "COUNT"}
    payload, report = mc.translate(simple, source=SEQ, target=STATSIG, strict=True)
    assert payload["type"] == "event_count_custom" and payload["metricEvents"] == [{"name": "message_sent"}]
    assert not report.losses and not report.exact
    assert {item.aspect for item in report.context} == {"unit", "window", "events.supersede"}
    assert {d.field: d.value for d in report.defaults}["unitTypes"] == ["userID"]


def test_what_the_target_cannot_express_is_refused() -> None:
    mean = {**REVENUE, "type": "mean"}
    with pytest.raises(mc.TranslationError, match="no 'mean' aggregation") as info:
        mc.translate(mean, source=STATSIG, target=SEQ)
    assert info.value.code == "untranslatable"
    two_events = {**REVENUE, "metricEvents": [{"name": "a"}, {"name": "b"}]}
    with pytest.raises(mc.TranslationError, match="2 kinds of event"):
        mc.translate(two_events, source=STATSIG, target=SEQ)
    unique = {"name": "Users", "metricType": "SIMPLE", "eventType": "e", "aggregationType": "UNIQUE",
              "aggregationProperty": "user"}  # fmt: skip
    with pytest.raises(mc.TranslationError, match="'unique_values'"):
        mc.translate(unique, source=SEQ, target=POSTHOG)
    table = {"source": "data_warehouse", "table_name": "t", "timestamp_field": "ts", "key_field": "k"}
    warehouse = {"name": "MRR", "math": "sum", "math_property": "amount", "filters": table}
    for target in (SEQ, STATSIG):
        with pytest.raises(mc.TranslationError, match="data-warehouse table"):
            mc.translate(warehouse, source=POSTHOG, target=target)
    with pytest.raises(mc.TranslationError, match="reads every event"):
        mc.translate({"name": "All", "filters": {}}, source=POSTHOG, target=SEQ)


def test_invalid_sources_and_unknown_resources() -> None:
    with pytest.raises(mc.ValidationError) as info:
        mc.translate({"name": "Bad!", "type": "sum"}, source=STATSIG, target=SEQ)
    assert {"name", "unitTypes", "metricEvents"} <= info.value.fields
    for junk in (None, [], "x", 5):
        with pytest.raises(mc.ValidationError):
            mc.translate(junk, source=SEQ, target=STATSIG)
    with pytest.raises(mc.TranslationError, match="no other dialect has a counterpart") as refused:
        mc.translate({"name": "Acme"}, source="posthog.accounts", target=SEQ)
    assert refused.value.code == "unknown_resource"
    for resource in (None, 5, "sequence.nope"):
        with pytest.raises(mc.TranslationError):
            mc.translate(REVENUE, source=STATSIG, target=resource)  # type: ignore[arg-type]


def test_sequence_to_posthog_and_back() -> None:
    source = {
        "name": "SMS",
        "metricType": "GROUPED",
        "eventType": "sms",
        "aggregationType": "SUM",
        "aggregationProperty": "segments",
        "groupingProperty": "country",
        "propertyFilters": {"channel": ["text"]},
        "unit": "segments",
    }
    payload, report = mc.translate(source, source=SEQ, target=POSTHOG)
    assert payload == {
        "name": "SMS",
        "math": "sum",
        "math_property": "segments",
        "interval": 7,
        "filters": {
            "events": [{"id": "sms", "type": "events"}],
            "properties": [{"key": "channel", "operator": "exact", "type": "event", "value": ["text"]}],
        },
    }
    found = statuses(report)
    assert found["groupingProperty"] == found["unit"] == "dropped"
    assert found["aggregationType"] == "approximated"
    assert "Float64" in report.outcome("aggregationType").detail
    assert found["propertyFilters.channel"] == found["eventType"] == "exact"
    assert {d.field: d.value for d in report.defaults}["interval"] == 7
    back, _ = mc.translate(payload, source=POSTHOG, target=SEQ)
    for field in ("name", "eventType", "aggregationProperty", "propertyFilters"):
        assert back[field] == source[field]


def test_posthog_operators_to_statsig_criteria() -> None:
    source: dict[str, Any] = {
        "name": "Checkout",
        "filters": {
            "events": [{"id": "checkout", "properties": [{"key": "plan", "operator": "is_not", "value": "free"}]}],
            "properties": [{"key": "email", "operator": "icontains", "value": "@acme", "type": "person"}],
        },
    }
    payload, report = mc.translate(source, source=POSTHOG, target=STATSIG)
    assert payload["metricEvents"] == [
        {
            "name": "checkout",
            "criteria": [
                {"type": "metadata", "condition": "not_in", "column": "plan", "values": ["free"],
                 "nullVacuousOverride": True},
                {"type": "user", "condition": "contains", "column": "email", "values": ["@acme"]},
            ],
        }
    ]  # fmt: skip
    assert payload["name"] == "Checkout"
    assert report.outcome("filters.events[0].properties[0]").status is Status.EXACT
    case = report.outcome("filters.properties[0]")
    assert case.status is Status.APPROXIMATED and "case-sensitive" in case.detail
    json.dumps(report.to_dict())


RESOURCES = (SEQ, STATSIG, POSTHOG)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
SHALLOW = st.recursive(
    SCALARS, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c), max_leaves=6
)
JUNK = SHALLOW | SCALARS | json_values()


def posthog_junk() -> st.SearchStrategy[dict[str, Any]]:
    """PostHog payloads whose free-form ``filters`` hold anything at all."""
    entry = st.dictionaries(st.sampled_from(["id", "type", "properties", "key", "x"]), JUNK, max_size=4)
    prop = st.dictionaries(st.sampled_from(["key", "value", "operator", "type"]), JUNK, max_size=4)
    parts = {"events": st.lists(entry, max_size=3) | JUNK, "properties": st.lists(prop, max_size=3) | JUNK,
             "source": JUNK, "actions": JUNK}  # fmt: skip
    filters = st.fixed_dictionaries({}, optional=parts)
    maths = {"math": st.sampled_from(["sum", "count"]), "math_property": JUNK}
    return st.fixed_dictionaries({"name": st.just("Junk"), "filters": filters}, optional=maths)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=json_values() | posthog_junk(), source=st.sampled_from(RESOURCES), target=st.sampled_from(RESOURCES),
       strict=st.booleans())  # fmt: skip
def test_nothing_but_metricscore_errors_escape(payload: Any, source: str, target: str, strict: bool) -> None:
    with contextlib.suppress(mc.MetricscoreError):
        mc.translate(payload, source=source, target=target, strict=strict)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=posthog_junk(), target=st.sampled_from([SEQ, STATSIG]))
def test_hostile_posthog_filters_are_read_or_refused(payload: Any, target: str) -> None:
    with contextlib.suppress(mc.MetricscoreError):
        mc.translate(payload, source=POSTHOG, target=target)


def test_records_as_the_apis_render_them_translate_like_their_payloads() -> None:
    store = mc.open_store("memory://")
    rendered = store.statsig.metrics(project_id="p").create(REVENUE)
    assert "createdTime" in rendered and "lineage" in rendered
    from_record, record_report = mc.translate(rendered, source=STATSIG, target=SEQ)
    from_payload, _ = mc.translate(REVENUE, source=STATSIG, target=SEQ)
    assert from_record == from_payload
    assert record_report.outcome("name").status is Status.EXACT
    sequence = store.sequence.usage_metrics(account_id="a").create(from_payload)
    assert "createdAt" in sequence and "id" in sequence
    assert mc.translate(sequence, source=SEQ, target=STATSIG).payload["metricEvents"][0]["name"] == "purchase"


def test_statsig_boolean_criteria_round_trip_and_reach_sequence_exactly() -> None:
    checkout = {
        "name": "Paid checkouts",
        "type": "event_count_custom",
        "unitTypes": ["userID"],
        "metricEvents": [
            {
                "name": "checkout",
                "criteria": [
                    {"type": "metadata", "column": "paid", "condition": "is_true"},
                    {"type": "metadata", "column": "trial", "condition": "is_false"},
                ],
            }
        ],
    }
    back = mc.translate(checkout, "statsig.metrics", "statsig.metrics", strict=True).payload
    assert back["metricEvents"][0]["criteria"] == checkout["metricEvents"][0]["criteria"]
    sequence = mc.translate(checkout, "statsig.metrics", "sequence.usage_metrics").payload
    assert (sequence["propertyFilters"], sequence["caseSensitive"]) == ({"paid": ["true"], "trial": ["false"]}, False)
    again = mc.translate(sequence, "sequence.usage_metrics", "statsig.metrics").payload
    assert {c["condition"] for c in again["metricEvents"][0]["criteria"]} == {"is_true", "is_false"}
