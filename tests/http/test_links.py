"""Pagination links lead back to the app as clients reach it: mounted under a prefix (Werkzeug /
Flask's DispatcherMiddleware, a Starlette mount), pinned to a public URL, never to a forged host."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

import metricscore as mc
from metricscore.errors import ConfigurationError
from metricscore.http import App, Request
from metricscore.http.asgi import asgi_app
from metricscore.http.wsgi import wsgi_app

ACCOUNTS = "/api/environments/1/accounts/"
STATSIG_LIST = "/console/v1/metrics/list"
METRIC = {
    "name": "metric_{n}",
    "type": "sum",
    "unitTypes": ["userID"],
    "metricEvents": [{"name": "purchase", "type": "value"}],
}


def seeded(**options: Any) -> tuple[App, dict[str, str], dict[str, str]]:
    """An app with two PostHog accounts and two Statsig metrics, and the keys' headers."""
    app = App(mc.open_store("memory://"), statsig_limits=(), **options)
    posthog = {"Authorization": f"Bearer {app.keys.create_posthog_key(scopes=['*'], projects=[1]).token}"}
    statsig = {"STATSIG-API-KEY": app.keys.create_statsig_key(project_id="p").token}
    for n in range(2):
        app.store.posthog.accounts(project_id=1).create({"name": f"a{n}"})
        metric = {**METRIC, "name": f"metric_{n}"}
        app.store.statsig.metrics(project_id="p").create(metric)
    return app, posthog, statsig


def test_werkzeug_dispatcher_mount_keeps_the_prefix() -> None:
    pytest.importorskip("werkzeug", reason="needs the dev extra: pip install 'metricscore[dev]'")
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.test import Client
    from werkzeug.wrappers import Response

    app, posthog, statsig = seeded()
    mounted = DispatcherMiddleware(Response("outer app"), {"/metrics": wsgi_app(app)})
    client = Client(mounted)
    page = client.get(f"/metrics{ACCOUNTS}?limit=1", headers=posthog).json
    assert page["next"] == f"http://localhost/metrics{ACCOUNTS}?limit=1&offset=1"
    assert client.get(page["next"], headers=posthog).json["previous"] == f"http://localhost/metrics{ACCOUNTS}?limit=1"
    listed = client.get(f"/metrics{STATSIG_LIST}?limit=1", headers=statsig).json["pagination"]
    assert listed["nextPage"] == f"/metrics{STATSIG_LIST}?page=2&limit=1"
    assert listed["all"] == f"/metrics{STATSIG_LIST}"
    assert client.get(listed["nextPage"], headers=statsig).json["pagination"]["pageNumber"] == 2


def test_starlette_mount_keeps_the_root_path() -> None:
    pytest.importorskip("starlette", reason="needs the dev extra: pip install 'metricscore[dev]'")
    pytest.importorskip("httpx", reason="needs the dev extra: pip install 'metricscore[dev]'")
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    app, posthog, statsig = seeded()
    outer = Starlette(routes=[Mount("/metrics", app=asgi_app(app))])
    with TestClient(outer) as client:  # base URL http://testserver
        page = client.get(f"/metrics{ACCOUNTS}?limit=1", headers=posthog).json()
        assert page["next"] == f"http://testserver/metrics{ACCOUNTS}?limit=1&offset=1"
        assert client.get(page["next"], headers=posthog).json()["results"][0]["name"] == "a0"
        listed = client.get(f"/metrics{STATSIG_LIST}?limit=1", headers=statsig).json()["pagination"]
        assert (listed["nextPage"], listed["all"]) == (
            f"/metrics{STATSIG_LIST}?page=2&limit=1",
            f"/metrics{STATSIG_LIST}",
        )


def test_a_public_url_pins_every_link() -> None:
    app, posthog, statsig = seeded(public_url="https://api.example.com/v2/")
    asked = Request("GET", ACCOUNTS, "limit=1", {**posthog, "Host": "evil.test"}, root_path="/inner")
    assert app.handle(asked).json()["next"] == f"https://api.example.com/v2{ACCOUNTS}?limit=1&offset=1"
    listed = app.handle(Request("GET", STATSIG_LIST, "limit=1", statsig, root_path="/inner")).json()["pagination"]
    assert listed["nextPage"] == f"/v2{STATSIG_LIST}?page=2&limit=1"


