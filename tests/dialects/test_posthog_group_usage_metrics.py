"""PostHog group usage metrics: every rule of vendor-behaviour.md section 2."""

from __future__ import annotations

from typing import Any

import pytest

import metricscore as mc
from metricscore.dialects.posthog import render_error
from metricscore.testing import errors_of


@pytest.fixture
def metrics(store: mc.Store) -> Any:
    return store.posthog.group_usage_metrics(project_id=1, group_type_index=0)


def test_create_applies_defaults_and_renders_wire_order(metrics: Any) -> None:
    created = metrics.create({"name": "Revenue", "filters": {"events": [{"id": "$pageview"}]}})
    assert list(created) == ["id", "name", "format", "interval", "display", "filters", "math", "math_property"]
    assert created["format"] == "numeric"
    assert created["display"] == "number"
    assert created["interval"] == 7
    assert created["math"] == "count"
    assert created["math_property"] is None
    assert created["filters"] == {"events": [{"id": "$pageview"}]}
    assert metrics.get(created["id"]) == created


def test_enums_are_checked(metrics: Any) -> None:
    errors = errors_of(metrics.create, {"name": "x", "filters": {}, "format": "bogus", "display": "pie", "math": "avg"})
    assert errors == {
        "format": ['"bogus" is not a valid choice.'],
        "display": ['"pie" is not a valid choice.'],
        "math": ['"avg" is not a valid choice.'],
    }
    assert errors["format"][0].code == "invalid_choice"


def test_name_and_filters_are_required(metrics: Any) -> None:
    errors = errors_of(metrics.create, {})
    assert errors == {"name": ["This field is required."], "filters": ["This field is required."]}


@pytest.mark.parametrize("filters", [None, [], "x", 3])
def test_filters_must_be_an_object(metrics: Any, filters: Any) -> None:
    assert set(errors_of(metrics.create, {"name": "x", "filters": filters})) == {"filters"}


def test_name_at_most_255_characters(metrics: Any) -> None:
    assert metrics.create({"name": "x" * 255, "filters": {}})["name"] == "x" * 255
    assert errors_of(metrics.create, {"name": "x" * 256, "filters": {}})["name"][0].code == "max_length"


def test_math_property_at_most_255(metrics: Any) -> None:
    payload = {"name": "x", "filters": {}, "math": "sum", "math_property": "p" * 256}
    assert errors_of(metrics.create, payload)["math_property"][0].code == "max_length"


def test_events_source_sum_requires_math_property(metrics: Any) -> None:
    for filters in ({}, {"source": "events"}):
        errors = errors_of(metrics.create, {"name": "x", "filters": filters, "math": "sum"})
        assert errors == {"math_property": ["math_property is required when math is 'sum'."]}
    created = metrics.create({"name": "x", "filters": {}, "math": "sum", "math_property": "amount"})
    assert created["math_property"] == "amount"


def test_count_requires_empty_math_property(metrics: Any) -> None:
    errors = errors_of(metrics.create, {"name": "x", "filters": {}, "math_property": "amount"})
    assert errors == {"math_property": ["math_property must be empty when math is 'count'."]}
    assert metrics.create({"name": "y", "filters": {}, "math_property": ""})["math"] == "count"


def test_data_warehouse_requires_its_fields(metrics: Any) -> None:
    filters = {"source": "data_warehouse", "table_name": "t", "timestamp_field": "ts"}
    errors = errors_of(metrics.create, {"name": "x", "filters": filters})
    assert errors == {"filters": ["Data warehouse metrics require table_name, timestamp_field, key_field."]}
    filters["key_field"] = "k"
    assert metrics.create({"name": "x", "filters": filters})["filters"]["source"] == "data_warehouse"


def test_data_warehouse_sum_message(metrics: Any) -> None:
    filters = {"source": "data_warehouse", "table_name": "t", "timestamp_field": "ts", "key_field": "k"}
    errors = errors_of(metrics.create, {"name": "x", "filters": filters, "math": "sum"})
    assert errors == {"math_property": ["math_property (column to sum) is required when math is 'sum'."]}


