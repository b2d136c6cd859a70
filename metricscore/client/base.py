"""One HTTP client under every dialect: auth, retries, error mapping."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Any, Self

from ..errors import (
    ConfigurationError,
    Conflict,
    ErrorMessage,
    MetricscoreError,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    ValidationError,
)

try:
    import httpx
except ModuleNotFoundError as error:  # pragma: no cover - depends on the installed extras
    raise ConfigurationError("metricscore.client needs httpx: pip install 'metricscore[cli]'") from error

__all__ = ["BaseClient", "ServerError", "Unreachable"]

RETRY_STATUSES = frozenset({502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})


def _unusable(base_url: str, error: Exception) -> ConfigurationError:
    return ConfigurationError(f"{base_url} is not a usable base URL: {error}")


class Unreachable(MetricscoreError):
    """The server could not be reached (connection refused, DNS, timeout)."""

    code = "unreachable"
    status = 503


class ServerError(MetricscoreError):
    """The server answered with a status the client does not expect."""

    code = "server_error"
    status = 502


class BaseClient:
    """An ``httpx.Client`` with the dialect's auth headers, retries and error mapping.

    ``max_retries``: how often a 429 (or, for safe requests, a 502/503/504) is retried.
    ``transport_retries``: how often a safe request that could not reach the server is retried.
    ``backoff``: the first wait in seconds when the server gives no ``Retry-After``, doubled on
    each retry and capped at ``max_wait``. ``sleep`` is injectable for tests.
    """

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        *,
        timeout: float = 30.0,
        max_retries: int = 5,
        transport_retries: int = 2,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.transport_retries = transport_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self._sleep = sleep
        try:
            self._http = httpx.Client(
                base_url=self.base_url,
                headers=dict(headers),
                timeout=timeout,
                transport=transport,
                follow_redirects=False,
            )
        except httpx.InvalidURL as error:
            raise _unusable(self.base_url, error) from error

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        safe: bool | None = None,
    ) -> Any:
        """Send one request (retrying where safe); the decoded JSON body, or ``None`` when empty.

        ``safe``: whether the request may be repeated; by default ``GET``, ``PUT``, ``DELETE`` and
        any request with an ``Idempotency-Key`` are.
        """
        if safe is None:
            safe = method in SAFE_METHODS or any(k.lower() == "idempotency-key" for k in (headers or {}))
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, json=json, params=params, headers=headers)
            except httpx.TransportError as error:
                if safe and attempt < min(self.max_retries, self.transport_retries):
                    self._wait(attempt, None)
                    attempt += 1
                    continue
                raise Unreachable(f"cannot reach {self.base_url}: {type(error).__name__}: {error}") from error
            except httpx.InvalidURL as error:
                raise _unusable(self.base_url, error) from error
            status = response.status_code
            if (status == 429 or (status in RETRY_STATUSES and safe)) and attempt < self.max_retries:
                self._wait(attempt, response.headers.get("retry-after"))
                attempt += 1
                continue
            return self._result(response)

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * (2**attempt)
        if retry_after is not None:
            with contextlib.suppress(ValueError):
                delay = max(0.0, float(retry_after))
        self._sleep(min(delay, self.max_wait))

    def _result(self, response: httpx.Response) -> Any:
        status = response.status_code
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if 200 <= status < 300:
            return body
        where = f"{response.request.method} {response.request.url.path}"
        message = self.error_message(body) or response.reason_phrase or f"HTTP {status}"
        if status == 400:
            raise ValidationError(self.error_fields(body) or {"_schema": [ErrorMessage(message)]})
        if status == 401:
            raise Unauthenticated(f"{where}: 401 {message}")
        if status == 403:
            raise PermissionDenied(f"{where}: 403 {message}")
        if status == 404:
            raise NotFound(f"{where}: 404 {message}")
        if status == 409:
            raise Conflict(message)
        if status == 429:
            retry = response.headers.get("retry-after", "1")
            raise RateLimited(f"{where}: 429 {message}", retry_after=int(retry) if retry.isdigit() else 1)
        raise ServerError(f"{where}: {status} {message}")

    # -- per dialect ------------------------------------------------------------------------------

    def error_message(self, body: Any) -> str:
        """The human message of an error body."""
        if isinstance(body, dict):
            for key in ("detail", "message"):
                if isinstance(body.get(key), str):
                    return str(body[key])
        return ""

    def error_fields(self, body: Any) -> dict[str, Any]:
        """``{field: [messages]}`` of a 400 body (empty when the body names no field)."""
        return {}
