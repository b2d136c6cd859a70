"""Slow clients against a real ``metricscore serve``: trickling headers or bodies never stall others."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("gunicorn", reason="needs the server extra: pip install 'metricscore[server]'")
pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")

from serving import Server, create_key, serve

READ_TIMEOUT = 4.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # The default threads per worker; a short read timeout so that the cut-off test is quick.
    options = ("--read-timeout", str(READ_TIMEOUT))
    with serve(tmp_path_factory.mktemp("slow"), *options) as running:
        yield running


class Trickler(threading.Thread):
    """Sends ``head`` at once, then ``data`` one byte every ``pause`` seconds, then waits for a reply."""

    def __init__(self, port: int, data: bytes, head: bytes = b"", pause: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.port, self.head, self.data, self.pause = port, head, data, pause
        self.stop = threading.Event()
        self.closed_after: float | None = None
        self.connected = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(self.head)
            self.connected.set()
            try:
                for byte in self.data:
                    if self.stop.is_set():
                        return
                    sock.sendall(bytes([byte]))
                    time.sleep(self.pause)
                sock.recv(65536)
            except OSError:
                pass
            self.closed_after = time.monotonic() - started


def _slow_headers(port: int) -> Trickler:
    return Trickler(port, b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n")


def _slow_body(port: int, key: str) -> Trickler:
    body = b'{"name": "' + b"b" * 200 + b'"}'
    head = (
        b"POST /api/environments/1/accounts/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer " + key.encode() + b"\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    return Trickler(port, body, head)


def test_normal_requests_are_answered_while_slow_clients_trickle(server: Server, tmp_path: Path) -> None:
    key = create_key(server.url, "posthog", "--scopes", "*", "--projects", "1")["token"]
    slow = [_slow_headers(server.port) for _ in range(2)] + [_slow_body(server.port, key) for _ in range(2)]
    for client in slow:
        client.start()
        client.connected.wait(5)
    time.sleep(1.0)  # every slow client has started sending
    try:
        for _ in range(5):
            started = time.monotonic()
            reply = server.request(
                "GET", "/api/environments/1/accounts/", {"Authorization": f"Bearer {key}"}, timeout=10
            )
            elapsed = time.monotonic() - started
            assert reply.status == 200
            assert elapsed < 2.0, f"a normal request waited {elapsed:.1f}s behind slow clients"
            time.sleep(0.2)
    finally:
        for client in slow:
            client.stop.set()


def test_a_trickling_client_is_cut_off_after_the_read_timeout(server: Server) -> None:
    client = _slow_headers(server.port)
    client.data = client.data * 20  # far more than the read timeout allows at this pace
    client.start()
    client.join(READ_TIMEOUT + 15)
    assert client.closed_after is not None, "the server never dropped a client trickling its headers"
    assert client.closed_after < READ_TIMEOUT + 5
