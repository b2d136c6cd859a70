"""The exceptions metricscore raises; public calls raise nothing else.

::

    MetricscoreError          .code (stable string), .status (HTTP status a server should use)
    ├── ValidationError       .errors {field: [messages] | nested}, .messages(*path); nothing was written
    ├── NotFound
    ├── Conflict              a unique key was violated, or an operation is refused by state
    ├── Unauthenticated
    ├── PermissionDenied
    ├── RateLimited           .retry_after (seconds)
    ├── ConfigurationError    unknown URL scheme, missing optional dependency (names the pip extra)
    └── StorageError          driver or I/O failure; the original is chained
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

__all__ = [
    "NON_FIELD_ERRORS",
    "ConfigurationError",
    "Conflict",
    "ErrorMessage",
    "ErrorTree",
    "MetricscoreError",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "StorageError",
    "Unauthenticated",
    "ValidationError",
]

#: The key under which errors that belong to no single field are reported.
NON_FIELD_ERRORS = "_schema"


class ErrorMessage(str):
    """An error message that also carries a stable machine-readable code.

    It is a ``str``, so ``errors["name"] == ["This field is required."]`` holds; the dialect
    renderers read ``.code`` (PostHog shows it as the error's ``code``).
    """

    __slots__ = ("code",)
    code: str

    def __new__(cls, text: str, code: str = "invalid_input") -> ErrorMessage:
        message = super().__new__(cls, text)
        message.code = code
        return message

    def __reduce__(self) -> tuple[Any, ...]:
        return (ErrorMessage, (str(self), self.code))


class MetricscoreError(Exception):
    """Base class of every error metricscore raises."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 500

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


#: :attr:`ValidationError.errors`: each bad field's messages, a nested field's own tree (list items
#: keyed by their index as a string): ``{"name": [...], "metricEvents": {"0": {"name": [...]}}}``.
#: A type checker asks which of the two a value is before it is used; :meth:`ValidationError.messages`
#: reads one field's messages directly.
ErrorTree = dict[str, "list[ErrorMessage] | ErrorTree"]


class ValidationError(MetricscoreError):
    """A payload or a query is invalid. Nothing was written.

    ``errors`` maps each bad field to a list of messages; a nested field maps to a nested dict
    (list items are keyed by their index as a string). Every bad field is reported at once.
    """

    code = "invalid_input"
    status = 400

    def __init__(self, errors: Mapping[str, Any] | str) -> None:
        if isinstance(errors, str):
            errors = {NON_FIELD_ERRORS: [ErrorMessage(errors)]}
        self.errors: ErrorTree = normalize_errors(errors)
        super().__init__(_summarize(self.errors))

    def messages(self, *path: str) -> list[ErrorMessage]:
        """The messages of the field at ``path``: ``messages("name")``, ``messages("metricEvents",
        "0", "name")``; a path to a nested field gives every message below it, an unreported one
        ``[]``. ``messages()`` is every message. Typed, unlike indexing :attr:`errors`, whose values
        are either messages or a nested tree."""
        node: list[ErrorMessage] | ErrorTree = self.errors
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return []
            node = node[key]
        return list(node) if isinstance(node, list) else [message for _, message in _flat_items(node)]

    def flat(self) -> list[tuple[tuple[str, ...], ErrorMessage]]:
        """Every (path, message) pair, in the order the fields were reported."""
        return _flat_items(self.errors)

    @property
    def fields(self) -> set[str]:
        """The names of the top-level fields that have errors."""
        return set(self.errors)


def normalize_errors(errors: Any) -> Any:
    """Turn marshmallow-style messages into ``{str: [ErrorMessage] | nested}``."""
    if isinstance(errors, Mapping):
        return {str(key): normalize_errors(value) for key, value in errors.items()}
    if isinstance(errors, (str, bytes)):
        return [_as_message(errors)]
    if isinstance(errors, Sequence):
        return [_as_message(item) for item in errors]
    return [_as_message(errors)]


def _as_message(value: Any) -> ErrorMessage:
    if isinstance(value, ErrorMessage):
        return value
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return ErrorMessage(str(value))


def _flatten(tree: Any, path: tuple[str, ...], out: list[tuple[tuple[str, ...], ErrorMessage]]) -> None:
    if isinstance(tree, dict):
        for key, value in tree.items():
            _flatten(value, (*path, key), out)
    else:
        for message in tree:
            out.append((path, message))


def _summarize(errors: ErrorTree) -> str:
    return "; ".join(f"{'.'.join(path) or NON_FIELD_ERRORS}: {message}" for path, message in _flat_items(errors))


def _flat_items(errors: ErrorTree) -> list[tuple[tuple[str, ...], ErrorMessage]]:
    out: list[tuple[tuple[str, ...], ErrorMessage]] = []
    _flatten(errors, (), out)
    return out


class NotFound(MetricscoreError):
    """No record with that id exists in the scope (records of other scopes are never visible)."""

    code = "not_found"
    status = 404

    def __init__(self, message: str = "Not found.", *, resource: str = "", id: Any = None) -> None:
        super().__init__(message)
        self.resource = resource
        self.id = id


class Conflict(MetricscoreError):
    """A unique key is taken, or the record's state refuses the operation.

    ``fields`` names the columns of the violated unique key, when there is one.
    """

    code = "conflict"
    status = 409

    def __init__(self, message: str = "Conflict.", *, fields: Sequence[str] = (), resource: str = "") -> None:
        super().__init__(message)
        self.fields = tuple(fields)
        self.resource = resource


class Unauthenticated(MetricscoreError):
    """No valid credentials were presented."""

    code = "not_authenticated"
    status = 401


class PermissionDenied(MetricscoreError):
    """Valid credentials that may not do this."""

    code = "permission_denied"
    status = 403


class RateLimited(MetricscoreError):
    """Too many requests; retry after ``retry_after`` seconds."""

    code = "throttled"
    status = 429

    def __init__(self, message: str = "Request was throttled.", *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigurationError(MetricscoreError):
    """The store cannot be opened as asked: unknown URL scheme, missing optional dependency."""

    code = "configuration_error"
    status = 500


class StorageError(MetricscoreError):
    """The storage failed (driver, I/O, corrupt file). The original exception is chained."""

    code = "storage_error"
    status = 503
