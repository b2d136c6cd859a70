"""Statsig's error body: ``{"status", "message"}``, plus ``errors`` listing every problem of a 400."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from ...errors import (
    NON_FIELD_ERRORS,
    Conflict,
    MetricscoreError,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    ValidationError,
)

__all__ = ["BAD_REQUEST", "ERROR_SCHEMA", "NOT_FOUND", "StatsigErrorBody", "error_headers", "render_error"]


class StatsigErrorBody(TypedDict):
    """Statsig's error body; ``errors`` (dotted field path -> messages) on a 400 only."""

    status: int
    message: str
    errors: NotRequired[dict[str, list[str]]]


BAD_REQUEST = "Invalid request. Please check the request input and try again."
NOT_FOUND = "Not Found. The requested resource could not be found."
BAD_KEY = "This endpoint only accepts an active CONSOLE key, but an invalid key was sent. Key: "


def render_error(error: MetricscoreError) -> tuple[int, StatsigErrorBody]:
    """The HTTP status and body Statsig answers with for ``error``.

    A 400 carries ``errors``: ``{dotted field path: [messages]}`` for every problem.
    """
    if isinstance(error, ValidationError):
        errors: dict[str, list[str]] = {}
        for path, message in error.flat():
            key = ".".join(part for part in path if part != NON_FIELD_ERRORS) or NON_FIELD_ERRORS
            errors.setdefault(key, []).append(str(message))
        return 400, {"status": 400, "message": BAD_REQUEST, "errors": errors}
    if isinstance(error, NotFound):
        return 404, _body(404, NOT_FOUND)
    if isinstance(error, Unauthenticated):
        return 401, _body(401, error.message or BAD_KEY)
    if isinstance(error, PermissionDenied):
        return 403, _body(403, error.message or "Forbidden.")
    if isinstance(error, Conflict):
        return 409, _body(409, error.message or "Conflict.")
    if isinstance(error, RateLimited):
        return 429, _body(429, error.message or "Too many requests. Please try again later.")
    return 500, _body(500, "Internal server error.")


def error_headers(error: MetricscoreError) -> dict[str, str]:
    """Extra response headers: ``Retry-After`` (seconds) on a 429."""
    if isinstance(error, RateLimited):
        return {"Retry-After": str(max(1, int(error.retry_after)))}
    return {}


def _body(status: int, message: str) -> StatsigErrorBody:
    return {"status": status, "message": message}


#: The error body, as an OpenAPI 3.0 schema; ``errors`` (dotted field path -> messages) on a 400.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "status": {"type": "integer"},
        "message": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["status", "message"],
}
