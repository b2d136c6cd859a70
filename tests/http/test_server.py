"""The real server: ``metricscore serve`` under gunicorn on a free loopback port, driven with
``http.client``. Replays the seed pages' example requests (host and keys aside)."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("gunicorn", reason="needs the server extra: pip install 'metricscore[server]'")
pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")

from serving import Server, cli, create_key, serve


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("server")) as running:
        yield running


JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}  # what curl -d sends without -H


def test_posthog_accounts_seed_requests(server: Server) -> None:
    key = create_key(
        server.url, "posthog", "--scopes", "account:read,account:write", "--projects", "1", "--user-id", "7"
    )
    auth = {"Authorization": f"Bearer {key['token']}"}
    listed = server.request("GET", "/api/environments/1/accounts/", auth)
    assert listed.status == 200 and list(listed.json()) == ["count", "next", "previous", "results"]
    # curl -H 'Content-Type: application/json' ... -d name="string": the body is not JSON, so DRF's 400.
    verbatim = server.request("POST", "/api/environments/1/accounts/", {**auth, **JSON}, b"name=string")
    assert verbatim.status == 400 and verbatim.json()["code"] == "parse_error"
    created = server.request("POST", "/api/environments/1/accounts/", {**auth, **JSON}, b'{"name": "string"}')
    assert created.status == 201
    account = created.json()
    assert list(account) == [
        "id",
        "name",
        "external_id",
        "properties",
        "tags",
        "created_at",
        "created_by",
        "updated_at",
    ]
    assert account["created_by"] == 7 and account["created_at"].endswith("Z")
    item = f"/api/environments/1/accounts/{account['id']}/"
    assert server.request("GET", item, auth).json() == account
    patched = server.request("PATCH", item, {**auth, **FORM}, b"name=string")  # curl -X PATCH ... -d name="string"
    assert patched.status == 200 and patched.json()["name"] == "string"
    deleted = server.request("DELETE", item, auth)
    assert (deleted.status, deleted.body) == (204, b"")
    assert server.request("GET", item, auth).status == 404
    assert server.request("GET", "/api/environments/2/accounts/", auth).status == 403
    assert server.request("GET", "/api/environments/1/accounts/").status == 401


def test_posthog_group_usage_metrics_seed_requests(server: Server) -> None:
    key = create_key(server.url, "posthog", "--scopes", "usage_metric:read,usage_metric:write", "--projects", "1")
    auth = {"Authorization": f"Bearer {key['token']}"}
    base = "/api/projects/1/groups_types/0/metrics/"
    assert server.request("GET", base, auth).json()["results"] == []
    created = server.request("POST", base, {**auth, **JSON}, b'{"name": "string", "filters": {}}')
    assert created.status == 201
    metric = created.json()
    assert metric == {**metric, "format": "numeric", "interval": 7, "display": "number", "math": "count"}
    item = f"{base}{metric['id']}/"
    assert server.request("GET", item, auth).json() == metric
    assert server.request("PATCH", item, {**auth, **FORM}, b"name=string2").json()["name"] == "string2"
    assert server.request("DELETE", item, auth).status == 204
    assert server.request("GET", base, {"Authorization": "Bearer phx_unknown"}).status == 401


def test_sequence_seed_requests(server: Server) -> None:
    key = create_key(server.url, "sequence", "--account", "ec1479a2-6ba1-421f-a7de-0853a20d17a1")
    auth = {"Authorization": key["header"].split(": ", 1)[1]}
    seed = {
        "aggregationType": "SUM",
        "eventType": "message_sent",
        "metricType": "GROUPED",
        "name": "Total length of sent messages.",
    }
    # The seed's request omits what SUM and GROUPED need: every problem is listed.
    verbatim = server.request("POST", "/api/usage-metrics", {**auth, **JSON}, json.dumps(seed).encode())
    assert verbatim.status == 400
    assert {e["key"] for e in verbatim.json()["errors"]} == {"aggregationProperty", "groupingProperty"}
    complete = {**seed, "aggregationProperty": "message_length", "groupingProperty": "channel", "unit": "bytes"}
    headers = {**auth, **JSON, "Idempotency-Key": "seed-1"}
    created = server.request("POST", "/api/usage-metrics", headers, json.dumps(complete).encode())
    assert created.status == 201
    metric = created.json()
    assert metric["sequenceAccountId"] == "ec1479a2-6ba1-421f-a7de-0853a20d17a1"
    assert (metric["propertyFilters"], metric["caseSensitive"]) == ({}, True)
    retried = server.request("POST", "/api/usage-metrics", headers, json.dumps(complete).encode())
    assert (retried.status, retried.json()) == (201, metric)
    assert server.request("GET", "/api/usage-metrics", auth).json()["pagination"]["totalResultSize"] == 1
    assert server.request("GET", f"/api/usage-metrics/{metric['id']}", auth).json() == metric
    deleted = server.request("DELETE", f"/api/usage-metrics/{metric['id']}", auth)
    assert deleted.status == 200 and deleted.json()["deletedAt"] is not None
    bad = base64.b64encode(b"someone:wrong").decode()
    assert server.request("GET", "/api/usage-metrics", {"Authorization": f"Basic {bad}"}).status == 401


STATSIG_SEED = Path(__file__).with_name("statsig_create_metric.json")


def test_statsig_seed_requests(server: Server) -> None:
    key = create_key(server.url, "statsig", "--project", "seed-project")
    auth = {"STATSIG-API-KEY": key["token"]}
    seed = json.loads(STATSIG_SEED.read_text())
    assert seed["dryRun"] is True
    dry = server.request("POST", "/console/v1/metrics", {**auth, **JSON}, json.dumps(seed).encode())
    assert dry.status == 201, dry.body
    assert dry.json()["message"] == "Metric created successfully."
    assert dry.json()["data"]["id"] == "metricName::sum"
    missing = server.request("GET", "/console/v1/metrics/metricName::sum", auth)
    assert (missing.status, missing.json()) == (
        404,
        {"status": 404, "message": "Not Found. The requested resource could not be found."},
    )
    stored = {**seed, "dryRun": False}
    created = server.request("POST", "/console/v1/metrics", {**auth, **JSON}, json.dumps(stored).encode())
    assert created.status == 201
    read = server.request("GET", "/console/v1/metrics/metricName::sum", auth)
    assert read.status == 200 and read.json() == {
        "message": "Metric read successfully.",
        "data": created.json()["data"],
    }
    unauthorised = server.request("GET", "/console/v1/metrics/metricName::sum", {"STATSIG-API-KEY": "console-x"})
    assert unauthorised.status == 401
    assert unauthorised.json() == {
        "status": 401,
        "message": "This endpoint only accepts an active CONSOLE key, but an invalid key was sent. Key: console-x",
    }


def test_revoked_key_is_refused_by_every_worker(server: Server) -> None:
    key = create_key(server.url, "statsig", "--project", "revoked-project")
    auth = {"STATSIG-API-KEY": key["token"]}
    assert server.request("GET", "/console/v1/metrics/list", auth).status == 200
    assert cli("keys", "revoke", key["key_id"], url=server.url).returncode == 0
    # Each worker trusts a verified key for --key-cache-seconds (1 s by default); wait that out.
    deadline = time.monotonic() + 30
    while server.request("GET", "/console/v1/metrics/list", auth).status != 401 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.5)
    for _ in range(4):  # whichever worker answers
        assert server.request("GET", "/console/v1/metrics/list", auth).status == 401


def _raw(server: Server, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Sends ``data`` as it is (no HTTP client would send these) and reads the answer to its end."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


UNREADABLE = [  # (request bytes, the status gunicorn refuses it with)
    (b"GET {path}?" + b"q" * 5000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n", 414),
    (b"GET {path} HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
    (b"GET {path} HTTP/1.1\r\nHost: localhost\r\n" + b"X-Many: a\r\n" * 200 + b"\r\n", 431),
    (b"GET {path} HTTP/1.1\r\nHo st: localhost\r\n\r\n", 400),
    (b"GET {path} HTTP/9.9\r\nHost: localhost\r\n\r\n", 400),
    (b"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: -5\r\n\r\n{}", 400),
    (b"POST {path} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
]


def test_requests_the_server_cannot_read_are_answered_in_the_dialects_format(server: Server) -> None:
    # Found: a URL longer than gunicorn's 4094-byte request line (schemathesis sends them) got its
    # HTML "414 URI Too Long" page, which no operation documents; too large headers and malformed
    # HTTP got HTML 431 and 400 pages the same way.
    validators = pytest.importorskip(
        "openapi_schema_validator", reason="needs the dev extra: pip install 'metricscore[dev]'"
    )
    document = server.request("GET", "/openapi.json").json()
    for path, template in (
        ("/api/environments/1/accounts/", "/api/environments/{project_id}/accounts/"),
        ("/usage-metrics", "/usage-metrics"),
        ("/console/v1/metrics/list", "/console/v1/metrics/list"),
    ):
        for data, status in UNREADABLE:
            answered, headers, body = _raw(server, data.replace(b"{path}", path.encode()))
            assert (answered, headers["content-type"]) == (status, "application/json"), (path, data[:60])
            assert int(headers["content-length"]) == len(body)
            responses = document["paths"][template]["get"]["responses"]
            schema = {**responses[str(status)]["content"]["application/json"]["schema"], **document}
            assert not list(validators.OAS30Validator(schema).iter_errors(json.loads(body))), (path, body)
