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


def _sum_of_bytes(app: DocumentedApp, key: Any) -> Any:
    """A usage metric summing the property ``bytes`` of the events of type ``sent``."""
    body = {"name": "bytes", "metricType": "SIMPLE", "eventType": "sent", "aggregationType": "SUM"}
    return _post(app, key, {**body, "aggregationProperty": "bytes"}, "/usage-metrics").json()


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
        {"eventType": "x", "customerAlias": "c", "eventTimestamp": "2026-01-01T00:00:00\x00Z"},  # fromisoformat: valid
    ):
        assert _post(app, key, body).status == 400
    not_json = call(app, "POST", EVENTS, headers=basic(key), body=b"{nope")
    assert not_json.status == 400
    too_large = call(app, "POST", EVENTS, headers=basic(key), body=b" " * (app.max_body + 1))
    assert too_large.status == 413
    assert _list(app, key).json()["pagination"]["totalResultSize"] == 0


def test_the_last_event_of_a_customer_event_id_supersedes_the_others(app: DocumentedApp, key: Any) -> None:
    metric = _sum_of_bytes(app, key)
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


CSV = "/usage-events/csv"


def _upload(app: DocumentedApp, key: Any, data: str | bytes, path: str = CSV, **headers: str) -> Any:
    """POST ``data`` as the ``file`` of a multipart form, encoded by httpx as a client would."""
    import httpx

    content = data.encode("utf-8") if isinstance(data, str) else data
    request = httpx.Request("POST", "http://testserver" + path, files={"file": ("events.csv", content, "text/csv")})
    form = {"Content-Type": request.headers["Content-Type"]}
    return call(app, "POST", path, headers={**basic(key), **form, **headers}, body=request.read())


def test_a_csv_file_stores_every_row_in_the_files_order(app: DocumentedApp, key: Any, account: str) -> None:
    pytest.importorskip("httpx", reason="needs the dev extra: pip install 'metricscore[dev]'")
    metric = _sum_of_bytes(app, key)
    file = (
        "\ufeffeventType,eventTimestamp,customerAlias,customerEventId,eventProperty#bytes,eventProperties#note\r\n"
        "sent,2026-01-05,cust-1,order-1,10,\r\n"
        'sent,2026-01-06T10:00:00+02:00,cust-1,,5,"two lines,\r\nand a comma"\r\n'
        "\r\n"  # a blank line is skipped
        "sent,2026-01-07T00:00:00Z,cust-1,order-1,7,\r\n"
    )
    response = _upload(app, key, file)
    assert (response.status, response.json()) == (201, {"eventCount": 3})
    listed = _list(app, key, "sortOrder=ASC").json()["items"]
    assert [(e["eventTimestamp"], e["customerEventId"] == e["id"], e["eventProperties"]) for e in listed] == [
        ("2026-01-05T00:00:00Z", False, {"bytes": "10"}),
        ("2026-01-06T08:00:00Z", True, {"bytes": "5", "note": "two lines,\r\nand a comma"}),
        ("2026-01-07T00:00:00Z", False, {"bytes": "7"}),
    ]
    assert {e["sequenceAccountId"] for e in listed} == {account}
    assert _calculate(app, key, metric["id"])["value"] == 5 + 7  # order-1: the last row supersedes the first
    # The same file again: the rows with a customerEventId supersede their earlier copies.
    assert _upload(app, key, file, "/api" + CSV).status == 201
    assert _calculate(app, key, metric["id"])["value"] == 5 + 5 + 7


