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
from urllib.parse import urlsplit

from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]
from gunicorn.http import errors as http_errors  # type: ignore[import-untyped]
from gunicorn.util import write_nonblock  # type: ignore[import-untyped]
from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]

from .core import App
from .types import content_length
from .wsgi import status_line

__all__ = ["DeadlineSocket", "SlowClientSafeWorker", "run_server"]

#: Seconds a client may take to send one request (headers and body) once it has started.
DEFAULT_READ_TIMEOUT = 10.0
#: The most a closing connection waits for its client's last bytes, and how many it reads (see
#: :meth:`DeadlineSocket.close_gracefully`).
LINGER_SECONDS = 1.0
LINGER_BYTES = 256 * 1024
#: How many of a request's first bytes are kept to answer a request gunicorn refuses in its route's format.
_HEAD_BYTES = 1024
#: gunicorn's refusals of a request it cannot read: (status, code, message) by its parse error.
_LIMITS = {
    http_errors.LimitRequestLine: (414, "uri_too_long", "The request line is too long."),
    http_errors.LimitRequestHeaders: (431, "request_header_fields_too_large", "The request headers are too large."),
}
#: Parse errors that are the server's fault (a response header it built, its configuration);
#: looked up by name, since older gunicorn releases (23) lack some of them.
_SERVER_FAULTS: tuple[type[Exception], ...] = tuple(
    getattr(http_errors, name)
    for name in ("ConfigurationProblem", "InvalidResponseHeader", "InvalidResponseHeaderName")
    if hasattr(http_errors, name)
)


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
        self._head = bytearray()

    def start_request(self, since: float) -> None:
        """A new request may begin on this connection: its deadline runs from ``since`` (monotonic)."""
        self._deadline = since + self._read_timeout
        self._head.clear()

    def request_path(self) -> str:
        """The path of the request being read, as far as its first bytes show it (``/`` if they do not)."""
        line = bytes(self._head).split(b"\r\n", 1)[0].split(b" ")
        target = line[1].decode("latin-1") if len(line) > 1 else "/"
        try:
            return urlsplit(target).path or "/"
        except ValueError:  # a malformed absolute URL (an unclosed IPv6 bracket)
            return "/"

    def _keep(self, data: Any) -> None:
        if len(self._head) < _HEAD_BYTES:
            self._head += data[: _HEAD_BYTES - len(self._head)]

    def setblocking(self, flag: bool) -> None:
        self._blocking = flag
        # gunicorn >= 27 sets a connection blocking before closing it, and counts it closed twice
        # when that fails: a socket already closed by close_gracefully() is left as it is.
        if self._sock.fileno() != -1:
            self._sock.setblocking(flag)

    def _bounded(self, seconds: float) -> None:
        if self._blocking:
            self._sock.settimeout(max(seconds, 0.001))

    def recv(self, size: int, *flags: int) -> bytes:
        self._bounded(self._deadline - time.monotonic())
        try:
            data = self._sock.recv(size, *flags)
        except TimeoutError:
            return b""
        self._keep(data)
        return data

    def recv_into(self, buffer: Any, *args: int) -> int:
        self._bounded(self._deadline - time.monotonic())
        try:
            count = self._sock.recv_into(buffer, *args)
        except TimeoutError:
            return 0
        self._keep(memoryview(buffer)[:count])
        return count

    def shutdown(self, how: int) -> None:
        """Once the answer is complete (``SHUT_WR``), reads wait at most ``LINGER_SECONDS`` more: a
        server that drains the client's last bytes before closing (gunicorn >= 27, on the worker's
        main loop) is not held for the rest of the request's read timeout by a client that keeps
        the connection open."""
        self._deadline = min(self._deadline, time.monotonic() + LINGER_SECONDS)
        self._sock.shutdown(how)

    def close_gracefully(self) -> None:
        """Close after an answer sent while the client may still be sending (a refused body).

        Closing with unread bytes makes the kernel reset the connection, and a client that is told
        "connection reset" may never read the answer. So the answer is ended with a FIN and what the
        client still sends is read and dropped until it closes too, for at most ``LINGER_SECONDS``
        and ``LINGER_BYTES`` (a client that keeps sending cannot hold the thread)."""
        sock = self._sock
        try:
            sock.shutdown(socket.SHUT_WR)
            deadline, drained = time.monotonic() + LINGER_SECONDS, 0
            while drained < LINGER_BYTES and (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                data = sock.recv(65536)
                if not data:
                    break
                drained += len(data)
        except OSError:  # the client went away, or the wait ended (TimeoutError)
            pass
        finally:
            sock.close()  # gunicorn's own close of this connection then finds it closed

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

    def handle_request(self, req: Any, conn: Any) -> bool:
        """Serve one request; the connection closes when the app left a declared body past its
        limit unread (answered 413 from the header), instead of waiting for the client to send it.

        That close lingers in this request thread (:meth:`DeadlineSocket.close_gracefully`), so
        the client reads its 413 rather than a reset, with gunicorn 23 (which closes at once) too."""
        keepalive = bool(super().handle_request(req, conn))
        app = getattr(getattr(self, "wsgi", None), "app", None)
        if keepalive and isinstance(app, App):
            lengths = [content_length(value) for name, value in req.headers if name == "CONTENT-LENGTH"]
            if lengths and (lengths[0] or 0) > app.max_body:
                if isinstance(conn.sock, DeadlineSocket):
                    conn.sock.close_gracefully()
                return False
        return keepalive

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """A request gunicorn could not read (or a failure around the app) answered as the app
        answers: JSON in the format of the dialect its path names, with a documented status,
        instead of gunicorn's HTML page."""
        app = getattr(getattr(self, "wsgi", None), "app", None)
        if not isinstance(client, DeadlineSocket) or not isinstance(app, App):
            super().handle_error(req, client, addr, exc)
            return
        status, code, message = _LIMITS.get(type(exc), (400, "parse_error", "Malformed HTTP request."))
        if isinstance(exc, http_errors.ParseException) and not isinstance(exc, _SERVER_FAULTS):
            self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        else:
            self.log.exception("Error handling request")
            status = 500
        response = app.refusal(client.request_path(), status, code, message)
        head = [f"HTTP/1.1 {status_line(response.status)}", "Connection: close"]
        head += [f"{name}: {value}" for name, value in response.headers]
        head.append(f"Content-Length: {len(response.body)}")
        try:
            write_nonblock(client, "\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + response.body)
        except Exception:  # the client went away
            self.log.debug("Failed to send error message.")


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
