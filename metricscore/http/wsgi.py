"""The WSGI adapter (stdlib only): ``wsgi_app(app)`` is a WSGI application for any WSGI server.

::

    from metricscore.http import App
    from metricscore.http.wsgi import wsgi_app
    application = wsgi_app(App(mc.open_store("sqlite:///metrics.db")))   # gunicorn module:application
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlsplit

from .core import App, Request, Response
from .types import content_length

__all__ = ["WSGIApp", "request_from_environ", "status_line", "wsgi_app"]

StartResponse = Callable[..., Any]
#: Characters left as they are when a decoded PATH_INFO is quoted again.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def _raw_path(environ: dict[str, Any]) -> str:
    """The path as the client sent it (still percent-encoded), without the mount point."""
    script_name: str = environ.get("SCRIPT_NAME", "")
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw:
        path = urlsplit(raw).path if "://" in raw.split("?", 1)[0] else raw.split("?", 1)[0]
        if script_name and path.startswith(quote(script_name.encode("latin-1"), safe=_PATH_SAFE)):
            path = path[len(quote(script_name.encode("latin-1"), safe=_PATH_SAFE)) :]
        return path or "/"
    # PEP 3333: PATH_INFO is the decoded path, its bytes carried as latin-1.
    path_info: str = environ.get("PATH_INFO", "") or "/"
    return quote(path_info.encode("latin-1"), safe=_PATH_SAFE + "%")


def request_from_environ(environ: dict[str, Any], max_body: int) -> Request:
    """A :class:`Request` from a WSGI environ, reading at most ``max_body + 1`` body bytes.

    A body whose ``CONTENT_LENGTH`` is not a non-negative integer or is past ``max_body`` is not
    read at all: the app answers 400 or 413 from the header alone, so a client that declares a
    large body and never sends it does not hold the server until its read timeout.
    """
    headers: list[tuple[str, str]] = []
    for name, value in environ.items():
        if name.startswith("HTTP_"):
            headers.append((name[5:].replace("_", "-"), value))
        elif name in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((name.replace("_", "-"), value))
    body = b""
    stream = environ.get("wsgi.input")
    if stream is not None:
        declared = str(environ.get("CONTENT_LENGTH") or "")
        length = content_length(declared) if declared else None
        if length is not None and 0 < length <= max_body:
            body = stream.read(length)
        elif not declared and environ.get("wsgi.input_terminated"):
            body = stream.read(max_body + 1)
    return Request(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=_raw_path(environ),
        query=environ.get("QUERY_STRING", ""),
        headers=headers,
        body=body,
        scheme=environ.get("wsgi.url_scheme", "http"),
        root_path=quote(str(environ.get("SCRIPT_NAME", "")).encode("latin-1"), safe=_PATH_SAFE),
    )


class WSGIApp:
    """A WSGI application serving :class:`~metricscore.http.App`."""

    def __init__(self, app: App) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = request_from_environ(environ, self.app.max_body)
        response: Response = self.app.handle(request)
        headers = [*response.headers, ("Content-Length", str(len(response.body)))]
        start_response(status_line(response.status), headers)
        return [response.body] if request.method != "HEAD" else []


def wsgi_app(app: App) -> WSGIApp:
    return WSGIApp(app)
