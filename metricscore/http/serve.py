"""``metricscore serve``: the reference server under gunicorn, resistant to slow clients.

Each worker process runs gunicorn's threaded worker (``gthread``) with a bounded pool of request
threads. A connection is read by a thread only while its client sends: every request must arrive
(headers and body) within ``read_timeout`` seconds of its first byte, and every read or write on the
socket waits at most that long, so a client that trickles its headers or body, or never reads the
answer, frees its thread after ``read_timeout`` and other requests keep being answered meanwhile.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]
from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]

__all__ = ["DeadlineSocket", "SlowClientSafeWorker", "run_server"]

#: Seconds a client may take to send one request (headers and body) once it has started.
DEFAULT_READ_TIMEOUT = 10.0


class DeadlineSocket:
    """A client socket whose blocking reads all end by one deadline and whose writes are bounded.

    A read past the deadline answers end-of-stream (``b""``): gunicorn then drops the connection as
    a client that went away, without a stack trace in the log.
    """

    def __init__(self, sock: socket.socket, read_timeout: float) -> None:
        self._sock = sock
        self._read_timeout = read_timeout
        self._deadline = time.monotonic() + read_timeout
        self._blocking = sock.getblocking()

    def start_request(self, since: float) -> None:
        """A new request may begin on this connection: its deadline runs from ``since`` (monotonic)."""
        self._deadline = since + self._read_timeout

    def setblocking(self, flag: bool) -> None:
        self._blocking = flag
        self._sock.setblocking(flag)

    def _bounded(self, seconds: float) -> None:
        if self._blocking:
            self._sock.settimeout(max(seconds, 0.001))

    def recv(self, size: int, *flags: int) -> bytes:
        self._bounded(self._deadline - time.monotonic())
        try:
            return self._sock.recv(size, *flags)
        except TimeoutError:
            return b""

    def recv_into(self, buffer: Any, *args: int) -> int:
        self._bounded(self._deadline - time.monotonic())
        try:
            return self._sock.recv_into(buffer, *args)
        except TimeoutError:
            return 0

    def send(self, data: Any, *flags: int) -> int:
        self._bounded(self._read_timeout)
        return self._sock.send(data, *flags)

    def sendall(self, data: Any, *flags: int) -> None:
        self._bounded(self._read_timeout)
        self._sock.sendall(data, *flags)

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        self._bounded(self._read_timeout)
        return self._sock.sendfile(file, offset, count)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class SlowClientSafeWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's threaded worker with a per-request read deadline (see :class:`DeadlineSocket`)."""

    read_timeout = DEFAULT_READ_TIMEOUT

    def enqueue_req(self, conn: Any) -> None:
        # The deadline runs from when the connection is queued, not from when a thread is free: a
        # request waiting behind slow clients is not given a fresh allowance of its own.
        conn.metricscore_queued_at = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        if not isinstance(conn.sock, DeadlineSocket):
            conn.sock = DeadlineSocket(conn.sock, self.read_timeout)
        conn.sock.start_request(getattr(conn, "metricscore_queued_at", time.monotonic()))
        return super().handle(conn)


def run_server(
    url: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 2,
    threads: int = 16,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    access_log: bool = False,
    app_options: dict[str, Any] | None = None,
) -> None:
    """Serve the store at ``url`` until stopped (SIGINT or SIGTERM); each worker opens its own store."""
    options = dict(app_options or {})
    worker_class = type("MetricscoreWorker", (SlowClientSafeWorker,), {"read_timeout": read_timeout})

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", f"{__name__}.SlowClientSafeWorker")
            self.cfg.set("keepalive", 5)
            self.cfg.set("proc_name", "metricscore")
            if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 25.1: no shared socket
                self.cfg.set("control_socket_disable", True)
            if access_log:
                self.cfg.set("accesslog", "-")
            # The configured class, with this server's read timeout.
            self.cfg.settings["worker_class"].value = worker_class

        def load(self) -> Any:  # runs in each worker (no preload): one store per process
            from ..api import open_store
            from .core import App
            from .wsgi import wsgi_app

            return wsgi_app(App(open_store(url), **options))

    Server().run()