def test_a_bad_row_stores_nothing_and_every_bad_row_and_column_is_named(app: DocumentedApp, key: Any) -> None:
    pytest.importorskip("httpx", reason="needs the dev extra: pip install 'metricscore[dev]'")
    file = (
        "eventType,eventTimestamp,customerAlias,customerEventId,eventProperty#bytes\n"
        "sent,2026-01-05,cust-1,,10\n"
        "sent,yesterday,cust-1,,10\n"
        f"sent,2026-01-05,,{'x' * 256},\n"
        "sent,,cust-1,,1\n"
        "sent,2026-01-05,cust-1\n"
    )
    response = _upload(app, key, file)
    assert response.status == 400
    assert [error["key"] for error in response.json()["errors"]] == [
        "row 3.eventTimestamp",
        "row 4.customerAlias",
        "row 4.customerEventId",
        "row 5.eventTimestamp",  # required in a file
        "row 6",  # three values for five columns
    ]
    assert _list(app, key).json()["pagination"]["totalResultSize"] == 0
    for bad, message in (
        ("eventType,eventTimestamp,customer\nsent,2026-01-05,c\n", "Unknown column"),
        ("eventType,eventTimestamp,customerAlias,eventProperty#Bytes\n", "snake_case"),
        ("eventType,customerAlias\nsent,c\n", "Missing the required column eventTimestamp"),
        ("eventType,eventTimestamp,customerAlias\n", "no events"),
        (b"eventType,eventTimestamp,customerAlias\n\xff,2026-01-05,c\n", "not UTF-8"),
    ):
        answer = _upload(app, key, bad)
        assert answer.status == 400
        assert [e["key"] for e in answer.json()["errors"]][:1] == ["file"], bad
        assert message in answer.json()["errors"][0]["error"]
    assert _list(app, key).json()["pagination"]["totalResultSize"] == 0


def test_an_upload_is_a_multipart_form_of_bounded_size(app: DocumentedApp, key: Any) -> None:
    pytest.importorskip("httpx", reason="needs the dev extra: pip install 'metricscore[dev]'")
    file = "eventType,eventTimestamp,customerAlias\nsent,2026-01-05,c\n"
    as_json = call(app, "POST", CSV, headers=basic(key), json_body={"file": file})
    assert as_json.status == 415
    form = "multipart/form-data; boundary=b0undary"
    other_part = b'--b0undary\r\nContent-Disposition: form-data; name="data"\r\n\r\nx\r\n--b0undary--\r\n'
    answer = call(app, "POST", CSV, headers={**basic(key), "Content-Type": form}, body=other_part)
    assert (answer.status, [e["key"] for e in answer.json()["errors"]]) == (400, ["file"])
    truncated = b'--b0undary\r\nContent-Disposition: form-data; name="file"\r\n\r\n' + file.encode()
    assert call(app, "POST", CSV, headers={**basic(key), "Content-Type": form}, body=truncated).status == 400
    small = DocumentedApp(app.store)
    small.max_body = 60
    assert _upload(small, key, file).status == 413
    assert _upload(app, key, file).status == 201
    assert call(app, "POST", CSV, body=b"").status == 401


def test_an_idempotency_key_stores_a_file_once(app: DocumentedApp, key: Any) -> None:
    pytest.importorskip("httpx", reason="needs the dev extra: pip install 'metricscore[dev]'")
    file = "eventType,eventTimestamp,customerAlias\nsent,2026-01-05,c\nsent,2026-01-06,c\n"
    first = _upload(app, key, file, **{"Idempotency-Key": "upload-1"})
    again = _upload(app, key, file, **{"Idempotency-Key": "upload-1"})
    assert (first.status, again.status, again.json()) == (201, 201, {"eventCount": 2})
    assert _list(app, key).json()["pagination"]["totalResultSize"] == 2
    assert _upload(app, key, file + "sent,2026-01-07,c\n", **{"Idempotency-Key": "upload-1"}).status == 409
    assert _list(app, key).json()["pagination"]["totalResultSize"] == 2


def test_the_upload_route_is_in_the_openapi_document(app: DocumentedApp) -> None:
    for path in (CSV, "/api" + CSV):
        upload = app.document["paths"][path]["post"]
        form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert (form["required"], form["properties"]["file"]) == (["file"], {"type": "string", "format": "binary"})
        assert set(upload["responses"]) == {"201", "400", "401", "409", "413", "414", "415", "431", "500"}
        assert "Idempotency-Key" in {p["name"] for p in upload["parameters"]}
    answer = app.document["components"]["schemas"]["SequenceUsageEventUpload"]
    assert answer["required"] == ["eventCount"]
