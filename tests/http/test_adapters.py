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


def test_asgi_round_trip() -> None:
    app, token = _app()
    application = asgi_app(app)
    sent: list[MutableMapping[str, Any]] = []
    body = json.dumps(METRIC).encode()
    messages = [
        {"type": "http.request", "body": body[:10], "more_body": True},
        {"type": "http.request", "body": body[10:], "more_body": False},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/console/v1/metrics",
        "raw_path": b"/console/v1/metrics",
        "query_string": b"",
        "headers": [(b"statsig-api-key", token.encode()), (b"content-type", b"application/json")],
    }
    asyncio.run(application(scope, receive, send))
    assert sent[0]["status"] == 201
    assert json.loads(sent[1]["body"])["data"]["id"] == "a/b c::sum"
