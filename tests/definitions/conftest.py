"""A reference server on a real loopback socket (a thread), and its keys."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

import metricscore as mc
from metricscore.http.core import App
from metricscore.http.keys import NewKey
from metricscore.http.ratelimit import Window
from metricscore.http.wsgi import wsgi_app


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def get_environ(self) -> dict[str, Any]:
        environ = dict(super().get_environ())
        environ["REQUEST_URI"] = self.path  # the raw path, as gunicorn's RAW_URI: keeps %2F apart from /
        return environ

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class LiveServer:
    url: str
    app: App
    posthog: NewKey
    sequence: NewKey
    statsig: NewKey

    def env(self) -> dict[str, str]:
        return {
            "METRICSCORE_POSTHOG_KEY": self.posthog.token,
            "METRICSCORE_SEQUENCE_CLIENT_ID": self.sequence.client_id,
            "METRICSCORE_SEQUENCE_CLIENT_SECRET": self.sequence.client_secret,
            "METRICSCORE_STATSIG_KEY": self.statsig.token,
        }


def serve(app: App) -> tuple[str, Any]:
    server = make_server("127.0.0.1", 0, wsgi_app(app), server_class=_ThreadingServer, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.server_port}", server


@pytest.fixture
def live() -> Iterator[LiveServer]:
    store = mc.open_store("memory://")
    app = App(store, statsig_limits=(Window(1000, 10),))
    url, server = serve(app)
    try:
        yield LiveServer(
            url,
            app,
            app.keys.create_posthog_key(scopes=["*"], projects=None),
            app.keys.create_sequence_credentials(account_id="acc1"),
            app.keys.create_statsig_key(project_id="p1"),
        )
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def serve_app() -> Iterator[Any]:
    """``serve_app(app) -> base URL``: more servers for one test, all stopped after it."""
    servers: list[Any] = []

    def start(app: App) -> str:
        url, server = serve(app)
        servers.append(server)
        return url

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
