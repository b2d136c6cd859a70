"""Sequence's usage events over HTTP: ``POST /usage-events`` and ``GET /usage-events``.

Every request goes through a DocumentedApp: each answer must be a status the OpenAPI document
lists, with a body its schema accepts (closed objects).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import metricscore as mc

pytest.importorskip("apispec", reason="needs the server extra: pip install 'metricscore[server]'")
pytest.importorskip("openapi_schema_validator", reason="needs the dev extra: pip install 'metricscore[dev]'")

from documented import DocumentedApp

from metricscore.backends.sql.testing import server_url, skip_reason
from metricscore.http.testing import basic, call, fresh_id

NOW = datetime(2026, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
EVENTS = "/usage-events"


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DocumentedApp]:
    if request.param == "postgresql":
        url = server_url("postgresql")
        if url is None:
            pytest.skip(skip_reason("postgresql"))
        from metricscore.backends.sql.testing import dedicated_database

        url = dedicated_database(url)
    else:
        url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'events.db'}"
    store = mc.open_store(url, clock=lambda: NOW)
    yield DocumentedApp(store)
    store.close()


@pytest.fixture
def account() -> str:
    return f"acct-{fresh_id()}"


@pytest.fixture
def key(app: DocumentedApp, account: str) -> Any:
    return app.keys.create_sequence_credentials(account_id=account)


def _post(app: DocumentedApp, key: Any, body: Any, path: str = EVENTS, **headers: str) -> Any:
    return call(app, "POST", path, headers={**basic(key), **headers}, json_body=body)


def _list(app: DocumentedApp, key: Any, query: str = "") -> Any:
    return call(app, "GET", EVENTS, headers=basic(key), query=query)


def _calculate(app: DocumentedApp, key: Any, metric_id: str, aliases: str = "cust-1") -> Any:
    query = f"customerAliases={aliases}&periodStart=2026-01-01&periodEnd=2026-01-31"
    return call(app, "GET", f"/usage-metrics/{metric_id}/calculate", headers=basic(key), query=query).json()


def test_an_event_is_answered_as_sequence_does_and_metrics_read_it(app: DocumentedApp, key: Any, account: str) -> None:
    sent = {
        "eventType": "message_sent",
        "customerAlias": "cust-1",
        "eventTimestamp": "2026-01-31T23:30:00-01:00",
        "eventProperties": {"bytes": 150.03, "region": "eu", "gzip": True, "note": None},
    }
    response = _post(app, key, sent)
    assert response.status == 201
    body = response.json()
    assert uuid.UUID(body["id"]).version == 7
    assert body == {
        "id": body["id"],
        "sequenceAccountId": account,
        "eventType": "message_sent",
        "customerAlias": "cust-1",
        "customerEventId": body["id"],  # none sent: the event's own id
        "eventTimestamp": "2026-02-01T00:30:00Z",
        "eventProperties": {"bytes": "150.03", "region": "eu", "gzip": "true"},
    }
    defaulted = _post(app, key, {"eventType": "message_sent", "customerAlias": "cust-1", "customerEventId": "c-9"})
    assert defaulted.json()["eventTimestamp"] == "2026-02-03T04:05:06.789000Z"  # the store's clock
    assert defaulted.json()["customerEventId"] == "c-9"
    assert defaulted.json()["eventProperties"] == {}
    metric = _post(
        app,
        key,
        {"name": "bytes", "metricType": "SIMPLE", "eventType": "message_sent", "aggregationType": "COUNT"},
        "/api/usage-metrics",
    ).json()
    query = "customerAliases=cust-1&periodStart=2026-02-01&periodEnd=2026-02-28"
    february = call(app, "GET", f"/usage-metrics/{metric['id']}/calculate", headers=basic(key), query=query).json()
    assert (february["eventCount"], february["minEventId"]) == (2, body["id"])
    assert _post(app, key, sent, "/api/usage-events").status == 201


def test_bad_fields_are_each_named_and_nothing_is_written(app: DocumentedApp, key: Any) -> None:
    response = _post(
        app,
        key,
        {
            "eventType": " ",
            "eventTimestamp": "2026-01-01",
            "customerEventId": 7,
            "eventProperties": {"nested": {"a": 1}, "ok": 1},
        },
    )
    assert response.status == 400
    assert {error["key"] for error in response.json()["errors"]} == {
        "eventType",
        "customerAlias",
        "eventTimestamp",
        "customerEventId",
        "eventProperties.nested",
    }
    for body in (
        [],
        {"eventType": "x", "customerAlias": "c", "eventProperties": ["a"]},
        {"eventType": "x" * 256, "customerAlias": "c", "eventTimestamp": "yesterday"},
        {"eventType": "x", "customerAlias": "c", "eventTimestamp": 1767225600000},
    ):
        assert _post(app, key, body).status == 400
    not_json = call(app, "POST", EVENTS, headers=basic(key), body=b"{nope")
    assert not_json.status == 400
    too_large = call(app, "POST", EVENTS, headers=basic(key), body=b" " * (app.max_body + 1))
    assert too_large.status == 413
    assert _list(app, key).json()["pagination"]["totalResultSize"] == 0


def test_the_last_event_of_a_customer_event_id_supersedes_the_others(app: DocumentedApp, key: Any) -> None:
    metric = _post(
        app,
        key,
        {
            "name": "bytes",
            "metricType": "SIMPLE",
            "eventType": "sent",
            "aggregationType": "SUM",
            "aggregationProperty": "bytes",
        },
        "/usage-metrics",
    ).json()
    at = "2026-01-10T00:00:00Z"
    first = {"eventType": "sent", "customerAlias": "cust-1", "eventTimestamp": at, "customerEventId": "order-1"}
    _post(app, key, {**first, "eventProperties": {"bytes": 10}})
    _post(app, key, {**first, "eventProperties": {"bytes": 3}})
    _post(app, key, {**first, "customerEventId": "order-2", "eventProperties": {"bytes": 5}})
    assert (_calculate(app, key, metric["id"])["value"], _calculate(app, key, metric["id"])["eventCount"]) == (8, 2)
    _post(app, key, {**first, "customerAlias": "VOID"})  # Sequence's way to cancel an event
    assert _calculate(app, key, metric["id"])["value"] == 5
    listed = _list(app, key, "sortOrder=ASC").json()["items"]
    assert [item["customerEventId"] for item in listed] == ["order-1", "order-1", "order-2", "order-1"]


def test_an_idempotency_key_stores_one_event(app: DocumentedApp, key: Any) -> None:
    body = {"eventType": "sent", "customerAlias": "cust-1"}
    first = _post(app, key, body, **{"Idempotency-Key": "req-1"})
    again = _post(app, key, body, **{"Idempotency-Key": "req-1"})
    assert first.status == again.status == 201
    assert again.json() == first.json()
    assert _list(app, key).json()["pagination"]["totalResultSize"] == 1
    assert _post(app, key, {**body, "customerAlias": "cust-2"}, **{"Idempotency-Key": "req-1"}).status == 409
    assert _post(app, key, body, **{"Idempotency-Key": " "}).status == 400
    assert _list(app, key).json()["pagination"]["totalResultSize"] == 1


def _seed(app: DocumentedApp, key: Any) -> list[dict[str, Any]]:
    created = []
    for day in range(1, 8):
        body = {
            "eventType": "sent" if day % 3 else "other",
            "customerAlias": f"cust-{day % 2}",
            "eventTimestamp": f"2026-01-0{day}T12:00:00Z",
        }
        created.append(_post(app, key, body).json())
    return created


def test_the_list_filters_sorts_and_pages_like_sequence_lists(app: DocumentedApp, key: Any) -> None:
    created = _seed(app, key)
    everything = _list(app, key).json()
    assert [item["id"] for item in everything["items"]] == [e["id"] for e in reversed(created)]  # latest first
    assert everything["pagination"] == {"after": None, "before": None, "totalResultSize": 7}
    ids = [
        item["id"]
        for item in _list(
            app,
            key,
            "customerAlias[]=cust-1&customerAlias[]=nobody&eventType=sent&sortOrder=ASC"
            "&eventTimestampAfter=2026-01-02T00:00:00Z&eventTimestampBefore=2026-01-07T12:00:00Z",
        ).json()["items"]
    ]
    assert ids == [created[4]["id"]]  # days 1..7: cust-1 on odd days, "sent" unless day % 3 == 0
    assert _list(app, key, f"eventId={created[2]['id']}").json()["items"] == [created[2]]
    assert _list(app, key, "customerAlias[]=cust-0&customerAlias[]=cust-1").json()["pagination"]["totalResultSize"] == 7

    seen: list[str] = []
    page = _list(app, key, "limit=3&sortOrder=ASC").json()
    pages = [page]
    while page["pagination"]["after"]:
        page = _list(app, key, f"limit=3&sortOrder=ASC&after={page['pagination']['after']}").json()
        pages.append(page)
    for each in pages:
        seen.extend(item["id"] for item in each["items"])
        assert each["pagination"]["totalResultSize"] == 7
    assert seen == [e["id"] for e in created]
    assert pages[0]["pagination"]["before"] is None and pages[-1]["pagination"]["before"] is not None
    back = _list(app, key, f"limit=3&sortOrder=ASC&before={pages[-1]['pagination']['before']}").json()
    assert back["items"] == pages[1]["items"]
    assert back["pagination"]["before"] is not None and back["pagination"]["after"] is not None


def test_the_list_sorts_by_event_time_when_asked(app: DocumentedApp, key: Any) -> None:
    created = [
        _post(
            app, key, {"eventType": "sent", "customerAlias": "c", "eventTimestamp": f"2026-01-0{day}T00:00:00Z"}
        ).json()
        for day in (3, 1, 2, 1)
    ]
    by_time = [created[i]["id"] for i in (1, 3, 2, 0)]  # day 1 twice: in the order received
    first = _list(app, key, "sortBy=EVENT_TIMESTAMP&sortOrder=ASC&limit=3").json()
    assert [item["id"] for item in first["items"]] == by_time[:3]
    rest = _list(app, key, f"sortBy=EVENT_TIMESTAMP&sortOrder=ASC&after={first['pagination']['after']}").json()
    assert [item["id"] for item in rest["items"]] == by_time[3:]
    latest = _list(app, key, "sortBy=EVENT_TIMESTAMP").json()  # sortOrder defaults to DESC
    assert [item["id"] for item in latest["items"]] == by_time[::-1]
    received = _list(app, key, "sortBy=CREATED_AT&sortOrder=ASC").json()
    assert [item["id"] for item in received["items"]] == [e["id"] for e in created]
    for query, names in (
        ("sortBy=eventTimestamp", ["sortBy"]),
        ("sortBy=EVENT_TIMESTAMP&sortOrder=asc", ["sortOrder"]),
        (f"after={first['pagination']['after']}", ["after"]),  # a cursor of another order
    ):
        response = _list(app, key, query)
        assert response.status == 400
        assert [error["key"] for error in response.json()["errors"]] == names


def test_bad_list_parameters_are_each_named(app: DocumentedApp, key: Any) -> None:
    response = _list(app, key, "limit=0&sortOrder=up&eventTimestampAfter=soon&after=%21&eventTimestampBefore=2026")
    assert response.status == 400
    assert {error["key"] for error in response.json()["errors"]} == {
        "limit",
        "sortOrder",
        "eventTimestampAfter",
        "eventTimestampBefore",
        "after",
    }
    many = "&".join(f"customerAlias[]=c{i}" for i in range(101))
    assert [e["key"] for e in _list(app, key, many).json()["errors"]] == ["customerAlias[]"]
    big = {"eventType": "x", "customerAlias": "c", "eventProperties": {f"p{i}": i for i in range(2000)}}
    assert [e["key"] for e in _post(app, key, big).json()["errors"]] == ["eventProperties"]


def test_credentials_and_accounts(app: DocumentedApp, key: Any) -> None:
    assert call(app, "POST", EVENTS, json_body={"eventType": "sent", "customerAlias": "c"}).status == 401
    assert call(app, "GET", EVENTS).status == 401
    _post(app, key, {"eventType": "sent", "customerAlias": "c"})
    other = app.keys.create_sequence_credentials(account_id=f"acct-{fresh_id()}")
    assert _list(app, other).json()["items"] == []
    answered = {(path, method, status) for path, method, status in app.seen if path == EVENTS}
    assert {("/usage-events", "POST", 401), ("/usage-events", "GET", 401)} <= answered


def test_the_routes_are_in_the_openapi_document(app: DocumentedApp) -> None:
    paths = app.document["paths"]
    for path in (EVENTS, "/api" + EVENTS):
        create = paths[path]["post"]
        assert create["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/SequenceUsageEventInput"
        }
        assert {"201", "400", "401", "409", "413", "500"} <= set(create["responses"])
        listing = paths[path]["get"]
        names = {p["name"] for p in listing["parameters"]}
        assert {"customerAlias[]", "eventType", "eventId", "eventTimestampAfter", "eventTimestampBefore"} <= names
        assert {"sortBy", "sortOrder", "limit", "after", "before"} <= names
    schemas = app.document["components"]["schemas"]
    assert schemas["SequenceUsageEventInput"]["required"] == ["eventType", "customerAlias"]
    assert set(schemas["SequenceUsageEvent"]["required"]) >= {"id", "sequenceAccountId", "customerEventId"}