def test_unknown_source(metrics: Any) -> None:
    errors = errors_of(metrics.create, {"name": "x", "filters": {"source": "hogql"}})
    assert errors == {"filters": ["Unknown source: 'hogql'"]}


def test_field_and_rule_errors_are_reported_together(metrics: Any) -> None:
    errors = errors_of(metrics.create, {"name": "", "filters": {}, "math": "sum", "format": "x"})
    assert set(errors) == {"name", "format", "math_property"}


def test_warehouse_hook_is_asked(clock: Any) -> None:
    asked: list[tuple[int, str]] = []

    def exists(project_id: int, table_name: str) -> bool:
        asked.append((project_id, table_name))
        return table_name == "stripe_charges"

    store = mc.open_store("memory://", clock=clock, warehouse_table_exists=exists)
    metrics = store.posthog.group_usage_metrics(project_id=9, group_type_index=2)
    filters = {"source": "data_warehouse", "table_name": "nope", "timestamp_field": "ts", "key_field": "k"}
    errors = errors_of(metrics.create, {"name": "x", "filters": filters})
    assert errors == {"filters": ["Data warehouse table 'nope' does not exist."]}
    metrics.create({"name": "x", "filters": {**filters, "table_name": "stripe_charges"}})
    assert asked == [(9, "nope"), (9, "stripe_charges")]
    assert metrics.list().count == 1


def test_without_hook_any_table_is_accepted(metrics: Any) -> None:
    filters = {"source": "data_warehouse", "table_name": "anything", "timestamp_field": "ts", "key_field": "k"}
    assert metrics.create({"name": "x", "filters": filters})["filters"]["table_name"] == "anything"


def test_math_rules_checked_on_merged_record_for_partial_update(metrics: Any) -> None:
    created = metrics.create({"name": "x", "filters": {}})
    errors = errors_of(metrics.update, created["id"], {"math": "sum"})
    assert errors == {"math_property": ["math_property is required when math is 'sum'."]}
    assert metrics.get(created["id"])["math"] == "count"
    updated = metrics.update(created["id"], {"math": "sum", "math_property": "amount"})
    assert (updated["math"], updated["math_property"]) == ("sum", "amount")
    errors = errors_of(metrics.update, created["id"], {"math": "count"})
    assert errors == {"math_property": ["math_property must be empty when math is 'count'."]}
    errors = errors_of(metrics.update, created["id"], {"filters": {"source": "data_warehouse"}})
    assert set(errors) == {"filters"}


def test_partial_update_keeps_other_fields(metrics: Any) -> None:
    created = metrics.create({"name": "x", "filters": {"a": 1}, "format": "currency", "interval": 30})
    updated = metrics.update(created["id"], {"name": "y"})
    assert updated == {**created, "name": "y"}


def test_put_resets_fields_with_defaults_and_keeps_the_rest(metrics: Any) -> None:
    created = metrics.create(
        {
            "name": "x",
            "filters": {},
            "format": "currency",
            "display": "sparkline",
            "interval": 30,
            "math": "sum",
            "math_property": "amount",
        }
    )
    errors = errors_of(metrics.replace, created["id"], {"name": "y"})
    assert errors == {"filters": ["This field is required."]}
    # math goes back to its default (count), so the kept math_property now breaks the count rule.
    errors = errors_of(metrics.replace, created["id"], {"name": "y", "filters": {}})
    assert errors == {"math_property": ["math_property must be empty when math is 'count'."]}
    replaced = metrics.replace(created["id"], {"name": "y", "filters": {}, "math": "sum"})
    assert replaced["format"] == "numeric"
    assert replaced["display"] == "number"
    assert replaced["interval"] == 7
    assert replaced["math_property"] == "amount"  # no default: kept


