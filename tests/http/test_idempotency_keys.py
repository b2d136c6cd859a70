"""``Idempotency-Key`` on every dialect's create, over real HTTP: a client that retries after an
ambiguous failure (the commit happened, its answer was lost) does not create a duplicate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("gunicorn", reason="needs the server extra: pip install 'metricscore[server]'")
pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")

from serving import Server, create_key, serve

STATSIG_SEED = json.loads(Path(__file__).with_name("statsig_create_metric.json").read_text())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("idempotency"), "--statsig-limits", "off") as running:
        yield running


Case = tuple[str, str, dict[str, str], dict[str, Any], dict[str, Any]]


@pytest.fixture(scope="module")
def cases(server: Server) -> dict[str, Case]:
    """dialect -> (create path, list path, auth headers, a body, another body)."""
    posthog = create_key(server.url, "posthog", "--scopes", "*", "--projects", "1,2,3")
    sequence = create_key(server.url, "sequence", "--account", "acct-idem")
    statsig = create_key(server.url, "statsig", "--project", "proj-idem")
    metric = {"aggregationType": "COUNT", "eventType": "sent", "metricType": "GROUPED", "name": "n"}
    metric["groupingProperty"] = "channel"
    return {
        "posthog": (
            "/api/environments/1/accounts/",
            "/api/environments/1/accounts/",
            {"Authorization": f"Bearer {posthog['token']}"},
            {"name": "Acme"},
            {"name": "Other"},
        ),
        "sequence": (
            "/api/usage-metrics",
            "/api/usage-metrics",
            {"Authorization": sequence["header"].split(": ", 1)[1]},
            metric,
            {**metric, "name": "other"},
        ),
        "statsig": (
            "/console/v1/metrics",
            "/console/v1/metrics/list",
            {"STATSIG-API-KEY": statsig["token"]},
            {**STATSIG_SEED, "dryRun": False},
            {**STATSIG_SEED, "dryRun": False, "name": "otherName"},
        ),
    }


def _count(server: Server, dialect: str, path: str, auth: dict[str, str]) -> int:
    body = server.request("GET", path, auth).json()
    if dialect == "posthog":
        return int(body["count"])
    if dialect == "sequence":
        return int(body["pagination"]["totalResultSize"])
    return int(body["pagination"]["totalItems"])


@pytest.mark.parametrize("dialect", ["posthog", "sequence", "statsig"])
def test_a_retried_create_with_the_same_key_creates_once(server: Server, cases: dict[str, Case], dialect: str) -> None:
    create, listing, auth, body, other = cases[dialect]
    headers = {**auth, "Content-Type": "application/json", "Idempotency-Key": f"retry-{dialect}"}
    first = server.request("POST", create, headers, json.dumps(body).encode())
    assert first.status == 201, first.body
    # The client never saw that answer (a lost acknowledgement) and sends the same request again.
    again = server.request("POST", create, headers, json.dumps(body).encode())
    assert (again.status, again.json()) == (201, first.json())
    assert _count(server, dialect, listing, auth) == 1
    # The same key with another body is refused, as a conflict in the dialect's format.
    conflict = server.request("POST", create, headers, json.dumps(other).encode())
    assert conflict.status == 409, conflict.body
    assert _count(server, dialect, listing, auth) == 1
    # Another key is another request.
    fresh = {**headers, "Idempotency-Key": f"fresh-{dialect}"}
    assert server.request("POST", create, fresh, json.dumps(other).encode()).status == 201
    assert _count(server, dialect, listing, auth) == 2


def test_without_a_key_posthog_creates_twice(server: Server, cases: dict[str, Case]) -> None:
    auth = {**cases["posthog"][2], "Content-Type": "application/json"}
    for _ in range(2):
        assert server.request("POST", "/api/environments/2/accounts/", auth, b'{"name": "Acme"}').status == 201
    assert server.request("GET", "/api/environments/2/accounts/", auth).json()["count"] == 2


def test_a_bad_key_is_a_400_naming_the_header(server: Server, cases: dict[str, Case]) -> None:
    auth = {**cases["posthog"][2], "Content-Type": "application/json"}
    reply = server.request(
        "POST", "/api/environments/3/accounts/", {**auth, "Idempotency-Key": "x" * 300}, b'{"name": "a"}'
    )
    assert reply.status == 400 and reply.json()["attr"] == "Idempotency-Key"
