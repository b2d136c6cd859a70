"""Every list of every payload has a documented cap, and a payload a total size: at the limit is
accepted, one past it is a ValidationError naming the field, in each vendor's error format."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import metricscore as mc
from benchmarks.bench_limits import check, worst_payloads
from metricscore.dialects.posthog import render_error as posthog_error
from metricscore.dialects.posthog.accounts import LIMITS as ACCOUNT_LIMITS
from metricscore.dialects.sequence import render_error as sequence_error
from metricscore.dialects.sequence.usage_metrics import LIMITS as USAGE_LIMITS
from metricscore.dialects.statsig import render_error as statsig_error
from metricscore.dialects.statsig.schemas import LIMITS as STATSIG_LIMITS
from metricscore.limits import (
    MAX_FILTER_VALUES,
    MAX_PAYLOAD_VALUES,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_COLUMNS,
    MAX_UPLOAD_ROWS,
)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "dialects"
USAGE = {"name": "m", "metricType": "SIMPLE", "eventType": "e", "aggregationType": "COUNT"}
STATSIG = {"name": "metric", "type": "sum", "unitTypes": ["u"], "metricEvents": [{"name": "e"}]}
CRITERION = {"type": "value", "condition": "in", "values": ["a"]}


@pytest.fixture
def store() -> mc.Store:
    return mc.open_store("memory://")


def _statsig_payloads() -> dict[str, Callable[[int], dict[str, Any]]]:
    return {
        "tags": lambda n: {**STATSIG, "tags": [f"t{i}" for i in range(n)]},
        "unitTypes": lambda n: {**STATSIG, "unitTypes": [f"u{i}" for i in range(n)]},
        "metricEvents": lambda n: {**STATSIG, "metricEvents": [{"name": f"e{i}"} for i in range(n)]},
        "metricComponentMetrics": lambda n: {
            **STATSIG,
            "type": "composite",
            "metricComponentMetrics": [{"name": f"c{i}", "type": "sum"} for i in range(n)],
        },
        "funnelEventList": lambda n: {
            **STATSIG,
            "type": "funnel",
            "funnelCountDistinct": "users",
            "funnelEventList": [{"name": f"e{i}", "type": "event_user"} for i in range(n)],
        },
        "criteria": lambda n: {**STATSIG, "metricEvents": [{"name": "e", "criteria": [CRITERION] * n}]},
        "criteria[].values": lambda n: {
            **STATSIG,
            "metricEvents": [{"name": "e", "criteria": [{**CRITERION, "values": [f"v{i}" for i in range(n)]}]}],
        },
        "warehouseNative.funnelEvents": lambda n: {**STATSIG, "warehouseNative": {"funnelEvents": [{}] * n}},
        "warehouseNative.metricDimensionColumns": lambda n: {
            **STATSIG,
            "warehouseNative": {"metricDimensionColumns": [f"c{i}" for i in range(n)]},
        },
    }


#: The field path each limit is reported under, in the Statsig error body.
STATSIG_PATHS = {
    "criteria": "metricEvents.0.criteria",
    "criteria[].values": "metricEvents.0.criteria.0.values",
}


@pytest.mark.parametrize("limit", sorted(STATSIG_LIMITS))
def test_statsig_lists(store: mc.Store, limit: str) -> None:
    metrics = store.statsig.metrics(project_id="p")
    build = _statsig_payloads()[limit]
    cap = STATSIG_LIMITS[limit]
    try:
        metrics.create(build(cap), dry_run=True)
    except mc.ValidationError as error:  # another rule may object (component metrics must exist)
        assert "no more than" not in str(error)
    with pytest.raises(mc.ValidationError) as error:
        metrics.create(build(cap + 1), dry_run=True)
    status, body = statsig_error(error.value)
    path = STATSIG_PATHS.get(limit, limit)
    assert (status, body["errors"]) == (400, {path: [f"Ensure this field has no more than {cap} elements."]})


def test_posthog_tags(store: mc.Store) -> None:
    accounts = store.posthog.accounts(project_id=1)
    cap = ACCOUNT_LIMITS["tags"]
    assert len(accounts.create({"name": "a", "tags": [f"t{i}" for i in range(cap)]})["tags"]) == cap
    with pytest.raises(mc.ValidationError) as error:
        accounts.create({"name": "a", "tags": [f"t{i}" for i in range(cap + 1)]})
    status, body = posthog_error(error.value)
    assert (status, body["attr"], body["code"]) == (400, "tags", "max_length")
    assert accounts.list().count == 1


def test_sequence_property_filters(store: mc.Store) -> None:
    usage = store.sequence.usage_metrics(account_id="a")
    properties, values = USAGE_LIMITS["propertyFilters"], USAGE_LIMITS["propertyFilters.*"]
    usage.create({**USAGE, "propertyFilters": {f"p{i}": ["v"] for i in range(properties)}})
    usage.create({**USAGE, "propertyFilters": {"p": [f"v{i}" for i in range(values)]}})
    with pytest.raises(mc.ValidationError) as error:
        usage.create({**USAGE, "propertyFilters": {f"p{i}": ["v"] for i in range(properties + 1)}})
    assert sequence_error(error.value)[1] == {
        "errors": [{"key": "propertyFilters", "error": f"Ensure this field has no more than {properties} properties."}]
    }
    with pytest.raises(mc.ValidationError) as error:
        usage.create({**USAGE, "propertyFilters": {"p": [f"v{i}" for i in range(values + 1)]}})
    assert error.value.errors == {"propertyFilters": {"p": [f"Ensure this field has no more than {values} elements."]}}
    assert usage.list().count == 2


def test_a_payload_holds_a_bounded_number_of_values(store: mc.Store) -> None:
    metrics = store.posthog.group_usage_metrics(project_id=1, group_type_index=0)
    at_limit = {"name": "m", "filters": {"values": [1] * (MAX_PAYLOAD_VALUES - 4)}}
    metrics.create(at_limit)
    with pytest.raises(mc.ValidationError) as error:
        metrics.create({"name": "n", "filters": {"values": [1] * (MAX_PAYLOAD_VALUES - 2)}})
    assert list(error.value.errors) == ["filters"]
    assert error.value.errors["filters"][0].code == "max_length"
    # 60,000 metric events (2.6 s of validation before the limits) are refused at once.
    started = time.perf_counter()
    with pytest.raises(mc.ValidationError) as error:
        store.statsig.metrics(project_id="p").create({**STATSIG, "metricEvents": [{"name": "e"}] * 60_000})
    assert list(error.value.errors) == ["metricEvents"]
    assert time.perf_counter() - started < 0.5
    # unknown fields are not read, so they do not count
    metrics.create({"name": "x", "filters": {}, "unknown": [1] * (10 * MAX_PAYLOAD_VALUES)})


@pytest.mark.parametrize(
    ("service", "param", "values"),
    [
        ("accounts", "tags", lambda n: json.dumps([f"t{i}" for i in range(n)])),
        ("usage", "eventType", lambda n: ",".join(f"e{i}" for i in range(n))),
        ("usage", "aggregationType", lambda n: [f"a{i}" for i in range(n)]),
        ("statsig", "tags", lambda n: ",".join(f"t{i}" for i in range(n))),
    ],
)
def test_list_filters_name_a_bounded_number_of_values(
    store: mc.Store, service: str, param: str, values: Callable[[int], Any]
) -> None:
    services = {
        "accounts": store.posthog.accounts(project_id=1),
        "usage": store.sequence.usage_metrics(account_id="a"),
        "statsig": store.statsig.metrics(project_id="p"),
    }
    assert services[service].list(**{param: values(MAX_FILTER_VALUES)}).count == 0
    with pytest.raises(mc.ValidationError) as error:
        services[service].list(**{param: values(MAX_FILTER_VALUES + 1)})
    assert error.value.errors == {param: [f"Ensure this field has no more than {MAX_FILTER_VALUES} elements."]}


def test_the_worst_accepted_payloads_of_the_benchmark_are_accepted(store: mc.Store) -> None:
    for name, (service, payload) in worst_payloads(store).items():
        check(payload)
        assert service.create(payload, dry_run=True), name


@pytest.mark.parametrize(
    ("page", "limits"),
    [("posthog.md", ACCOUNT_LIMITS), ("sequence.md", USAGE_LIMITS), ("statsig.md", STATSIG_LIMITS)],
)
def test_the_dialect_docs_list_every_limit(page: str, limits: dict[str, int]) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    for field, cap in limits.items():
        assert f"| `{field}` | {cap} " in text, field
    assert f"| {MAX_PAYLOAD_VALUES} JSON values" in text
    assert f"| {MAX_FILTER_VALUES} values" in text


def test_a_usage_events_file_has_bounded_bytes_rows_and_columns(store: mc.Store) -> None:
    events = store.sequence.usage_events(account_id="a")
    header, row = "eventType,eventTimestamp,customerAlias", "sent,2026-01-05,c\n"
    assert events.upload_csv(f"{header}\n{row * MAX_UPLOAD_ROWS}") == {"eventCount": MAX_UPLOAD_ROWS}

    def wide(properties: int) -> str:
        names = [f"eventProperty#p{i}" for i in range(properties)]
        return ",".join([header, *names]) + "\n" + row.strip() + ",1" * properties + "\n"

    assert events.upload_csv(wide(MAX_UPLOAD_COLUMNS - 3)) == {"eventCount": 1}
    started = time.perf_counter()
    for too_large in (
        f"{header}\n{row * (MAX_UPLOAD_ROWS + 1)}",
        wide(MAX_UPLOAD_COLUMNS - 2),
        header + "\n" + "x" * MAX_UPLOAD_BYTES,
        (header + "\n" + "x" * MAX_UPLOAD_BYTES).encode(),
    ):
        with pytest.raises(mc.ValidationError) as error:
            events.upload_csv(too_large)
        assert list(error.value.errors) == ["file"]
        assert "no more than" in sequence_error(error.value)[1]["errors"][0]["error"]
    assert time.perf_counter() - started < 2
    assert events.list().count == MAX_UPLOAD_ROWS + 1
    text = (DOCS / "sequence.md").read_text(encoding="utf-8")
    for cap in (f"{MAX_UPLOAD_BYTES} bytes", f"{MAX_UPLOAD_ROWS} rows", f"{MAX_UPLOAD_COLUMNS} columns"):
        assert f"| {cap}" in text, cap
