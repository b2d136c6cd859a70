"""PostHog's error body: ``{type, code, detail, attr}``, showing only the first error."""

from __future__ import annotations

from typing import Any

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

__all__ = ["ERROR_SCHEMA", "render_error"]

_TYPES = {
    400: "validation_error",
    401: "authentication_error",
    403: "authentication_error",
    404: "invalid_request",
    429: "throttled_error",
}


def render_error(error: MetricscoreError) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body PostHog answers with for ``error``."""
    status = error.status
    if isinstance(error, ValidationError):
        flat = error.flat()
        if flat:
            path, message = flat[0]
            attr = None if path in ((), (NON_FIELD_ERRORS,)) else "__".join(path)
            return 400, _body(400, message.code, str(message), attr)
        return 400, _body(400, "invalid_input", "Invalid input.", None)
    if isinstance(error, NotFound):
        return 404, _body(404, "not_found", "Not found.", None)
    if isinstance(error, Unauthenticated):
        return 401, _body(
            401, "not_authenticated", error.message or "Authentication credentials were not provided.", None
        )
    if isinstance(error, PermissionDenied):
        return 403, _body(
            403, "permission_denied", error.message or "You do not have permission to perform this action.", None
        )
    if isinstance(error, RateLimited):
        detail = f"Request was throttled. Expected available in {error.retry_after} seconds."
        return 429, _body(429, "throttled", detail, None)
    if isinstance(error, Conflict):
        return 409, _body(409, "conflict", error.message, None)
    return status if status >= 500 else 500, _body(500, "error", "A server error occurred.", None)


def _body(status: int, code: str, detail: str, attr: str | None) -> dict[str, Any]:
    return {"type": _TYPES.get(status, "server_error"), "code": code, "detail": detail, "attr": attr}


#: The error body, as an OpenAPI 3.0 schema (every status but 204 shares it).
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": sorted({*_TYPES.values(), "server_error"})},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "attr": {"type": "string", "nullable": True},
    },
    "required": ["type", "code", "detail", "attr"],
}
