"""Property tests built on the shipped strategies."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import metricscore as mc
from metricscore.dialects.posthog import render_error
from metricscore.testing.strategies import account_payloads, account_updates, invalid_account_payloads, json_values


def fresh_accounts() -> Any:
    return mc.open_store("memory://").posthog.accounts(project_id=1)


@given(account_payloads())
def test_a_valid_payload_loads_and_round_trips(payload: dict[str, Any]) -> None:
    accounts = fresh_accounts()
    created = accounts.create(payload)
    assert accounts.get(created["id"]) == created
    assert created["name"] == str(payload["name"]).strip()
    assert created["tags"] == sorted({t.strip().lower() for t in payload.get("tags", [])})
    assert created["properties"] == (payload.get("properties") or {})
    assert accounts.list().results == [created]


@given(account_payloads(), account_updates())
def test_a_partial_update_changes_exactly_the_fields_sent(payload: dict[str, Any], changes: dict[str, Any]) -> None:
    accounts = fresh_accounts()
    created = accounts.create(payload)
    updated = accounts.update(created["id"], changes)
    for field in ("name", "external_id", "properties", "tags"):
        if field not in changes:
            assert updated[field] == created[field]


@given(invalid_account_payloads())
def test_an_invalid_payload_names_exactly_its_bad_fields(case: tuple[Any, set[str]]) -> None:
    payload, fields = case
    accounts = fresh_accounts()
    try:
        accounts.create(payload)
    except mc.ValidationError as error:
        assert set(error.errors) == fields
        status, body = render_error(error)
        assert status == 400 and body["attr"] is not None and body["attr"].split("__")[0] in fields
    else:
        raise AssertionError(f"{payload!r} was accepted")
    assert accounts.list().count == 0


@settings(max_examples=200)
@given(
    st.one_of(
        json_values(), st.dictionaries(st.sampled_from(["name", "tags", "properties", "external_id"]), json_values())
    )
)
def test_any_json_value_raises_nothing_but_metricscore_errors(value: Any) -> None:
    accounts = fresh_accounts()
    for call in (
        lambda: accounts.create(value),
        lambda: accounts.update("x", value),
        lambda: accounts.list(tags=value, search=value, csm=value, ordering=value, limit=value, offset=value),
    ):
        try:
            call()
        except mc.MetricscoreError as error:
            render_error(error)  # renders without raising, however odd the input


@given(st.dictionaries(st.text(max_size=10), json_values(), max_size=5))
def test_any_json_object_as_properties_is_accepted_or_refused_cleanly(properties: dict[str, Any]) -> None:
    try:
        fresh_accounts().create({"name": "a", "properties": properties})
    except mc.ValidationError as error:
        assert set(error.errors) == {"properties"}


RESOURCES = {
    "posthog.accounts": lambda store: store.posthog.accounts(project_id=1),
    "posthog.group_usage_metrics": lambda store: store.posthog.group_usage_metrics(project_id=1, group_type_index=0),
    "sequence.usage_metrics": lambda store: store.sequence.usage_metrics(account_id="acct-1"),
    "statsig.metrics": lambda store: store.statsig.metrics(project_id="p1"),
}


@settings(max_examples=30)
@given(st.data())
def test_generic_strategies_serve_every_resource(data: st.DataObject) -> None:
    from metricscore.testing.strategies import invalid_payloads, payloads

    name = data.draw(st.sampled_from(sorted(RESOURCES)))
    service = RESOURCES[name](mc.open_store("memory://"))
    created = service.create(data.draw(payloads(name)))
    assert service.get(created["id"]) == created
    payload, fields = data.draw(invalid_payloads(name))
    try:
        service.create(payload)
    except mc.ValidationError as error:
        assert set(error.errors) == fields
    else:
        raise AssertionError(f"{name}: {payload!r} was accepted")
