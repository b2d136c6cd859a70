"""metricscore.client over real sockets against the reference server, and HTTP targets."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest

import metricscore as mc
from metricscore import definitions as defs
from metricscore.client import PostHogClient, SequenceClient, StatsigClient, Unreachable
from metricscore.http.core import App
from metricscore.http.ratelimit import Window

METRIC = {"name": "signups", "type": "event_count_custom", "unitTypes": ["userID"], "metricEvents": [{"name": "s"}]}
USAGE = {"name": "API calls", "metricType": "SIMPLE", "eventType": "api_call", "aggregationType": "COUNT"}


def test_posthog_client_follows_every_page(live: Any) -> None:
    with PostHogClient(live.url, live.posthog.token) as client:
        accounts = client.accounts(project_id=3)
        accounts.page_size = 2
        created = [accounts.create({"name": f"A{i}", "external_id": f"a{i}"}) for i in range(5)]
        assert sorted(a["id"] for a in accounts.records()) == sorted(a["id"] for a in created)
        updated = accounts.update(created[0]["id"], {"tags": ["X"]})
        assert updated["tags"] == ["x"] and accounts.get(created[0]["id"])["tags"] == ["x"]
        with pytest.raises(mc.ValidationError) as raised:
            accounts.create({"name": ""})
        assert raised.value.fields == {"name"}
        with pytest.raises(mc.Conflict):
            accounts.create({"name": "B", "external_id": "a1"})
        accounts.delete(created[0]["id"])
        with pytest.raises(mc.NotFound):
            accounts.get(created[0]["id"])
        metrics = client.group_usage_metrics(project_id=3, group_type_index=1)
        metric = metrics.create({"name": "M", "filters": {}})
        assert [m["id"] for m in metrics.records()] == [metric["id"]]


def test_sequence_client_cursor_pages_and_idempotency_keys(live: Any) -> None:
    with SequenceClient(live.url, live.sequence.client_id, live.sequence.client_secret) as client:
        usage = client.usage_metrics()
        usage.page_size = 2
        ids = [usage.create({**USAGE, "name": f"m{i}"})["id"] for i in range(5)]
        assert [m["id"] for m in usage.records()] == ids
        first = usage.create(USAGE, idempotency_key="k-1")
        again = usage.create(USAGE, idempotency_key="k-1")
        assert first["id"] == again["id"] and len(list(usage.records())) == 6
        replaced = usage.replace(first["id"], {**USAGE, "unit": "calls"}, idempotency_key="k-2")
        assert replaced["unit"] == "calls"
        usage.delete(first["id"], idempotency_key="k-3")
        with pytest.raises(mc.ValidationError) as raised:
            usage.create({"name": "x"})
        assert {"metricType", "eventType", "aggregationType"} <= raised.value.fields


def test_statsig_client_numbered_pages_and_archive(live: Any) -> None:
    with StatsigClient(live.url, live.statsig.token) as client:
        metrics = client.metrics()
        metrics.page_size = 2
        for i in range(5):
            metrics.create({**METRIC, "name": f"metric {i}/x"})
        ids = [m["id"] for m in metrics.records()]
        assert ids == [f"metric {i}/x::event_count_custom" for i in range(5)]
        assert metrics.get(ids[0])["name"] == "metric 0/x"  # a slash in the id is percent-encoded
        assert metrics.update(ids[0], {"description": "d"})["description"] == "d"
        metrics.archive(ids[1])
        assert "archiveTime" in metrics.get(ids[1])
        metrics.restore(metrics.get(ids[1]))
        assert "archiveTime" not in metrics.get(ids[1])
        metrics.schedule_archive(ids[2])  # the name the module's docstring and the store's service use
        assert "archiveTime" in metrics.get(ids[2])
        with pytest.raises(mc.ValidationError) as raised:
            metrics.create({"name": "ab", "type": "sum"})
        assert {"name", "unitTypes"} <= raised.value.fields


def test_bad_credentials_are_401_and_missing_scopes_403(live: Any) -> None:
    with StatsigClient(live.url, "console-wrong") as client, pytest.raises(mc.Unauthenticated, match="401"):
        list(client.metrics().records())
    reader = live.app.keys.create_posthog_key(scopes=["account:read"], projects=[1])
    with PostHogClient(live.url, reader.token) as client:
        with pytest.raises(mc.PermissionDenied, match="403"):
            client.accounts(project_id=1).create({"name": "x"})
        with pytest.raises(mc.PermissionDenied):
            list(client.accounts(project_id=2).records())


def test_429_waits_for_retry_after_then_succeeds(serve_app: Any) -> None:
    app = App(mc.open_store("memory://"), statsig_limits=(Window(2, 1),))
    url = serve_app(app)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    key = app.keys.create_statsig_key(project_id="p9")
    with StatsigClient(url, key.token, sleep=sleep) as client:
        metrics = client.metrics()
        for i in range(3):
            metrics.create({**METRIC, "name": f"metric {i}"})
    assert waits and all(wait >= 1 for wait in waits)  # the server's Retry-After, not a guess
    assert len(list(StatsigClient(url, key.token).metrics().records())) == 3
    time.sleep(1.1)  # the window (2 per second) forgets every earlier create
    with StatsigClient(url, key.token, max_retries=0) as impatient:
        impatient.metrics().create({**METRIC, "name": "metric 3"})
        with pytest.raises(mc.RateLimited):
            for i in range(4, 8):
                impatient.metrics().create({**METRIC, "name": f"metric {i}"})


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_is_one_error_after_safe_retries() -> None:
    waits: list[float] = []
    client = StatsigClient(f"http://127.0.0.1:{closed_port()}", "k", max_retries=2, sleep=waits.append)
    with pytest.raises(Unreachable, match="cannot reach"):
        list(client.metrics().records())
    assert waits == [0.5, 1.0]  # GET is safe: retried with backoff
    waits.clear()
    with pytest.raises(Unreachable):
        client.metrics().create(METRIC)
    assert waits == []  # a POST without an idempotency key is never retried


@pytest.mark.parametrize("base_url", ["http://256.1.1.1", "http://[::1", "http://example.com:port"])
def test_an_unusable_base_url_is_a_configuration_error(base_url: str) -> None:
    with pytest.raises(mc.ConfigurationError, match="not a usable base"), PostHogClient(base_url, "phx_k") as client:
        client.accounts(project_id=1).get("a")


FILES = """\
resource: statsig.metrics
scope: {project_id: p1}
definitions:
  - {name: signups, type: event_count_custom, unitTypes: [userID], metricEvents: [{name: s}]}
  - {name: signup rate, type: composite, unitTypes: [userID],
     metricComponentMetrics: [{name: signups, type: event_count_custom}]}
