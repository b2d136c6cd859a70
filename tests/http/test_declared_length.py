"""A body declared (``Content-Length``) past the server's limit is refused from the header alone.

A client that sends such a header and then nothing must get its 413 at once, not hold a request
thread until the read timeout; a ``Content-Length`` that is no non-negative integer is a 400. A
client already sending that body reads its 413, not a reset, and does not hold the worker.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

import metricscore as mc

pytest.importorskip("apispec", reason="needs the server extra: pip install 'metricscore[server]'")
pytest.importorskip("openapi_schema_validator", reason="needs the dev extra: pip install 'metricscore[dev]'")

from documented import DocumentedApp

from metricscore.http.asgi import asgi_app
from metricscore.http.testing import GROUP_METRIC, SEQUENCE_METRIC, STATSIG_METRIC, basic, bearer, call, statsig
from metricscore.http.wsgi import wsgi_app


@pytest.fixture
def app() -> Iterator[DocumentedApp]:
    store = mc.open_store("memory://")
    yield DocumentedApp(store)
    store.close()


def _creations(app: DocumentedApp) -> list[tuple[str, dict[str, str], Any]]:
    """A creating route of each dialect, with a key allowed to create there and a valid body."""
    return [
        (
            "/api/projects/1/groups_types/0/metrics/",
            bearer(app.keys.create_posthog_key(scopes=["*"], projects=[1])),
            GROUP_METRIC,
        ),
        ("/usage-metrics", basic(app.keys.create_sequence_credentials(account_id="acct")), SEQUENCE_METRIC),
        ("/console/v1/metrics", statsig(app.keys.create_statsig_key(project_id="proj")), STATSIG_METRIC),
    ]


def test_a_declared_length_past_the_limit_is_a_413_in_each_dialects_format(app: DocumentedApp) -> None:
    for path, key, metric in _creations(app):
        sent = json.dumps(metric).encode()
        # The same refusal as for a body that really is too large (DocumentedApp checks the schema).
        small = DocumentedApp(app.store)
        small.max_body = len(sent) - 1
        real = call(small, "POST", path, headers=key, json_body=metric)
        declared = {**key, "Content-Type": "application/json", "Content-Length": str(app.max_body + 1)}
        answered = call(app, "POST", path, headers=declared, body=b"")
        assert (answered.status, real.status) == (413, 413), path
        assert answered.json().keys() == real.json().keys(), path
        # Within the limit, the header does not get in the way.
        fits = call(app, "POST", path, headers={**declared, "Content-Length": str(len(sent))}, body=sent)
        assert fits.status == 201, (path, fits.json())


@pytest.mark.parametrize("length", ["abc", "-1", "1.5", "1e3", "+5", "٣"])
def test_a_content_length_that_is_no_non_negative_integer_is_a_400(app: DocumentedApp, length: str) -> None:
    for path, key, metric in _creations(app):
        headers = {**key, "Content-Length": length}
        answered = call(app, "POST", path, headers=headers, json_body=metric)
        assert answered.status == 400, (path, length)


class _Unread(io.BytesIO):
    """A request body stream that fails the test when it is read."""

    def read(self, size: int | None = -1) -> bytes:
        raise AssertionError("the body was read although its declared length is past the limit")


def test_the_wsgi_app_does_not_read_a_body_declared_past_the_limit(app: DocumentedApp) -> None:
    path, key, _ = _creations(app)[1]
    statuses: list[str] = []
    for length, status in ((str(app.max_body + 1), "413"), ("many", "400")):
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": length,
            "HTTP_AUTHORIZATION": key["Authorization"],
            "wsgi.input": _Unread(),
        }
        body = b"".join(wsgi_app(app)(environ, lambda line, headers: statuses.append(line)))
        assert statuses[-1].startswith(status) and json.loads(body)


def test_the_asgi_app_does_not_wait_for_a_body_declared_past_the_limit(app: DocumentedApp) -> None:
    path, key, _ = _creations(app)[1]

    async def never(*_: Any) -> Any:
        raise AssertionError("the body was awaited although its declared length is past the limit")

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    for length, status in ((str(app.max_body + 1), 413), ("many", 400)):
        sent.clear()
        headers = [(b"content-length", length.encode()), (b"authorization", key["Authorization"].encode())]
        scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
        asyncio.run(asgi_app(app)(scope, never, send))
        assert sent[0]["status"] == status and json.loads(sent[1]["body"])


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, bytes]]:
    """A real server with a single worker (so that a held worker shows), and the head of a request
    declaring a body (100 MiB) past its limit."""
    pytest.importorskip("gunicorn", reason="needs the server extra: pip install 'metricscore[server]'")
    from serving import create_key, serve

    with serve(tmp_path_factory.mktemp("drain"), "--read-timeout", "6", workers=1) as server:
        key = create_key(server.url, "posthog", "--scopes", "*", "--projects", "1")
        head = (
            "POST /api/projects/1/groups_types/0/metrics/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {key['token']}\r\nContent-Type: application/json\r\n"
            "Content-Length: 104857600\r\n\r\n"
        ).encode()
        yield server, head


def _assert_refused(received: bytes) -> None:
    status_line, _, rest = received.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), received[:200]
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["type"] == "invalid_request"


def _read_to_end(client: socket.socket) -> bytes:
    received = b""
    while data := client.recv(65536):  # a reset raises ConnectionResetError
        received += data
    return received


def test_the_server_answers_a_declared_body_past_its_limit_at_once(one_worker: Any) -> None:
    server, head = one_worker  # 100 MiB announced, none sent
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
        client.sendall(head)
        received = _read_to_end(client)  # until the server closes the connection
    elapsed = time.monotonic() - started
    _assert_refused(received)
    assert elapsed < 3.0, f"the refusal took {elapsed:.1f}s: the server waited for the body"
    malformed = server.request("POST", "/usage-metrics", {"Content-Length": "x1"})
    assert malformed.status == 400 and json.loads(malformed.body)


def test_a_client_streaming_a_body_past_the_limit_reads_its_413_not_a_reset(one_worker: Any) -> None:
    server, head = one_worker
    chunk = b"x" * 65536
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
            client.sendall(head)
            try:  # 32 MiB as fast as the socket takes them, as an HTTP client sends a body
                for _ in range(512):
                    client.sendall(chunk)
            except OSError:  # the server stopped reading: the answer may be waiting
                pass
            _assert_refused(_read_to_end(client))


def test_what_a_refused_client_already_sent_is_read_so_its_connection_is_not_reset(one_worker: Any) -> None:
    # A client that sent part of its body before reading the answer: closing with those bytes
    # unread would make the kernel reset the connection (the client sees EPIPE/ECONNRESET).
    server, head = one_worker
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
            client.sendall(head + b"x" * 200 * 1024)
            _assert_refused(_read_to_end(client))
            time.sleep(0.2)  # time for a reset to arrive
            assert client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0


def test_a_refused_client_that_keeps_its_connection_open_does_not_hold_the_worker(one_worker: Any) -> None:
    server, head = one_worker
    closing = b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    for request in (head, closing):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as held:
            held.sendall(request)
            _read_to_end(held)  # the answer, then the server's end of the connection; held stays open
            started = time.monotonic()
            assert server.request("GET", "/openapi.json", timeout=10).status == 200
            elapsed = time.monotonic() - started
            assert elapsed < 2.5, f"the next request waited {elapsed:.1f}s on a closed connection's client"


def test_gunicorns_close_of_a_gracefully_closed_connection_does_not_fail() -> None:
    # gunicorn 27 counts a connection closed a second time when its close raises.
    pytest.importorskip("gunicorn", reason="needs the server extra: pip install 'metricscore[server]'")
    from gunicorn.workers.gthread import TConn  # type: ignore[import-untyped]

    from metricscore.http.serve import DeadlineSocket

    ours, theirs = socket.socketpair()
    with theirs:
        sock = DeadlineSocket(ours, 1.0)
        theirs.close()
        sock.close_gracefully()
        conn = TConn.__new__(TConn)
        conn.sock = sock
        graceful = "graceful" in inspect.signature(TConn.close).parameters  # gunicorn >= 27
        conn.close(**({"graceful": True} if graceful else {}))
