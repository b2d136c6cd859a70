"""Regressions: library calls given values of a wrong type raise only metricscore's errors, naming
the bad argument, and store nothing."""

from __future__ import annotations

import math
from typing import Any

import pytest

import metricscore as mc
from metricscore.errors import ValidationError
from metricscore.testing.conformance.inputs import Ambiguous

EVENT = {"id": "e1", "name": "api_call", "timestamp": "2025-10-01T00:00:00Z", "properties": {"$group_0": "acme"}}


@pytest.fixture
def store() -> mc.Store:
    return mc.open_store("memory://")


@pytest.mark.parametrize(
    "file", [None, 5, 1.5, math.nan, True, [], ["a,b"], {}, {"eventType": "x"}, ("x",), object(), Ambiguous()]
)
def test_a_csv_upload_that_is_no_file_is_a_validation_error_naming_the_file(store: mc.Store, file: Any) -> None:
    events = store.sequence.usage_events(account_id="acct")
    with pytest.raises(ValidationError) as info:
        events.upload_csv(file)
    assert list(info.value.errors) == ["file"]
    assert events.list().count == 0


def test_a_csv_upload_takes_a_bytearray(store: mc.Store) -> None:
    events = store.sequence.usage_events(account_id="acct")
    file = bytearray(b"eventType,eventTimestamp,customerAlias\nsent,2025-01-01,c\n")
    assert events.upload_csv(file) == {"eventCount": 1}


def test_events_that_claim_to_be_iterable_but_are_not_are_refused(store: mc.Store) -> None:
    metrics = store.posthog.group_usage_metrics(project_id=1, group_type_index=0)
    metric = metrics.create({"name": "Calls", "filters": {"events": [{"id": "api_call"}]}})
    with pytest.raises(ValidationError) as info:
        metrics.events.append(Ambiguous())
    assert list(info.value.errors) == ["events"]
    with pytest.raises(mc.ConfigurationError):
        metrics.evaluate(metric["id"], events=Ambiguous(), group_key="acme")


def test_a_bad_event_given_to_evaluate_is_named_by_its_position(store: mc.Store) -> None:
    metrics = store.posthog.group_usage_metrics(project_id=1, group_type_index=0)
    metric = metrics.create({"name": "Calls", "filters": {"events": [{"id": "api_call"}]}})
    with pytest.raises(ValidationError) as info:
        metrics.evaluate(metric["id"], events=[EVENT, 5, {**EVENT, "timestamp": "soon"}], group_key="acme")
    errors = info.value.errors
    assert isinstance(errors, dict) and list(errors) == ["events"]
    assert sorted(errors["events"]) == ["1", "2"]
    assert list(errors["events"]["2"]) == ["timestamp"]


def test_numpy_values_as_parameters_name_the_parameter(store: mc.Store) -> None:
    np = pytest.importorskip("numpy")
    usage = store.sequence.usage_metrics(account_id="acct")
    events = store.sequence.usage_events(account_id="acct")
    metrics = store.posthog.group_usage_metrics(project_id=1, group_type_index=0)
    metric = metrics.create({"name": "Calls", "filters": {"events": [{"id": "api_call"}]}})
    for value in (np.array([1, 2]), np.array([]), np.array(["DESC", ""])):
        for name in ("limit", "after", "before"):
            with pytest.raises(ValidationError) as info:
                usage.list(**{name: value})
            assert list(info.value.errors) == [name]
        for name in ("sortBy", "sortOrder", "eventType", "eventTimestampAfter", "limit", "after"):
            with pytest.raises(ValidationError) as info:
                events.list(**{name: value})
            assert list(info.value.errors) == [name]
        for name in ("group_key", "now"):
            with pytest.raises(ValidationError) as info:
                metrics.evaluate(metric["id"], **{"group_key": "acme", name: value})
            assert list(info.value.errors) == [name]
        assert store.posthog.accounts(project_id=1).list(csm=value).count == 0
    with pytest.raises(ValidationError) as info:
        metrics.events.append(np.array(5))
    assert list(info.value.errors) == ["events"]


@pytest.mark.parametrize("settings", [5, "memory", b"x", ["a"], {5: "x"}, object(), Ambiguous()])
def test_settings_that_are_no_mapping_of_names_are_a_configuration_error(settings: Any) -> None:
    with pytest.raises(mc.ConfigurationError, match="settings"):
        mc.open_store("memory://", settings=settings)
    with pytest.raises(mc.ConfigurationError, match="settings"):
        mc.Store(mc.open_store("memory://").backend, settings=settings)


def test_a_setting_name_of_any_type_is_no_setting(store: mc.Store) -> None:
    for name in ([], {}, None, 5):
        assert store.setting(name) is None  # type: ignore[arg-type]
    assert mc.open_store("memory://", settings={"x": 1}).setting("x") == 1


@pytest.mark.parametrize("target", [None, 5, 1.5, [], {}, b"sqlite://", object(), Ambiguous()])
def test_sql_events_over_no_engine_is_a_configuration_error(target: Any) -> None:
    pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")
    from metricscore.evaluation import sql_events
    from metricscore.evaluation.events import EventsSource

    with pytest.raises(mc.ConfigurationError):
        sql_events(target, EventsSource(table="events", timestamp="ts", name="name"))