def test_name_unique_per_project_and_index_is_a_validation_error(store: mc.Store, metrics: Any) -> None:
    metrics.create({"name": "x", "filters": {}})
    errors = errors_of(metrics.create, {"name": "x", "filters": {}})
    assert errors["name"][0].code == "unique"
    status, body = render_error(mc.ValidationError(errors))
    assert status == 400
    assert body["code"] == "unique" and body["attr"] == "name"
    other = metrics.create({"name": "y", "filters": {}})
    assert errors_of(metrics.update, other["id"], {"name": "x"})["name"][0].code == "unique"
    # Another index or another project is another scope.
    store.posthog.group_usage_metrics(project_id=1, group_type_index=1).create({"name": "x", "filters": {}})
    store.posthog.group_usage_metrics(project_id=2, group_type_index=0).create({"name": "x", "filters": {}})


def test_scope_is_project_and_group_type_index(store: mc.Store, metrics: Any) -> None:
    created = metrics.create({"name": "x", "filters": {}})
    for other in (
        store.posthog.group_usage_metrics(project_id=1, group_type_index=1),
        store.posthog.group_usage_metrics(project_id=2, group_type_index=0),
    ):
        with pytest.raises(mc.NotFound):
            other.get(created["id"])
        with pytest.raises(mc.NotFound):
            other.delete(created["id"])
        assert other.list().count == 0


def test_group_type_index_comes_from_the_path_only(metrics: Any) -> None:
    created = metrics.create({"name": "x", "filters": {}, "group_type_index": 3, "id": "mine"})
    assert "group_type_index" not in created
    assert created["id"] != "mine"
    assert metrics.get(created["id"])["name"] == "x"


@pytest.mark.parametrize(
    "scope",
    [
        {"project_id": "1", "group_type_index": 0},
        {"project_id": 1, "group_type_index": 5},
        {"project_id": 1, "group_type_index": -1},
        {"project_id": 1, "group_type_index": True},
    ],
)
def test_scope_values_are_validated(store: mc.Store, scope: dict[str, Any]) -> None:
    with pytest.raises(mc.ValidationError):
        store.posthog.group_usage_metrics(**scope)


def test_delete_is_hard(metrics: Any) -> None:
    created = metrics.create({"name": "x", "filters": {}})
    metrics.delete(created["id"])
    with pytest.raises(mc.NotFound):
        metrics.get(created["id"])
    assert metrics.create({"name": "x", "filters": {}})["name"] == "x"  # the name is free again


def test_list_is_creation_order_with_limit_offset(metrics: Any) -> None:
    ids = [metrics.create({"name": f"m{i}", "filters": {}})["id"] for i in range(5)]
    page = metrics.list(limit="2", offset="1")
    assert [r["id"] for r in page.results] == ids[1:3]
    assert page.count == 5
    url = "https://h/api/projects/1/groups_types/0/metrics/?limit=2&offset=1"
    envelope = page.envelope(url)
    assert envelope["next"] == "https://h/api/projects/1/groups_types/0/metrics/?limit=2&offset=3"
    assert envelope["previous"] == "https://h/api/projects/1/groups_types/0/metrics/?limit=2"
    assert [r["id"] for r in metrics.list().results] == ids
    assert [r["id"] for r in metrics.list(limit="x", offset="-4").results] == ids


def test_a_failing_warehouse_hook_is_a_storage_error(clock: Any) -> None:
    def broken(project_id: int, table_name: str) -> bool:
        raise OSError("warehouse unreachable")

    store = mc.open_store("memory://", clock=clock, warehouse_table_exists=broken)
    metrics = store.posthog.group_usage_metrics(project_id=1, group_type_index=0)
    filters = {"source": "data_warehouse", "table_name": "t", "timestamp_field": "ts", "key_field": "k"}
    with pytest.raises(mc.StorageError):
        metrics.create({"name": "x", "filters": filters})
    assert metrics.list().count == 0
