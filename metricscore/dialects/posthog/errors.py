"""PostHog's error body: ``{type, code, detail, attr}``, showing only the first error."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

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

__all__ = ["ERROR_SCHEMA", "PostHogErrorBody", "render_error"]

ErrorType = Literal["validation_error", "invalid_request", "authentication_error", "throttled_error", "server_error"]


class PostHogErrorBody(TypedDict):
    """PostHog's error body (drf-exceptions-hog): only the first error, ``attr`` the field or None."""

    type: ErrorType
    code: str
    detail: str
    attr: str | None


_TYPES: dict[int, ErrorType] = {
    400: "validation_error",
    401: "authentication_error",
    403: "authentication_error",
    404: "invalid_request",
    429: "throttled_error",
}


def render_error(error: MetricscoreError) -> tuple[int, PostHogErrorBody]:
    """The HTTP status and body PostHog answers with for ``error``."""
    status = error.status
    if isinstance(error, ValidationError):
        flat = error.flat()
        if not flat:
            return 400, _body(400, "invalid_input", "Invalid input.", None)
        path, message = flat[0]
        code, detail = message.code, str(message)
        inner = [part for part in path[1:] if part != NON_FIELD_ERRORS]
        if path in ((), (NON_FIELD_ERRORS,)):
            attr = None
        elif inner and not inner[0].isdigit():
            # A JSON object field (an account's properties) is one value to PostHog's serializer,
            # checked as a whole: the field is the attr, the path inside it leads the detail.
            attr, code, detail = path[0], "invalid_input", f"{'.'.join(inner)}: {message}"
        else:
            attr = "__".join(path)
        # drf-exceptions-hog: DRF's ParseError (a body that is not JSON) is an invalid_request.
        kind: ErrorType = "invalid_request" if code == "parse_error" else "validation_error"
        return 400, {"type": kind, "code": code, "detail": detail, "attr": attr}
    if isinstance(error, NotFound):
        return 404, _body(404, "not_found", "Not found.", None)
    if isinstance(error, Unauthenticated):
        # error.code: not_authenticated (no key) or authentication_failed (a key that is not valid).
        return 401, _body(401, error.code, error.message or "Authentication credentials were not provided.", None)
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


def _body(status: int, code: str, detail: str, attr: str | None) -> PostHogErrorBody:
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
