"""Error bodies over real HTTP: always encodable, always in the format of the dialect whose route
was asked (also for an unexpected failure), and PostHog's as drf-exceptions-hog writes them."""

from __future__ import annotations

import base64
import http.client
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

import metricscore as mc
from metricscore.http import App
from metricscore.http.wsgi import wsgi_app

SURROGATE = b'"\\ud800"'  # JSON for a lone surrogate


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Live:
    app: App
    port: int
    auth: dict[str, dict[str, str]]

    def request(self, method: str, path: str, dialect: str, body: bytes = b"", **headers: str) -> tuple[int, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            sent = {**self.auth[dialect], "Content-Type": "application/json", **headers}
            connection.request(method, path, body=body or None, headers=sent)
            response = connection.getresponse()
            raw = response.read()
            assert response.getheader("Content-Type") == "application/json"
            return response.status, json.loads(raw)  # always valid JSON, whatever was echoed
        finally:
            connection.close()


@pytest.fixture()
def live() -> Iterator[Live]:
    app = App(mc.open_store("memory://"), statsig_limits=())
    posthog = app.keys.create_posthog_key(scopes=["*"], projects=[1])
    sequence = app.keys.create_sequence_credentials(account_id="acct")
    statsig = app.keys.create_statsig_key(project_id="proj")
    basic = base64.b64encode(f"{sequence.client_id}:{sequence.client_secret}".encode()).decode()
    auth = {
        "posthog": {"Authorization": f"Bearer {posthog.token}"},
        "sequence": {"Authorization": f"Basic {basic}"},
        "statsig": {"STATSIG-API-KEY": statsig.token},
    }
    server: WSGIServer = make_server("127.0.0.1", 0, wsgi_app(app), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Live(app, server.server_port, auth)
    finally:
        server.shutdown()
        server.server_close()


# An invalid choice echoes the value sent: here a lone surrogate, which UTF-8 cannot encode.
ECHOING = {
    "posthog": (
        "/api/projects/1/groups_types/0/metrics/",
        b'{"name": "a", "filters": {}, "format": ' + SURROGATE + b"}",
    ),
    "sequence": ("/api/usage-metrics", b'{"name": "a", "aggregationType": ' + SURROGATE + b"}"),
    "statsig": ("/console/v1/metrics", b'{"name": "abcd", "type": ' + SURROGATE + b"}"),
}


def test_a_lone_surrogate_in_a_message_is_escaped_in_the_dialects_400(live: Live) -> None:
    status, body = live.request("POST", ECHOING["posthog"][0], "posthog", ECHOING["posthog"][1])
    assert status == 400
    assert body == {**body, "type": "validation_error", "code": "invalid_choice", "attr": "format"}
    assert "\ud800" in body["detail"]
    status, body = live.request("POST", ECHOING["sequence"][0], "sequence", ECHOING["sequence"][1])
    assert status == 400 and {"key": "aggregationType", "error": '"\ud800" is not a valid choice.'} in body["errors"]
    status, body = live.request("POST", ECHOING["statsig"][0], "statsig", ECHOING["statsig"][1])
    assert status == 400 and body["status"] == 400 and body["errors"]["type"] == ['"\ud800" is not a valid choice.']


LISTS = {
    "posthog": "/api/environments/1/accounts/",
    "sequence": "/api/usage-metrics",
    "statsig": "/console/v1/metrics/list",
}


def _expected_500(dialect: str) -> dict[str, Any]:
    return {
        "posthog": {"type": "server_error", "code": "error", "detail": "A server error occurred.", "attr": None},
        "sequence": {"errors": [{"key": "", "error": "Internal server error."}]},
        "statsig": {"status": 500, "message": "Internal server error."},
    }[dialect]


@pytest.mark.parametrize("dialect", ["posthog", "sequence", "statsig"])
def test_an_unexpected_failure_is_a_500_in_the_routes_dialect(
    live: Live, dialect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    # After authentication (a failing key lookup is the storage's 503, not a bug's 500).
    monkeypatch.setattr(mc.ResourceService, "list", broken)
    status, body = live.request("GET", LISTS[dialect], dialect)
    assert (status, body) == (500, _expected_500(dialect))


@pytest.mark.parametrize("dialect", ["posthog", "sequence", "statsig"])
def test_a_failure_while_rendering_an_error_is_still_the_dialects_500(
    live: Live, dialect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = live.app.dialects[dialect]

    def broken(error: mc.MetricscoreError) -> tuple[int, dict[str, Any]]:
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(original, "render_error", broken)
    path, body = ECHOING[dialect]
    status, answer = live.request("POST", path, dialect, body)
    assert status == 500
    assert answer == original.plain_error(500, "error", "A server error occurred.")
    assert (
        answer
        == {
            "posthog": {"type": "server_error", "code": "error", "detail": "A server error occurred.", "attr": None},
            "sequence": {"errors": [{"key": "", "error": "A server error occurred."}]},
            "statsig": {"status": 500, "message": "A server error occurred."},
        }[dialect]
    )


def test_posthog_bodies_follow_drf_exceptions_hog(live: Live) -> None:
    accounts = "/api/environments/1/accounts/"
    status, body = live.request("POST", accounts, "posthog", b"{not json")
    assert status == 400
    assert (body["type"], body["code"], body["attr"]) == ("invalid_request", "parse_error", None)
    assert body["detail"].startswith("JSON parse error - ")
    status, body = live.request("GET", accounts, "posthog", Authorization="Bearer phx_not_a_key")
    assert (status, body) == (
        401,
        {
            "type": "authentication_error",
            "code": "authentication_failed",
            "detail": "Personal API key found in request Authorization header is invalid.",
            "attr": None,
        },
    )
    status, body = live.request("GET", accounts, "posthog", Authorization="")
    assert (status, body["code"]) == (401, "not_authenticated")
    payload = {"name": "a", "properties": {"csm": {"id": "x", "email": "e@example.com"}}}
    status, body = live.request("POST", accounts, "posthog", json.dumps(payload).encode())
    assert (status, body) == (
        400,
        {
            "type": "validation_error",
            "code": "invalid_input",
            "detail": "csm.id: A valid integer is required.",
            "attr": "properties",
        },
    )
    status, body = live.request("POST", accounts, "posthog", json.dumps({"name": "a", "tags": [1]}).encode())
    assert (status, body["attr"]) == (400, "tags__0")  # a list item keeps its index
