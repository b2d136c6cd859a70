"""The ASGI adapter: ``asgi_app(app)`` is an ASGI 3 application (HTTP and lifespan).

The core does blocking storage I/O, so each request runs in the event loop's default thread
pool. Runs under any asyncio-based ASGI server (uvicorn, hypercorn, daphne)::

    from metricscore.http.asgi import asgi_app
    application = asgi_app(App(mc.open_store("sqlite:///metrics.db")))
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from .core import App, Request
from .types import content_length

_PATH_SAFE = "/:@!$&'()*+,;=-._~"

__all__ = ["ASGIApp", "asgi_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ASGIApp:
    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":  # websockets: not served
            raise ValueError(f"Unsupported ASGI scope type {scope['type']!r}.")
        body = bytearray()
        limit = self.app.max_body + 1
        declared = [content_length(value.decode("latin-1")) for name, value in scope.get("headers", ())
                    if name.lower() == b"content-length"]  # fmt: skip
        # A body declared past the limit, or by a malformed length, is not waited for: the app
        # answers 413 or 400 from the header alone.
        refused = bool(declared) and (declared[0] is None or declared[0] >= limit)
        while not refused:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            if len(body) < limit:
                body.extend(message.get("body", b"")[: limit - len(body)])
            if not message.get("more_body", False):
                break
        raw_path = scope.get("raw_path")
        if isinstance(raw_path, bytes) and raw_path:
            path = raw_path.split(b"?", 1)[0].decode("latin-1")
        else:
            path = quote(scope.get("path", "/"), safe=_PATH_SAFE, errors="surrogatepass")
        # a lone surrogate (which no UTF-8 carries) is escaped as its bytes, to be found by no route
        root = quote(str(scope.get("root_path", "")), safe=_PATH_SAFE, errors="surrogatepass")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        request = Request(
            method=scope["method"],
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", ())],
            body=bytes(body),
            scheme=scope.get("scheme", "http"),
            root_path=root,
        )
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(None, self.app.handle, request)
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        headers.append((b"content-length", str(len(response.body)).encode("ascii")))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body if request.method != "HEAD" else b""})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await loop_close(self.app)
                await send({"type": "lifespan.shutdown.complete"})
                return


async def loop_close(app: App) -> None:
    """Nothing to release: the store belongs to whoever built the app."""


def asgi_app(app: App) -> ASGIApp:
    return ASGIApp(app)
