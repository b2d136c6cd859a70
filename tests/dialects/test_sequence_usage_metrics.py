"""Sequence usage metrics: every rule of vendor-behaviour.md section 4."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import metricscore as mc
from metricscore.dialects.sequence import render_error
from metricscore.testing import errors_of
from metricscore.testing.clock import FakeClock

VALID = {"name": "Messages", "metricType": "SIMPLE", "eventType": "message_sent", "aggregationType": "COUNT"}
WIRE = [
    "id",
    "sequenceAccountId",
    "name",
    "description",
    "metricType",
    "eventType",
    "aggregationType",
    "aggregationProperty",
    "groupingProperty",
    "propertyFilters",
    "caseSensitive",
    "unit",
    "createdAt",
    "deletedAt",
]


@pytest.fixture
def usage(store: mc.Store) -> Any:
    return store.sequence.usage_metrics(account_id="ec1479a2-6ba1-421f-a7de-0853a20d17a1")


def test_create_renders_the_seed_shape_with_defaults(usage: Any) -> None:
    created = usage.create(VALID)
    assert list(created) == WIRE
    assert created["sequenceAccountId"] == "ec1479a2-6ba1-421f-a7de-0853a20d17a1"
    assert created["propertyFilters"] == {}
    assert created["caseSensitive"] is True
    assert created["description"] is None and created["unit"] is None
    assert created["deletedAt"] is None
    assert created["createdAt"] == "2024-01-01T12:00:00.123456Z"
    assert usage.get(created["id"]) == created


def test_seed_example_round_trips(usage: Any) -> None:
    payload = {
        "aggregationProperty": "message_length",
        "aggregationType": "SUM",
        "caseSensitive": False,
        "description": "Total length of sent messages.",
        "eventType": "message_sent",
        "groupingProperty": "channel",
        "metricType": "GROUPED",
        "name": "Total length of sent messages.",
        "propertyFilters": {"channels": ["text", "email"]},
        "unit": "bytes",
        "deletedAt": "2022-06-28T16:47:00Z",  # read-only: ignored
        "id": "f092246c-6b90-4106-bcca-304ccf06bf45",  # read-only: ignored
    }
    created = usage.create(payload)
    for key in (
        "aggregationProperty",
        "aggregationType",
        "caseSensitive",
        "description",
        "eventType",
        "groupingProperty",
        "metricType",
        "name",
        "propertyFilters",
        "unit",
    ):
        assert created[key] == payload[key]
    assert created["deletedAt"] is None
    assert created["id"] != payload["id"]


def test_required_fields(usage: Any) -> None:
    assert set(errors_of(usage.create, {})) == {"name", "metricType", "eventType", "aggregationType"}


def test_enums(usage: Any) -> None:
    errors = errors_of(usage.create, {**VALID, "metricType": "simple", "aggregationType": "AVG"})
    assert set(errors) == {"metricType", "aggregationType"}


@pytest.mark.parametrize("aggregation", ["SUM", "UNIQUE"])
def test_sum_and_unique_need_aggregation_property(usage: Any, aggregation: str) -> None:
    errors = errors_of(usage.create, {**VALID, "aggregationType": aggregation})
    assert errors == {
        "aggregationProperty": [f"aggregationProperty is required when aggregationType is {aggregation}."]
    }
    errors = errors_of(usage.create, {**VALID, "aggregationType": aggregation, "aggregationProperty": None})
    assert set(errors) == {"aggregationProperty"}
    created = usage.create({**VALID, "aggregationType": aggregation, "aggregationProperty": "len"})
    assert created["aggregationProperty"] == "len"


def test_count_needs_no_aggregation_property_but_keeps_one(usage: Any) -> None:
    assert usage.create(VALID)["aggregationProperty"] is None
    assert usage.create({**VALID, "aggregationProperty": "len"})["aggregationProperty"] == "len"


def test_grouped_needs_grouping_property(usage: Any) -> None:
    errors = errors_of(usage.create, {**VALID, "metricType": "GROUPED"})
    assert errors == {"groupingProperty": ["groupingProperty is required when metricType is GROUPED."]}
    assert (
        usage.create({**VALID, "metricType": "GROUPED", "groupingProperty": "channel"})["groupingProperty"] == "channel"
    )


def test_every_error_is_reported_at_once(usage: Any) -> None:
    payload = {"metricType": "GROUPED", "aggregationType": "SUM", "caseSensitive": "yes", "propertyFilters": []}
    errors = errors_of(usage.create, payload)
    assert set(errors) == {
        "name",
        "eventType",
        "caseSensitive",
        "propertyFilters",
        "aggregationProperty",
        "groupingProperty",
    }


@pytest.mark.parametrize(
    ("filters", "path"),
    [
        ([], ("propertyFilters",)),
        ("x", ("propertyFilters",)),
        ({"channels": "text"}, ("propertyFilters", "channels")),
        ({"channels": []}, ("propertyFilters", "channels")),
        ({"channels": ["text", 3]}, ("propertyFilters", "channels", "1")),
        ({"channels": [None]}, ("propertyFilters", "channels", "0")),
        ({"": ["x"]}, ("propertyFilters", "")),
    ],
)
def test_property_filters_shape(usage: Any, filters: Any, path: tuple[str, ...]) -> None:
    with pytest.raises(mc.ValidationError) as info:
        usage.create({**VALID, "propertyFilters": filters})
    assert [p for p, _ in info.value.flat()] == [path]


def test_property_filters_null_is_empty(usage: Any) -> None:
    assert usage.create({**VALID, "propertyFilters": None})["propertyFilters"] == {}
    two = {"channels": ["text", "email"], "region": ["eu"]}
    assert usage.create({**VALID, "propertyFilters": two})["propertyFilters"] == two


def test_case_sensitive_must_be_boolean(usage: Any) -> None:
    assert set(errors_of(usage.create, {**VALID, "caseSensitive": None})) == {"caseSensitive"}
    assert set(errors_of(usage.create, {**VALID, "caseSensitive": "false"})) == {"caseSensitive"}
    assert usage.create({**VALID, "caseSensitive": False})["caseSensitive"] is False


def test_optional_strings_are_nullable(usage: Any) -> None:
    created = usage.create({**VALID, "description": None, "unit": None, "groupingProperty": None})
    assert created["description"] is None
    assert set(errors_of(usage.create, {**VALID, "unit": 5, "description": []})) == {"unit", "description"}


def test_put_is_a_full_replacement(usage: Any) -> None:
    created = usage.create(
        {
            **VALID,
            "description": "d",
            "unit": "bytes",
            "caseSensitive": False,
            "propertyFilters": {"a": ["b"]},
            "aggregationProperty": "len",
        }
    )
    assert set(errors_of(usage.replace, created["id"], {"name": "only"})) == {
        "metricType",
        "eventType",
        "aggregationType",
    }
    replaced = usage.replace(created["id"], {**VALID, "name": "renamed"})
    assert replaced["name"] == "renamed"
    assert replaced["description"] is None
    assert replaced["unit"] is None
    assert replaced["aggregationProperty"] is None
    assert replaced["propertyFilters"] == {}
    assert replaced["caseSensitive"] is True
    assert replaced["createdAt"] == created["createdAt"]
    assert replaced["id"] == created["id"]


def test_put_checks_the_rules(usage: Any) -> None:
    created = usage.create({**VALID, "aggregationType": "SUM", "aggregationProperty": "len"})
    errors = errors_of(usage.replace, created["id"], {**VALID, "aggregationType": "SUM"})
    assert set(errors) == {"aggregationProperty"}


def test_delete_is_soft(usage: Any, store: mc.Store) -> None:
    created = usage.create(VALID)
    deleted = usage.delete(created["id"])
    assert deleted["id"] == created["id"]
    assert deleted["deletedAt"] is not None and deleted["deletedAt"].endswith("Z")
    with pytest.raises(mc.NotFound):
        usage.get(created["id"])
    with pytest.raises(mc.NotFound):
        usage.replace(created["id"], VALID)
    with pytest.raises(mc.NotFound):
        usage.delete(created["id"])
    assert usage.list().envelope()["items"] == []
    assert usage.list().count == 0


def test_names_need_not_be_unique(usage: Any) -> None:
    assert usage.create(VALID)["id"] != usage.create(VALID)["id"]


def test_scope_is_the_account(store: mc.Store, usage: Any) -> None:
    created = usage.create(VALID)
    other = store.sequence.usage_metrics(account_id="another")
    with pytest.raises(mc.NotFound):
        other.get(created["id"])
    with pytest.raises(mc.NotFound):
        other.delete(created["id"])
    assert other.list().count == 0


@pytest.mark.parametrize("account_id", [None, "", 5, "x" * 201])
def test_account_id_is_validated(store: mc.Store, account_id: Any) -> None:
    with pytest.raises(mc.ValidationError):
        store.sequence.usage_metrics(account_id=account_id)


# -- listing ---------------------------------------------------------------------------------


def make(usage: Any, n: int, **extra: Any) -> list[str]:
    return [usage.create({**VALID, "name": f"metric {i}", **extra})["id"] for i in range(n)]


def ids(page: Any) -> list[str]:
    return [item["id"] for item in page.envelope()["items"]]


def test_list_envelope_and_default_limit(usage: Any) -> None:
    created = make(usage, 25)
    envelope = usage.list().envelope()
    assert list(envelope) == ["items", "pagination"]
    assert [i["id"] for i in envelope["items"]] == created[:20]
    assert envelope["pagination"]["totalResultSize"] == 25
    assert envelope["pagination"]["before"] is None
    assert isinstance(envelope["pagination"]["after"], str)


@pytest.mark.parametrize("limit", [0, 101, "0", "101", "x", -1, True, 2.5])
def test_limit_out_of_range_is_400(usage: Any, limit: Any) -> None:
    errors = errors_of(usage.list, limit=limit)
    assert errors == {"limit": ["limit must be an integer between 1 and 100."]}


def test_limit_bounds_accepted(usage: Any) -> None:
    make(usage, 3)
    assert len(ids(usage.list(limit=1))) == 1
    assert len(ids(usage.list(limit="100"))) == 3


def test_cursors_walk_forward_and_back(usage: Any) -> None:
    created = make(usage, 7)
    first = usage.list(limit=3).envelope()
    assert [i["id"] for i in first["items"]] == created[0:3]
    second = usage.list(limit=3, after=first["pagination"]["after"]).envelope()
    assert [i["id"] for i in second["items"]] == created[3:6]
    assert second["pagination"]["before"] is not None
    third = usage.list(limit=3, after=second["pagination"]["after"]).envelope()
    assert [i["id"] for i in third["items"]] == created[6:7]
    assert third["pagination"]["after"] is None
    back = usage.list(limit=3, before=third["pagination"]["before"]).envelope()
    assert [i["id"] for i in back["items"]] == created[3:6]
    start = usage.list(limit=3, before=back["pagination"]["before"]).envelope()
    assert [i["id"] for i in start["items"]] == created[0:3]
    assert start["pagination"]["before"] is None
    assert start["pagination"]["after"] is not None


def test_cursor_survives_deleting_the_row_it_points_at(usage: Any) -> None:
    created = make(usage, 4)
    page = usage.list(limit=2).envelope()
    usage.delete(created[1])
    assert ids(usage.list(limit=2, after=page["pagination"]["after"])) == created[2:4]


@pytest.mark.parametrize("cursor", ["garbage", "W10", "WyJ4Il0", 5, "=" * 3000])
def test_bad_cursor_is_400(usage: Any, cursor: Any) -> None:
    assert set(errors_of(usage.list, after=cursor)) == {"after"}
    assert set(errors_of(usage.list, before=cursor)) == {"before"}


def test_after_and_before_together_is_400(usage: Any) -> None:
    make(usage, 3)
    cursor = usage.list(limit=1).envelope()["pagination"]["after"]
    assert set(errors_of(usage.list, after=cursor, before=cursor)) == {"after", "before"}


def test_list_filters(usage: Any) -> None:
    a = usage.create({**VALID, "name": "Sent Messages", "eventType": "message_sent"})["id"]
    b = usage.create(
        {**VALID, "name": "Calls", "eventType": "call", "aggregationType": "SUM", "aggregationProperty": "seconds"}
    )["id"]
    c = usage.create(
        {
            **VALID,
            "name": "messages read",
            "eventType": "message_read",
            "aggregationType": "UNIQUE",
            "aggregationProperty": "user",
        }
    )["id"]
    assert set(ids(usage.list(name="MESSAGES"))) == {a, c}
    assert ids(usage.list(id=b[-6:].upper())) == [b]
    assert set(ids(usage.list(eventType="message_sent,call"))) == {a, b}
    assert set(ids(usage.list(aggregationType="SUM, UNIQUE"))) == {b, c}
    assert ids(usage.list(aggregationType="SUM", eventType="message_sent")) == []
    assert ids(usage.list(aggregationType="AVG")) == []
    assert set(ids(usage.list(name="", eventType=","))) == {a, b, c}
    assert usage.list(name="messages").envelope()["pagination"]["totalResultSize"] == 2


# -- idempotency -------------------------------------------------------------------------------


def test_create_retry_returns_the_original_and_runs_once(usage: Any) -> None:
    first = usage.create(VALID, idempotency_key="k1")
    again = usage.create(VALID, idempotency_key="k1")
    assert again == first
    assert usage.list().count == 1


def test_same_key_other_request_is_a_conflict(usage: Any) -> None:
    created = usage.create(VALID, idempotency_key="k1")
    with pytest.raises(mc.Conflict):
        usage.create({**VALID, "name": "other"}, idempotency_key="k1")
    with pytest.raises(mc.Conflict):
        usage.delete(created["id"], idempotency_key="k1")
    assert usage.list().count == 1


def test_replace_and_delete_retries(usage: Any) -> None:
    created = usage.create(VALID)
    replaced = usage.replace(created["id"], {**VALID, "name": "v2"}, idempotency_key="put")
    usage.replace(created["id"], {**VALID, "name": "v3"})
    assert usage.replace(created["id"], {**VALID, "name": "v2"}, idempotency_key="put") == replaced
    assert usage.get(created["id"])["name"] == "v3"  # the retry ran nothing
    deleted = usage.delete(created["id"], idempotency_key="del")
    assert usage.delete(created["id"], idempotency_key="del") == deleted  # not a 404


def test_keys_expire_after_24_hours(clock: FakeClock, usage: Any) -> None:
    usage.create(VALID, idempotency_key="k1")
    clock.advance(timedelta(hours=23, minutes=59))
    usage.create(VALID, idempotency_key="k1")
    assert usage.list().count == 1
    clock.advance(timedelta(minutes=2))
    usage.create({**VALID, "name": "new body is fine now"}, idempotency_key="k1")
    assert usage.list().count == 2


def test_keys_belong_to_one_account(store: mc.Store, usage: Any) -> None:
    usage.create(VALID, idempotency_key="k1")
    other = store.sequence.usage_metrics(account_id="other")
    other.create({**VALID, "name": "different"}, idempotency_key="k1")
    assert other.list().count == 1


def test_a_failed_request_does_not_store_its_key(usage: Any) -> None:
    with pytest.raises(mc.ValidationError):
        usage.create({**VALID, "aggregationType": "SUM"}, idempotency_key="k1")
    assert usage.create(VALID, idempotency_key="k1")["name"] == VALID["name"]


def test_keys_are_honoured_by_every_store_on_the_same_backend(clock: FakeClock) -> None:
    from metricscore.backends.memory import MemoryBackend

    backend = MemoryBackend()
    one = mc.Store(backend, clock=clock).sequence.usage_metrics(account_id="a")
    two = mc.Store(backend, clock=clock).sequence.usage_metrics(account_id="a")
    first = one.create(VALID, idempotency_key="shared")
    assert two.create(VALID, idempotency_key="shared") == first
    assert two.list().count == 1


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, 5, "a\x00b"])
def test_bad_keys_are_400(usage: Any, key: Any) -> None:
    assert set(errors_of(usage.create, VALID, idempotency_key=key)) == {"Idempotency-Key"}
    assert usage.list().count == 0


def test_key_of_255_characters_is_accepted(usage: Any) -> None:
    usage.create(VALID, idempotency_key="k" * 255)


def test_resources_without_keys_refuse_them(store: mc.Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from metricscore.dialects.posthog.accounts import Accounts

    monkeypatch.setattr(Accounts, "idempotent", False)
    with pytest.raises(mc.ValidationError):
        store.posthog.accounts(project_id=1).create({"name": "x"}, idempotency_key="k")


# -- errors -----------------------------------------------------------------------------------


def test_error_body_lists_every_error_with_dotted_keys(usage: Any) -> None:
    with pytest.raises(mc.ValidationError) as info:
        usage.create(
            {
                "metricType": "X",
                "eventType": "e",
                "aggregationType": "COUNT",
                "propertyFilters": {"channels": ["ok", 5]},
            }
        )
    status, body = render_error(info.value)
    assert status == 400
    assert sorted(body["errors"], key=lambda e: e["key"]) == [
        {"key": "metricType", "error": '"X" is not a valid choice.'},
        {"key": "name", "error": "This field is required."},
        {"key": "propertyFilters.channels.1", "error": "Expected a string of at most 255 characters."},
    ]


def test_error_statuses() -> None:
    assert render_error(mc.NotFound()) == (404, {"errors": [{"key": "", "error": "Not found."}]})
    assert render_error(mc.Unauthenticated())[0] == 401
    assert render_error(mc.Conflict("Key reused."))[0] == 409
    assert render_error(mc.ValidationError("bad"))[1] == {"errors": [{"key": "", "error": "bad"}]}
    assert render_error(mc.StorageError("db down"))[0] == 500


def test_concurrent_requests_with_one_key_run_once(usage: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loser of a race misses the key, runs, fails to store the key, rolls back, returns the winner's result."""
    from metricscore.idempotency import IdempotencyKeys

    winner = usage.create(VALID, idempotency_key="race")
    real_lookup = IdempotencyKeys.lookup
    calls: list[bool] = []

    def late_lookup(self: IdempotencyKeys, key: str, digest: str, now: Any, *, purge: bool = True) -> Any:
        calls.append(purge)
        if len(calls) == 1:
            return None  # the winner had not committed yet when the loser looked
        return real_lookup(self, key, digest, now, purge=purge)

    monkeypatch.setattr(IdempotencyKeys, "lookup", late_lookup)
    loser = usage.create(VALID, idempotency_key="race")
    assert loser == winner
    assert calls == [True, False]
    assert usage.list().count == 1  # the loser's insert was rolled back with its key
