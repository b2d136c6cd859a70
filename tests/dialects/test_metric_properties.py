"""Property tests for the three metric resources, driven by metricscore.testing.strategies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_schema_validator import OAS30Validator

import metricscore as mc
from metricscore.testing.clock import FakeClock
from metricscore.testing.strategies import (
    group_usage_metric_payloads,
    invalid_group_usage_metric_payloads,
    invalid_statsig_metric_payloads,
    invalid_usage_metric_payloads,
    json_values,
    statsig_metric_payloads,
    statsig_metric_updates,
    usage_metric_list_params,
    usage_metric_payloads,
)

FIXTURE = Path(__file__).parent.parent / "fixtures" / "statsig-read-metric-openapi.yaml"


def _with_boolean_conditions(schema: Any) -> Any:
    """The seed with ``is_true`` / ``is_false`` among the criteria conditions: the newer Console API
    spec lists them (evaluation-semantics.md 3.4), the seed predates them."""
    if isinstance(schema, dict):
        found = {key: _with_boolean_conditions(value) for key, value in schema.items()}
        if "not_contains" in found.get("enum", ()):
            found["enum"] = [*found["enum"], "is_true", "is_false"]
        return found
    if isinstance(schema, list):
        return [_with_boolean_conditions(item) for item in schema]
    return schema


READ_SCHEMA = _with_boolean_conditions(
    yaml.safe_load(FIXTURE.read_text())["components"]["schemas"]["ExternalMetricDefinitionContractDto"]
)
PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fresh_store() -> mc.Store:
    return mc.open_store("memory://", clock=FakeClock())


def services(store: mc.Store) -> list[Any]:
    return [
        store.posthog.group_usage_metrics(project_id=1, group_type_index=0),
        store.sequence.usage_metrics(account_id="a"),
        store.statsig.metrics(project_id="p"),
    ]


@PROPERTIES
@given(group_usage_metric_payloads())
def test_valid_group_usage_metrics_are_stored(payload: dict[str, Any]) -> None:
    metrics = fresh_store().posthog.group_usage_metrics(project_id=1, group_type_index=0)
    created = metrics.create(payload)
    assert created["name"] == str(payload["name"]).strip()
    assert created["filters"] == payload["filters"]
    assert metrics.get(created["id"]) == created
    assert metrics.replace(created["id"], payload) == created  # PUT of the same body changes nothing


@PROPERTIES
@given(invalid_group_usage_metric_payloads())
def test_invalid_group_usage_metrics_report_exactly_their_fields(case: tuple[dict[str, Any], set[str]]) -> None:
    payload, fields = case
    metrics = fresh_store().posthog.group_usage_metrics(project_id=1, group_type_index=0)
    with pytest.raises(mc.ValidationError) as info:
        metrics.create(payload)
    assert info.value.fields == fields
    assert metrics.list().count == 0


@PROPERTIES
@given(usage_metric_payloads())
def test_valid_usage_metrics_are_stored(payload: dict[str, Any]) -> None:
    usage = fresh_store().sequence.usage_metrics(account_id="a")
    created = usage.create(payload)
    assert created["propertyFilters"] == (payload.get("propertyFilters") or {})
    assert created["caseSensitive"] is payload.get("caseSensitive", True)
    assert usage.get(created["id"]) == created
    assert usage.replace(created["id"], payload) == created


@PROPERTIES
@given(invalid_usage_metric_payloads())
def test_invalid_usage_metrics_report_exactly_their_fields(case: tuple[dict[str, Any], set[str]]) -> None:
    payload, fields = case
    usage = fresh_store().sequence.usage_metrics(account_id="a")
    with pytest.raises(mc.ValidationError) as info:
        usage.create(payload, idempotency_key="k")
    assert info.value.fields == fields
    assert usage.list().count == 0


@PROPERTIES
@given(statsig_metric_payloads(), statsig_metric_updates())
def test_valid_statsig_metrics_are_stored_and_match_the_vendor_schema(
    payload: dict[str, Any], update: dict[str, Any]
) -> None:
    metrics = fresh_store().statsig.metrics(project_id="p")
    created = metrics.create(payload)
    assert created["id"] == f"{payload['name']}::{payload['type']}"
    assert metrics.get(created["id"]) == created
    updated = metrics.update(created["id"], update)
    for record in (created, updated):
        assert list(OAS30Validator(READ_SCHEMA).iter_errors(record)) == []


@PROPERTIES
@given(invalid_statsig_metric_payloads())
def test_invalid_statsig_metrics_report_exactly_their_fields(case: tuple[dict[str, Any], set[str]]) -> None:
    payload, fields = case
    metrics = fresh_store().statsig.metrics(project_id="p")
    with pytest.raises(mc.ValidationError) as info:
        metrics.create(payload)
    assert info.value.fields == fields
    assert metrics.list().count == 0


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values(), st.sampled_from(["create", "update", "replace", "delete", "get", "list"]))
def test_any_json_raises_only_metricscore_errors(value: Any, operation: str) -> None:
    store = fresh_store()
    for service in services(store):
        try:
            if operation == "create":
                service.create(value)
                service.create({"name": value, "filters": value, "metricType": value, "type": value})
            elif operation == "list":
                service.list(
                    limit=value,
                    offset=value,
                    after=value,
                    before=value,
                    page=value,
                    tags=value,
                    name=value,
                    id=value,
                    eventType=value,
                    aggregationType=value,
                )
            elif operation == "get":
                service.get(value)
            elif operation == "delete":
                service.delete(value)
            else:
                getattr(service, operation)(value, value)
        except mc.MetricscoreError:
            pass


def test_five_thousand_levels_deep_is_a_validation_error() -> None:
    deep: Any = "leaf"
    for _ in range(5000):
        deep = {"k": [deep]}
    store = fresh_store()
    gm, usage, statsig = services(store)
    for service, payload in (
        (gm, {"name": "x", "filters": deep}),
        (
            usage,
            {
                "name": "x",
                "metricType": "SIMPLE",
                "eventType": "e",
                "aggregationType": "COUNT",
                "propertyFilters": deep,
            },
        ),
        (statsig, {"name": "abcd", "type": "undefined", "warehouseNative": deep, "metricEvents": deep}),
        (statsig, deep),
    ):
        with pytest.raises(mc.ValidationError):
            service.create(payload)
    # Unknown fields are ignored, however deep; the idempotency fingerprint still works.
    created = usage.create(
        {"name": "x", "metricType": "SIMPLE", "eventType": "e", "aggregationType": "COUNT", "extra": deep},
        idempotency_key="deep",
    )
    assert created["name"] == "x"


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 12), st.integers(1, 5), st.data())
def test_cursor_pages_cover_every_item_once_both_ways(n: int, limit: int, data: st.DataObject) -> None:
    usage = fresh_store().sequence.usage_metrics(account_id="a")
    base = {"metricType": "SIMPLE", "eventType": "e", "aggregationType": "COUNT"}
    ids = [usage.create({**base, "name": f"m{i}"})["id"] for i in range(n)]
    deleted = set(data.draw(st.lists(st.sampled_from(ids), max_size=3, unique=True) if ids else st.just([])))
    for id in deleted:
        usage.delete(id)
    alive = [i for i in ids if i not in deleted]
    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        envelope = usage.list(limit=limit, after=cursor).envelope()
        pages.append(envelope)
        seen.extend(item["id"] for item in envelope["items"])
        assert envelope["pagination"]["totalResultSize"] == len(alive)
        cursor = envelope["pagination"]["after"]
        if cursor is None:
            break
    assert seen == alive
    # And back again from the last page.
    back: list[str] = []
    cursor = pages[-1]["pagination"]["before"]
    while cursor is not None:
        envelope = usage.list(limit=limit, before=cursor).envelope()
        back = [item["id"] for item in envelope["items"]] + back
        cursor = envelope["pagination"]["before"]
    assert back + [item["id"] for item in pages[-1]["items"]] == alive


@settings(max_examples=80, deadline=None)
@given(usage_metric_list_params())
def test_list_params_never_fail_and_count_matches(params: dict[str, Any]) -> None:
    usage = fresh_store().sequence.usage_metrics(account_id="a")
    base = {"metricType": "SIMPLE", "eventType": "message_sent", "aggregationType": "COUNT"}
    for name in ("Messages", "mess hall", "Calls"):
        usage.create({**base, "name": name})
    envelope = usage.list(**params).envelope()
    assert len(envelope["items"]) <= envelope["pagination"]["totalResultSize"]