def test_only_an_allowed_host_goes_into_links() -> None:
    app, posthog, _ = seeded()
    for forged in ("evil.test", "evil.test/path", "a@evil.test", "localhost.evil.test"):
        body = app.handle(Request("GET", ACCOUNTS, "limit=1", {**posthog, "Host": forged})).json()
        assert body["next"] == f"http://localhost{ACCOUNTS}?limit=1&offset=1", forged
    local = app.handle(Request("GET", ACCOUNTS, "limit=1", {**posthog, "Host": "127.0.0.1:8000"})).json()
    assert local["next"].startswith("http://127.0.0.1:8000/")
    domain, posthog, _ = seeded(allowed_hosts=[".example.com"])
    ok = domain.handle(Request("GET", ACCOUNTS, "limit=1", {**posthog, "Host": "api.example.com:8443"}, scheme="https"))
    assert ok.json()["next"] == f"https://api.example.com:8443{ACCOUNTS}?limit=1&offset=1"
    refused = domain.handle(Request("GET", ACCOUNTS, "limit=1", {**posthog, "Host": "example.org"})).json()
    assert refused["next"].startswith("http://example.com/")  # the allowed domain, not the sent host


@pytest.mark.parametrize(
    "options",
    [
        {"public_url": "ftp://x"},
        {"public_url": "https://x/?q=1"},
        {"public_url": "notaurl"},
        {"allowed_hosts": ["a/b"]},
    ],
)
def test_bad_link_options_are_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        App(mc.open_store("memory://"), **options)


def test_serve_public_url_over_real_http(tmp_path: Path) -> None:
    pytest.importorskip("gunicorn", reason="needs the server extra: pip install 'metricscore[server]'")
    pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")
    from serving import create_key, serve

    with serve(tmp_path, "--public-url", "https://metrics.example.com/api-root", workers=1) as server:
        key = create_key(server.url, "posthog", "--scopes", "*", "--projects", "1")
        auth = {"Authorization": f"Bearer {key['token']}", "Content-Type": "application/json"}
        for name in ("a", "b"):
            assert server.request("POST", ACCOUNTS, auth, b'{"name": "%s"}' % name.encode()).status == 201
        page = server.request("GET", f"{ACCOUNTS}?limit=1", {**auth, "Host": "evil.test"}).json()
        assert page["next"] == f"https://metrics.example.com/api-root{ACCOUNTS}?limit=1&offset=1"
        statsig = create_key(server.url, "statsig", "--project", "p")
        listed = server.request("GET", f"{STATSIG_LIST}?limit=1", {"STATSIG-API-KEY": statsig["token"]}).json()
        assert listed["pagination"]["all"] == f"/api-root{STATSIG_LIST}"


def test_sequence_basic_auth_still_works_under_a_mount() -> None:
    pytest.importorskip("werkzeug", reason="needs the dev extra: pip install 'metricscore[dev]'")
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.test import Client
    from werkzeug.wrappers import Response

    app = App(mc.open_store("memory://"))
    credentials = app.keys.create_sequence_credentials(account_id="acct")
    basic = base64.b64encode(f"{credentials.client_id}:{credentials.client_secret}".encode()).decode()
    client = Client(DispatcherMiddleware(Response("outer"), {"/m": wsgi_app(app)}))
    reply = client.get("/m/api/usage-metrics", headers={"Authorization": f"Basic {basic}"})
    assert reply.status_code == 200 and reply.json["pagination"]["totalResultSize"] == 0


def test_statsig_links_keep_the_request_filters_under_a_mount() -> None:
    app, _, statsig = seeded()
    for n in range(3):
        app.store.statsig.metrics(project_id="p").create({**METRIC, "name": f"tagged_{n}", "tags": ["core"]})
    asked = Request("GET", STATSIG_LIST, "tags=core&limit=1&page=1", statsig, root_path="/inner")
    listed = app.handle(asked).json()["pagination"]
    assert (listed["totalItems"], listed["nextPage"], listed["all"]) == (
        3,
        f"/inner{STATSIG_LIST}?page=2&limit=1&tags=core",
        f"/inner{STATSIG_LIST}",
    )
    path, _, query = listed["nextPage"].removeprefix("/inner").partition("?")
    following = app.handle(Request("GET", path, query, statsig, root_path="/inner")).json()
    assert [m["name"] for m in following["data"]] == ["tagged_1"]
    assert following["pagination"]["previousPage"] == f"/inner{STATSIG_LIST}?page=1&limit=1&tags=core"