---
resource: posthog.accounts
scope: {project_id: 1}
definitions:
  - {name: Acme, external_id: acme}
---
resource: posthog.group_usage_metrics
scope: {project_id: 1, group_type_index: 0}
definitions:
  - {name: Events, filters: {}}
---
resource: sequence.usage_metrics
scope: {account_id: acc1}
definitions:
  - {name: API calls, metricType: SIMPLE, eventType: api_call, aggregationType: COUNT}
"""


def test_http_target_plans_applies_exports_like_a_store(live: Any, tmp_path: Path) -> None:
    path = tmp_path / "defs.yaml"
    path.write_text(FILES)
    target = defs.HttpTarget(live.url, env=live.env())
    planned = defs.plan([path], target)
    assert planned.counts()["create"] == 5
    assert defs.apply(planned, target).ok
    assert defs.plan([path], target).empty
    # the server's store holds what was sent, ownership markers included
    assert (
        "metricscore-managed"
        in live.app.store.statsig.metrics(project_id="p1").get("signups::event_count_custom")["tags"]
    )
    path.write_text(FILES.replace("{name: Acme, external_id: acme}", "{name: Acme Inc, external_id: acme}"))
    changed = defs.plan([path], target)
    assert [(c.action, [d.field for d in c.diffs]) for c in changed.changes] == [("update", ["name"])]
    assert defs.apply(changed, target).ok
    for resource, scope in [
        ("statsig.metrics", {"project_id": "p1"}),
        ("sequence.usage_metrics", {"account_id": "acc1"}),
    ]:
        document = defs.export(target, resource, scope)
        assert len(document["definitions"]) == (2 if resource == "statsig.metrics" else 1)
    path.write_text(FILES.split("---")[0])
    pruned = defs.plan([path], target, prune=True)
    assert pruned.empty  # the other documents are gone, so their scopes are not managed any more
    target.close()


def test_http_target_needs_credentials(live: Any, tmp_path: Path) -> None:
    path = tmp_path / "defs.yaml"
    path.write_text(FILES)
    target = defs.HttpTarget(live.url, env={})
    with pytest.raises(mc.ConfigurationError, match="METRICSCORE_STATSIG_KEY"):
        defs.plan([path], target)


@pytest.mark.parametrize(
    ("method", "headers", "safe", "retried"),
    [
        ("GET", None, None, True),
        ("PUT", None, None, True),
        ("DELETE", None, None, True),
        ("POST", None, None, False),
        ("POST", {"Idempotency-Key": "k"}, None, True),
        ("PUT", None, False, False),  # e.g. Statsig's schedule_archive: a second one is a 409
    ],
)
def test_503_is_retried_only_when_the_request_is_safe(
    method: str, headers: dict[str, str] | None, safe: bool | None, retried: bool
) -> None:
    import httpx

    from metricscore.client import ServerError

    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(503 if len(calls) == 1 else 200, json={"ok": True})

    waits: list[float] = []
    client = StatsigClient("http://x", "k", transport=httpx.MockTransport(handler), sleep=waits.append)
    if retried:
        assert client.request(method, "/p", headers=headers, safe=safe) == {"ok": True}
        assert len(calls) == 2 and waits == [0.5]
    else:
        with pytest.raises(ServerError, match="503"):
            client.request(method, "/p", headers=headers, safe=safe)
        assert len(calls) == 1 and waits == []


def test_client_list_sends_the_services_keywords_and_answers_the_envelope(live: Any) -> None:
    """``list(**params)`` takes the keywords the store's ``list()`` takes, a list of values meaning
    the same (any of them; the server keeps only the last of a repeated parameter, so the client
    writes several as the vendor does: PostHog JSON text, Sequence and Statsig comma-separated),
    and answers the page's envelope with exactly its typed keys."""
    from metricscore.pagination import CursorEnvelope, NumberedEnvelope, OffsetEnvelope

    with PostHogClient(live.url, live.posthog.token) as client:
        accounts = client.accounts(project_id=7)
        for tag in ("red", "green", "blue"):
            accounts.create({"name": tag, "tags": [tag]})
        page = accounts.list(tags=["red", "green"], ordering="name", limit=1)
        assert set(page) == set(OffsetEnvelope.__annotations__)
        assert (page["count"], [a["name"] for a in page["results"]]) == (2, ["green"])
        assert accounts.list(tags=("blue",))["count"] == 1
    with SequenceClient(live.url, live.sequence.client_id, live.sequence.client_secret) as client:
        usage = client.usage_metrics()
        for event in ("e1", "e2", "e3"):
            usage.create({**USAGE, "name": event, "eventType": event})
        cursor = usage.list(eventType=["e1", "e3"], limit=1)
        assert set(cursor) == set(CursorEnvelope.__annotations__)
        assert [m["eventType"] for m in cursor["items"]] == ["e1"]
        assert cursor["pagination"]["totalResultSize"] == 2
        assert [m["eventType"] for m in usage.list(after=cursor["pagination"]["after"])["items"]] == ["e2", "e3"]
    with StatsigClient(live.url, live.statsig.token) as client:
        metrics = client.metrics()
        for tag in ("t1", "t2", "t3"):
            metrics.create({**METRIC, "name": f"tagged {tag}", "tags": [tag]})
        numbered = metrics.list(tags=["t1", "t3"], page=2, limit=1)
        assert set(numbered) == set(NumberedEnvelope.__annotations__)
        assert [m["name"] for m in numbered["data"]] == ["tagged t3"]
        assert numbered["pagination"]["totalItems"] == 2
