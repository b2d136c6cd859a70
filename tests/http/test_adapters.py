"""The WSGI and ASGI adapters hand the core the raw path, query, headers and body."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import MutableMapping
from typing import Any

import metricscore as mc
from metricscore.http import App
from metricscore.http.asgi import asgi_app
from metricscore.http.wsgi import wsgi_app


def _app() -> tuple[App, str]:
    app = App(mc.open_store("memory://"))
    key = app.keys.create_statsig_key(project_id="p1")
    return app, key.token


METRIC = {"name": "a/b c", "type": "sum", "unitTypes": ["u"], "metricEvents": [{"name": "e"}]}


def test_wsgi_round_trip_keeps_encoded_slashes() -> None:
    app, token = _app()
    application = wsgi_app(app)
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        statuses.append(status)

    body = json.dumps(METRIC).encode()
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/console/v1/metrics",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_STATSIG_API_KEY": token,
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
    }
    assert json.loads(b"".join(application(environ, start_response)))["data"]["id"] == "a/b c::sum"
    read_environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/console/v1/metrics/a/b c::sum",  # decoded by the server...
        "RAW_URI": "/console/v1/metrics/a%2Fb%20c::sum?x=1",  # ...but gunicorn keeps the raw one
        "QUERY_STRING": "x=1",
        "HTTP_STATSIG_API_KEY": token,
        "wsgi.input": io.BytesIO(b""),
    }
    assert json.loads(b"".join(application(read_environ, start_response)))["data"]["name"] == "a/b c"
    assert statuses == ["201 Created", "200 OK"]


def _asgi(app: App, scope: dict[str, Any], messages: list[dict[str, Any]]) -> list[MutableMapping[str, Any]]:
    """The messages the ASGI adapter sends for ``scope``, its body arriving as ``messages``."""
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asgi_app(app)({"type": "http", "query_string": b"", **scope}, receive, send))
    return sent


def test_asgi_round_trip() -> None:
    app, token = _app()
    body = json.dumps(METRIC).encode()
    messages = [
        {"type": "http.request", "body": body[:10], "more_body": True},
        {"type": "http.request", "body": body[10:], "more_body": False},
    ]
    scope = {
        "method": "POST",
        "path": "/console/v1/metrics",
        "raw_path": b"/console/v1/metrics",
        "headers": [(b"statsig-api-key", token.encode()), (b"content-type", b"application/json")],
    }
    sent = _asgi(app, scope, messages)
    assert sent[0]["status"] == 201
    assert json.loads(sent[1]["body"])["data"]["id"] == "a/b c::sum"


def test_asgi_path_with_a_lone_surrogate_is_a_404_in_the_dialects_format() -> None:
    # Found: a scope whose decoded path (no raw_path) held a lone surrogate raised
    # UnicodeEncodeError out of the app: the ASGI server's own 500, no vendor's body.
    app, token = _app()
    scope = {
        "method": "GET",
        "path": "/console/v1/metrics/\udcff/x\ud800",
        "root_path": "/m\udcff",
        "headers": [(b"statsig-api-key", token.encode())],
    }
    sent = _asgi(app, scope, [{"type": "http.request", "body": b"", "more_body": False}])
    assert sent[0]["status"] == 404
    assert json.loads(sent[1]["body"]) == {
        "status": 404,
        "message": "Not Found. The requested resource could not be found.",
    }
