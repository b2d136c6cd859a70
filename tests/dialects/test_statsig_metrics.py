"""Statsig metric definitions: every rule of vendor-behaviour.md section 5."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator

import metricscore as mc
from metricscore.dialects.statsig import error_headers, render_error
from metricscore.testing import errors_of
from metricscore.testing.clock import FakeClock

FIXTURE = Path(__file__).parent.parent / "fixtures" / "statsig-read-metric-openapi.yaml"
SUM = {"name": "TestMetricCapi", "type": "sum", "unitTypes": ["userID"], "metricEvents": [{"name": "add_to_cart"}]}


@pytest.fixture(scope="module")
def read_schema() -> dict[str, Any]:
    document = yaml.safe_load(FIXTURE.read_text())
    schema: dict[str, Any] = document["components"]["schemas"]["ExternalMetricDefinitionContractDto"]
    return schema


def assert_valid_read(schema: dict[str, Any], record: dict[str, Any]) -> None:
    errors = [e.message for e in OAS30Validator(schema).iter_errors(record)]
    assert errors == []


@pytest.fixture
def metrics(store: mc.Store) -> Any:
    return store.statsig.metrics(project_id="p1")


def test_create_matches_the_seed_response(metrics: Any) -> None:
    created = metrics.create(
        {
            "name": "TestMetricCapi",
            "type": "sum",
            "description": "Capi Metric",
            "team": "Console Team",
            "unitTypes": ["userID"],
            "metricEvents": [{"name": "add_to_cart", "type": "metadata"}],
        }
    )
    assert created == {
        "id": "TestMetricCapi::sum",
        "name": "TestMetricCapi",
        "directionality": "increase",
        "type": "sum",
        "description": "Capi Metric",
        "isPermanent": False,
        "isReadOnly": False,
        "isHidden": False,
        "isVerified": False,
        "tags": [],
        "creatorName": "CONSOLE API",
        "creatorEmail": None,
        "createdTime": 1704110400123,  # the FakeClock's 2024-01-01T12:00:00.123456Z, in ms
        "owner": {"name": "CONSOLE API"},
        "lineage": {"events": ["add_to_cart"], "metrics": []},
        "team": "Console Team",
        "teamID": None,
        "unitTypes": ["userID"],
        "metricEvents": [{"name": "add_to_cart", "type": "metadata", "criteria": []}],
        "metricComponentMetrics": [],
    }
    assert metrics.get("TestMetricCapi::sum") == created


def test_creator_is_the_key_name(metrics: Any) -> None:
    created = metrics.create(SUM, actor_id="ci key")
    assert created["creatorName"] == "ci key"
    assert created["owner"] == {"name": "ci key"}
    other = metrics.create({**SUM, "name": "second"}, actor_id={"name": "Ada", "email": "ada@x.io", "id": 7})
    assert (other["creatorName"], other["creatorEmail"]) == ("Ada", "ada@x.io")


def test_read_records_validate_against_the_vendor_schema(metrics: Any, read_schema: dict[str, Any]) -> None:
    base = metrics.create(SUM)
    full = metrics.create(
        {
            "name": "Everything (v2) / 100% : ok",
            "type": "funnel",
            "description": "d" * 1000,
            "directionality": "decrease",
            "tags": "solo",
            "isVerified": True,
            "isReadOnly": True,
            "unitTypes": ["stableID"],
            "metricEvents": [
                {
                    "name": "e",
                    "type": None,
                    "metadataKey": "k",
                    "criteria": [
                        {
                            "type": "metadata",
                            "condition": ">=",
                            "column": "c",
                            "values": ["1"],
                            "nullVacuousOverride": True,
                        }
                    ],
                }
            ],
            "funnelEventList": [{"name": "a", "type": "event_dau"}, {"name": "b", "type": "event_count_custom"}],
            "funnelCountDistinct": "users",
            "rollupTimeWindow": "custom",
            "customRollUpStart": 0,
            "customRollUpEnd": 14.5,
            "warehouseNative": {
                "aggregation": "",
                "winsorizationHigh": 1,
                "winsorizationLow": 0,
                "cupedAttributionWindow": None,
                "funnelEvents": [{"name": None, "sessionIdentifierField": None, "criteria": []}],
                "funnelCountDistinct": "sessions",
                "funnelStartCriteria": "exposure",
                "metricDimensionColumns": ["country"],
                "allowNullRatioDenominator": True,
            },
            "team": None,
            "teamID": "t1",
        }
    )
    composite = metrics.create(
        {
            "name": "combo",
            "type": "composite_sum",
            "unitTypes": ["userID"],
            "metricComponentMetrics": [
                {"name": "TestMetricCapi", "type": "sum"},
                {"name": "Everything (v2) / 100% : ok", "type": "funnel"},
            ],
        }
    )
    updated = metrics.update(base["id"], {"owner": {"name": "Grace"}, "tags": ["a", "b"]}, actor_id="editor")
    archived = metrics.schedule_archive(full["id"])
    for record in (base, full, composite, updated, archived, metrics.get(full["id"]), *metrics.list().results):
        assert_valid_read(read_schema, record)
    assert composite["lineage"] == {
        "events": [],
        "metrics": ["TestMetricCapi::sum", "Everything (v2) / 100% : ok::funnel"],
    }


def test_schema_validator_catches_a_bad_record(read_schema: dict[str, Any]) -> None:
    errors = list(OAS30Validator(read_schema).iter_errors({"id": "x", "name": "x", "type": "nope"}))
    assert errors  # the fixture really constrains records


# -- names, ids and uniqueness ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["abc", "x" * 201, "bad!name", "tab\tname", "émoji", "", None, 1234])
def test_bad_names(metrics: Any, name: Any) -> None:
    assert set(errors_of(metrics.create, {**SUM, "name": name})) == {"name"}


@pytest.mark.parametrize("name", ["abcd", "x" * 200, "a_b.c-d(e)/f g%h:i", "1234", "    "])
def test_good_names(metrics: Any, name: str) -> None:
    assert metrics.create({**SUM, "name": name})["id"] == f"{name}::sum"


def test_name_is_required_and_type_must_be_a_create_type(metrics: Any) -> None:
    assert set(errors_of(metrics.create, {})) == {"name", "type"}
    for kind in ("setup_incomplete", "import_window", "SUM", "count"):
        assert set(errors_of(metrics.create, {**SUM, "type": kind})) == {"type"}


def test_every_create_type_is_accepted(metrics: Any) -> None:
    metrics.create({**SUM, "name": "part one"})
    metrics.create({**SUM, "name": "part two"})
    extras: dict[str, dict[str, Any]] = {
        "event_user": {"metricEvents": [{"name": "e", "criteria": [{"type": "user", "condition": "in"}]}]},
        "funnel": {
            "funnelCountDistinct": "events",
            "funnelEventList": [{"name": "a", "type": "event_dau"}, {"name": "b", "type": "event_user"}],
        },
        "composite_sum": {
            "metricComponentMetrics": [{"name": "part one", "type": "sum"}, {"name": "part two", "type": "sum"}]
        },
    }
    for kind in (
        "ratio",
        "mean",
        "event_count_custom",
        "event_user",
        "funnel",
        "composite",
        "composite_sum",
        "sum",
        "undefined",
        "user_warehouse",
    ):
        created = metrics.create({**SUM, "name": f"metric {kind}", "type": kind, **extras.get(kind, {})})
        assert created["id"] == f"metric {kind}::{kind}"


def test_name_and_type_unique_is_409(metrics: Any) -> None:
    metrics.create(SUM)
    with pytest.raises(mc.Conflict):
        metrics.create(SUM)
    with pytest.raises(mc.Conflict):
        metrics.create(SUM, dry_run=True)
    assert metrics.create({**SUM, "type": "mean"})["id"] == "TestMetricCapi::mean"
    other = metrics.create({**SUM, "name": "other"})
    with pytest.raises(mc.Conflict):
        metrics.update(other["id"], {"name": "TestMetricCapi"})


def test_rename_keeps_the_id(metrics: Any) -> None:
    created = metrics.create(SUM)
    renamed = metrics.update(created["id"], {"name": "Renamed"})
    assert renamed["id"] == "TestMetricCapi::sum"
    assert metrics.get("TestMetricCapi::sum")["name"] == "Renamed"
    assert metrics.get_by_name("Renamed", "sum")["id"] == "TestMetricCapi::sum"
    with pytest.raises(mc.NotFound):
        metrics.get_by_name("TestMetricCapi", "sum")
    # The old id is still taken, so the old name with the same type cannot come back.
    with pytest.raises(mc.Conflict):
        metrics.create(SUM)


def test_scope_is_the_project(store: mc.Store, metrics: Any) -> None:
    created = metrics.create(SUM)
    other = store.statsig.metrics(project_id="p2")
    with pytest.raises(mc.NotFound):
        other.get(created["id"])
    with pytest.raises(mc.NotFound):
        other.get_by_name("TestMetricCapi", "sum")
    assert other.create(SUM)["id"] == created["id"]  # (name, type) is unique per project only


# -- fields ---------------------------------------------------------------------------------------


def test_defaults_and_simple_fields(metrics: Any) -> None:
    created = metrics.create({**SUM, "tags": "one", "isPermanent": True})
    assert created["tags"] == ["one"]
    assert created["isPermanent"] is True
    assert created["directionality"] == "increase"
    assert metrics.create({**SUM, "name": "list tags", "tags": ["b", "a", "b"]})["tags"] == ["b", "a"]
    errors = errors_of(
        metrics.create,
        {
            **SUM,
            "description": "d" * 1001,
            "directionality": "up",
            "tags": [1],
            "isVerified": "no",
            "unitTypes": "userID",
            "team": 5,
        },
    )
    assert set(errors) == {"description", "directionality", "tags", "isVerified", "unitTypes", "team"}


@pytest.mark.parametrize(
    ("events", "path"),
    [
        ([{}], ("metricEvents", "0", "name")),
        ([{"name": "e", "type": "sum"}], ("metricEvents", "0", "type")),
        ([{"name": "e", "criteria": [{"condition": "in"}]}], ("metricEvents", "0", "criteria", "0", "type")),
        ([{"name": "e", "criteria": [{"type": "value"}]}], ("metricEvents", "0", "criteria", "0", "condition")),
        (
            [{"name": "e", "criteria": [{"type": "value", "condition": "like"}]}],
            ("metricEvents", "0", "criteria", "0", "condition"),
        ),
        (
            [{"name": "e", "criteria": [{"type": "value", "condition": "in", "values": [1]}]}],
            ("metricEvents", "0", "criteria", "0", "values", "0"),
        ),
        ("e", ("metricEvents",)),
    ],
)
def test_metric_event_shapes(metrics: Any, events: Any, path: tuple[str, ...]) -> None:
    with pytest.raises(mc.ValidationError) as info:
        metrics.create({**SUM, "metricEvents": events})
    assert [p for p, _ in info.value.flat()] == [path]


def test_every_criteria_condition_is_accepted(metrics: Any) -> None:
    conditions = [
        "in",
        "not_in",
        "=",
        ">",
        "<",
        ">=",
        "<=",
        "is_null",
        "non_null",
        "contains",
        "not_contains",
        "sql_filter",
        "starts_with",
        "ends_with",
        "after_exposure",
    ]
    events = [
        {"name": "e", "type": t, "criteria": [{"type": ct, "condition": c} for c in conditions]}
        for t, ct in (
            ("count", "value"),
            ("count_distinct", "metadata"),
            ("value", "user"),
            ("metadata", "user_custom"),
            (None, "value"),
        )
    ]
    assert len(metrics.create({**SUM, "metricEvents": events})["metricEvents"]) == 5


def test_funnel_shapes(metrics: Any) -> None:
    errors = errors_of(
        metrics.create,
        {
            **SUM,
            "funnelEventList": [{"name": "a", "type": "event_sum"}, {"type": "event_dau"}],
            "funnelCountDistinct": "sessions",
        },
    )
    assert set(errors) == {"funnelEventList", "funnelCountDistinct"}


@pytest.mark.parametrize(
    ("warehouse", "path"),
    [
        ({"winsorizationHigh": 1.5}, ("warehouseNative", "winsorizationHigh")),
        ({"winsorizationLow": -0.1}, ("warehouseNative", "winsorizationLow")),
        ({"aggregation": "median"}, ("warehouseNative", "aggregation")),
        ({"funnelCountDistinct": "events"}, ("warehouseNative", "funnelCountDistinct")),
        ({"funnelStartCriteria": "first"}, ("warehouseNative", "funnelStartCriteria")),
        ({"criteria": [{"type": "metadata"}]}, ("warehouseNative", "criteria", "0", "condition")),
        ({"cap": "big"}, ("warehouseNative", "cap")),
        ([], ("warehouseNative",)),
    ],
)
def test_warehouse_native_shapes(metrics: Any, warehouse: Any, path: tuple[str, ...]) -> None:
    with pytest.raises(mc.ValidationError) as info:
        metrics.create({**SUM, "warehouseNative": warehouse})
    assert [p for p, _ in info.value.flat()] == [path]


def test_warehouse_native_keeps_known_fields_only(metrics: Any) -> None:
    created = metrics.create({**SUM, "warehouseNative": {"winsorizationHigh": 0.99, "unknownThing": 1}})
    assert created["warehouseNative"] == {"winsorizationHigh": 0.99}


# -- rules by type ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sum", "mean", "event_count_custom", "ratio"])
def test_aggregate_types_need_unit_types_and_events(metrics: Any, kind: str) -> None:
    errors = errors_of(metrics.create, {"name": "abcd", "type": kind})
    assert set(errors) == {"unitTypes", "metricEvents"}
    errors = errors_of(metrics.create, {"name": "abcd", "type": kind, "unitTypes": [], "metricEvents": []})
    assert set(errors) == {"unitTypes", "metricEvents"}


def test_event_user_needs_criteria_on_every_event(metrics: Any) -> None:
    with pytest.raises(mc.ValidationError) as info:
        metrics.create(
            {
                "name": "abcd",
                "type": "event_user",
                "metricEvents": [{"name": "a", "criteria": [{"type": "value", "condition": "in"}]}, {"name": "b"}],
            }
        )
    assert [p for p, _ in info.value.flat()] == [("metricEvents", "1", "criteria")]


def test_funnel_needs_count_distinct_and_two_events(metrics: Any) -> None:
    errors = errors_of(
        metrics.create, {"name": "abcd", "type": "funnel", "funnelEventList": [{"name": "a", "type": "event_dau"}]}
    )
    assert set(errors) == {"funnelCountDistinct", "funnelEventList"}


def test_composite_needs_unit_types(metrics: Any) -> None:
    assert set(errors_of(metrics.create, {"name": "abcd", "type": "composite"})) == {"unitTypes"}


def test_composite_sum_needs_more_than_one_existing_component(metrics: Any) -> None:
    metrics.create(SUM)
    one = [{"name": "TestMetricCapi", "type": "sum"}]
    errors = errors_of(
        metrics.create, {"name": "abcd", "type": "composite_sum", "unitTypes": ["u"], "metricComponentMetrics": one}
    )
    assert set(errors) == {"metricComponentMetrics"}
    two = [*one, {"name": "missing", "type": "sum"}]
    with pytest.raises(mc.ValidationError) as info:
        metrics.create({"name": "abcd", "type": "composite_sum", "unitTypes": ["u"], "metricComponentMetrics": two})
    assert [p for p, _ in info.value.flat()] == [("metricComponentMetrics", "1")]
    assert "missing::sum" in str(info.value)


def test_components_must_exist_for_any_type(metrics: Any) -> None:
    errors = errors_of(
        metrics.create,
        {
            "name": "abcd",
            "type": "composite",
            "unitTypes": ["u"],
            "metricComponentMetrics": [{"name": "ghost", "type": "mean"}],
        },
    )
    assert set(errors) == {"metricComponentMetrics"}


def test_custom_rollup_window(metrics: Any) -> None:
    base = {**SUM, "rollupTimeWindow": "custom"}
    assert set(errors_of(metrics.create, base)) == {"customRollUpStart", "customRollUpEnd"}
    errors = errors_of(metrics.create, {**base, "customRollUpStart": 5, "customRollUpEnd": 2})
    assert errors == {"customRollUpStart": ["customRollUpStart must not be after customRollUpEnd."]}
    created = metrics.create({**base, "customRollUpStart": 3, "customRollUpEnd": 3})
    assert (created["customRollUpStart"], created["customRollUpEnd"]) == (3, 3)
    assert metrics.create({**SUM, "name": "latest", "rollupTimeWindow": "latest"})["rollupTimeWindow"] == "latest"


# -- update ----------------------------------------------------------------------------------------


def test_update_changes_only_the_fields_sent(metrics: Any, clock: FakeClock) -> None:
    created = metrics.create({**SUM, "description": "old", "tags": ["x"]})
    updated = metrics.update(created["id"], {"description": "new", "isVerified": True}, actor_id="editor")
    assert updated["description"] == "new" and updated["isVerified"] is True
    assert updated["tags"] == ["x"] and updated["unitTypes"] == ["userID"]
    assert updated["createdTime"] == created["createdTime"]
    assert updated["lastModifiedTime"] > created["createdTime"]
    assert updated["lastModifierName"] == "editor"
    assert "lastModifiedTime" not in created


def test_update_whitelist(metrics: Any) -> None:
    created = metrics.create(SUM)
    errors = errors_of(metrics.update, created["id"], {"type": "mean", "metricEvents": [], "description": 5})
    assert set(errors) == {"type", "metricEvents", "description"}
    assert errors["type"] == ["This field cannot be updated."]
    allowed = {
        "name": "abcde",
        "description": "",
        "tags": [],
        "isVerified": True,
        "isReadOnly": True,
        "isPermanent": True,
        "unitTypes": ["u"],
        "team": "t",
        "teamID": "1",
        "directionality": "decrease",
        "owner": {"name": "o"},
        "warehouseNative": {"cap": 3},
        "dryRun": False,
    }
    updated = metrics.update(created["id"], allowed)
    assert updated["owner"] == {"name": "o"} and updated["warehouseNative"] == {"cap": 3}


def test_update_rechecks_rules_on_the_merged_record(metrics: Any) -> None:
    created = metrics.create(SUM)
    assert set(errors_of(metrics.update, created["id"], {"unitTypes": []})) == {"unitTypes"}
    assert metrics.get(created["id"])["unitTypes"] == ["userID"]


def test_owner_shape(metrics: Any) -> None:
    created = metrics.create(SUM)
    assert set(errors_of(metrics.update, created["id"], {"owner": {}})) == {"owner"}
    assert set(errors_of(metrics.update, created["id"], {"owner": "me"})) == {"owner"}


# -- dry runs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["argument", "payload"])
def test_dry_run_create_stores_nothing(metrics: Any, how: str) -> None:
    payload = {**SUM, "dryRun": True} if how == "payload" else SUM
    result = metrics.create(payload, dry_run=how == "argument")
    assert result["id"] == "TestMetricCapi::sum"
    assert "dryRun" not in result
    with pytest.raises(mc.NotFound):
        metrics.get("TestMetricCapi::sum")
    assert metrics.list().count == 0
    with pytest.raises(mc.ValidationError):
        metrics.create({"name": "abcd", "type": "sum", "dryRun": True})


def test_dry_run_false_in_payload_stores(metrics: Any) -> None:
    metrics.create({**SUM, "dryRun": False})
    assert metrics.list().count == 1


@pytest.mark.parametrize("how", ["argument", "payload"])
def test_dry_run_update_stores_nothing(metrics: Any, how: str) -> None:
    created = metrics.create(SUM)
    change = {"description": "would be"}
    result = metrics.update(
        created["id"], {**change, "dryRun": True} if how == "payload" else change, dry_run=how == "argument"
    )
    assert result["description"] == "would be"
    assert metrics.get(created["id"]) == created


# -- delete ----------------------------------------------------------------------------------------


def test_delete(metrics: Any) -> None:
    created = metrics.create(SUM)
    assert metrics.delete(created["id"])["id"] == created["id"]
    with pytest.raises(mc.NotFound):
        metrics.get(created["id"])
    assert metrics.create(SUM)["id"] == created["id"]  # a hard delete frees the id


def test_delete_refused_for_a_component_in_use(metrics: Any) -> None:
    metrics.create(SUM)
    metrics.create({**SUM, "name": "second"})
    combo = metrics.create(
        {
            "name": "combo",
            "type": "composite_sum",
            "unitTypes": ["u"],
            "metricComponentMetrics": [{"name": "TestMetricCapi", "type": "sum"}, {"name": "second", "type": "sum"}],
        }
    )
    with pytest.raises(mc.Conflict) as info:
        metrics.delete("TestMetricCapi::sum")
    assert "combo::composite_sum" in info.value.message
    metrics.get("TestMetricCapi::sum")
    metrics.delete(combo["id"])
    metrics.delete("TestMetricCapi::sum")


def test_delete_refused_for_permanent(metrics: Any) -> None:
    created = metrics.create({**SUM, "isPermanent": True})
    with pytest.raises(mc.Conflict) as info:
        metrics.delete(created["id"])
    assert "isPermanent" in info.value.message
    metrics.update(created["id"], {"isPermanent": False})
    metrics.delete(created["id"])


# -- archive ---------------------------------------------------------------------------------------


def test_archive_lifecycle(metrics: Any, clock: FakeClock) -> None:
    created = metrics.create(SUM)
    with pytest.raises(mc.Conflict):
        metrics.cancel_archive(created["id"])
    with pytest.raises(mc.Conflict):
        metrics.unarchive(created["id"])
    scheduled = metrics.schedule_archive(created["id"], actor_id="ops")
    assert scheduled["archiveTime"] > created["createdTime"]
    assert scheduled["lastModifierName"] == "ops"
    with pytest.raises(mc.Conflict):
        metrics.schedule_archive(created["id"])
    with pytest.raises(mc.Conflict):
        metrics.unarchive(created["id"])  # not archived yet
    assert "archiveTime" not in metrics.cancel_archive(created["id"])
    again = metrics.schedule_archive(created["id"])
    assert again["archiveTime"] - again["lastModifiedTime"] == 24 * 3600 * 1000  # "for next day"
    clock.advance(timedelta(days=1))
    with pytest.raises(mc.Conflict):
        metrics.cancel_archive(created["id"])  # too late
    with pytest.raises(mc.Conflict):
        metrics.schedule_archive(created["id"])
    assert "archiveTime" not in metrics.unarchive(created["id"])
    with pytest.raises(mc.NotFound):
        metrics.schedule_archive("nope::sum")


def test_permanent_metrics_cannot_be_archived(metrics: Any) -> None:
    created = metrics.create({**SUM, "isPermanent": True})
    with pytest.raises(mc.Conflict):
        metrics.schedule_archive(created["id"])


# -- listing ---------------------------------------------------------------------------------------


def test_list_pages_and_pagination_object(metrics: Any) -> None:
    ids = [metrics.create({**SUM, "name": f"metric {i}"})["id"] for i in range(7)]
    page = metrics.list(page="2", limit="3")
    assert [r["id"] for r in page.results] == ids[3:6]
    assert page.envelope() == {
        "message": "Metrics listed successfully.",
        "data": page.results,
        "pagination": {
            "itemsPerPage": 3,
            "pageNumber": 2,
            "totalItems": 7,
            "nextPage": "/console/v1/metrics/list?page=3&limit=3",
            "previousPage": "/console/v1/metrics/list?page=1&limit=3",
            "all": "/console/v1/metrics/list",
        },
    }
    last = metrics.list(page=3, limit=3).envelope()["pagination"]
    assert last["nextPage"] is None
    first = metrics.list().envelope()["pagination"]
    assert (first["pageNumber"], first["itemsPerPage"], first["previousPage"], first["nextPage"]) == (
        1,
        100,
        None,
        None,
    )
    assert metrics.list(page="x", limit="0").envelope()["pagination"]["itemsPerPage"] == 100
    assert metrics.list(page=99, limit=3).results == []
    assert metrics.list(page=10**19, limit=10**19).results == []


def test_list_tags_filter(metrics: Any) -> None:
    a = metrics.create({**SUM, "name": "aaaa", "tags": ["growth", "core"]})["id"]
    b = metrics.create({**SUM, "name": "bbbb", "tags": ["core"]})["id"]
    metrics.create({**SUM, "name": "cccc"})
    assert [r["id"] for r in metrics.list(tags="growth").results] == [a]
    assert [r["id"] for r in metrics.list(tags=["core"]).results] == [a, b]
    assert [r["id"] for r in metrics.list(tags="growth,core").results] == [a, b]
    assert metrics.list(tags="", showHiddenMetrics="true").count == 3


# -- errors ----------------------------------------------------------------------------------------


def test_error_bodies(metrics: Any) -> None:
    with pytest.raises(mc.ValidationError) as info:
        metrics.create({"name": "ab", "type": "sum", "metricEvents": [{}], "unitTypes": ["u"]})
    status, body = render_error(info.value)
    assert status == 400
    assert body["status"] == 400
    assert body["message"] == "Invalid request. Please check the request input and try again."
    assert set(body["errors"]) == {"name", "metricEvents.0.name"}
    assert render_error(mc.NotFound()) == (
        404,
        {"status": 404, "message": "Not Found. The requested resource could not be found."},
    )
    status, body = render_error(mc.Unauthenticated())
    assert status == 401 and body["message"].startswith("This endpoint only accepts an active CONSOLE key")
    assert render_error(mc.Conflict("taken")) == (409, {"status": 409, "message": "taken"})
    limited = mc.RateLimited("slow down", retry_after=7)
    assert render_error(limited) == (429, {"status": 429, "message": "slow down"})
    assert error_headers(limited) == {"Retry-After": "7"}
    assert error_headers(mc.NotFound()) == {}
