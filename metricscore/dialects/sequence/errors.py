"""Sequence's error body: ``{"errors": [{"key": "<field path or empty>", "error": "<message>"}]}``."""

from __future__ import annotations

from typing import Any, TypedDict

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

__all__ = ["ERROR_SCHEMA", "SequenceError", "SequenceErrorBody", "render_error"]


class SequenceError(TypedDict):
    """One problem: ``key`` is a dotted field path, or empty."""

    key: str
    error: str


class SequenceErrorBody(TypedDict):
    """Sequence's error body: every problem."""

    errors: list[SequenceError]


def render_error(error: MetricscoreError) -> tuple[int, SequenceErrorBody]:
    """The HTTP status and body Sequence answers with for ``error``: every problem, dotted keys."""
    if isinstance(error, ValidationError):
        items: list[SequenceError] = [
            {"key": ".".join(part for part in path if part != NON_FIELD_ERRORS), "error": str(message)}
            for path, message in error.flat()
        ]
        return 400, {"errors": items or [{"key": "", "error": "Invalid request."}]}
    if isinstance(error, NotFound):
        return 404, _body("Not found.")
    if isinstance(error, Unauthenticated):
        return 401, _body(error.message or "Invalid credentials.")
    if isinstance(error, PermissionDenied):
        return 403, _body(error.message or "Forbidden.")
    if isinstance(error, Conflict):
        return 409, _body(error.message or "Conflict.", ",".join(error.fields))
    if isinstance(error, RateLimited):
        return 429, _body(error.message or "Too many requests.")
    return 500, _body("Internal server error.")


def _body(message: str, key: str = "") -> SequenceErrorBody:
    return {"errors": [{"key": key, "error": message}]}


#: The error body, as an OpenAPI 3.0 schema: ``key`` is a dotted field path, or empty.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"key": {"type": "string"}, "error": {"type": "string"}},
                "required": ["key", "error"],
            },
        }
    },
    "required": ["errors"],
}
