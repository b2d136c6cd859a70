"""Limits on the size of one request, so that no single call can hold a worker for long.

Each list of a payload has its own cap (the dialect modules' ``LIMITS`` tables, mirrored in
docs/dialects/*.md); on top of them a payload holds at most :data:`MAX_PAYLOAD_VALUES` JSON values
in all (every object, array, string, number... counted once, nested ones included), which bounds
the work of validating it whatever its shape. A list query parameter names at most
:data:`MAX_FILTER_VALUES` values; an uploaded file has its byte, row and column caps
(:data:`MAX_UPLOAD_BYTES`...). Exceeding a limit is a ValidationError naming the field.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from .errors import ErrorMessage, ValidationError

__all__ = [
    "MAX_FILTER_VALUES",
    "MAX_PAYLOAD_VALUES",
    "MAX_UPLOAD_BYTES",
    "MAX_UPLOAD_COLUMNS",
    "MAX_UPLOAD_ROWS",
    "TOO_MANY_ITEMS",
    "check_filter_values",
    "check_payload_size",
    "count_values",
    "too_many",
]

#: The most JSON values one payload may hold, nested ones included.
MAX_PAYLOAD_VALUES = 2_000
#: The most values one list query parameter (``tags``, ``eventType``...) may name.
MAX_FILTER_VALUES = 100
#: An uploaded file of records (Sequence's usage events CSV): at most this many bytes (a server's
#: request body cap may be lower), rows (records, the header row excluded) and columns.
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_UPLOAD_ROWS = 10_000
MAX_UPLOAD_COLUMNS = 100


#: DRF's message for a list longer than its ``max_length``.
TOO_MANY_ITEMS = "Ensure this field has no more than {max_length} elements."


def too_many(limit: int) -> ErrorMessage:
    """DRF's message for a list longer than ``limit``."""
    return ErrorMessage(TOO_MANY_ITEMS.format(max_length=limit), "max_length")


def count_values(value: Any, limit: int) -> int:
    """How many JSON values ``value`` holds, itself included; counting stops once past ``limit``."""
    kind = type(value)
    if kind is not dict and kind is not list and kind is not tuple:
        return 1
    count = 1
    stack = [value]
    while stack:  # each container adds its children at once; only containers are visited
        item = stack.pop()
        children = item.values() if type(item) is dict else item
        count += len(children)
        if count > limit:
            return count
        for child in children:
            kind = type(child)
            if kind is dict or kind is list or kind is tuple:
                stack.append(child)
    return count


def check_payload_size(data: dict[Any, Any], known: Container[Any], limit: int = MAX_PAYLOAD_VALUES) -> None:
    """A ValidationError on the field where ``data`` goes past ``limit`` values in all.

    Only the ``known`` fields count: unknown ones are ignored unread, whatever their size.
    """
    total = 1
    for key, value in data.items():
        if key not in known:
            continue
        total += count_values(value, limit)
        if total > limit:
            message = f"Ensure this request holds no more than {limit} values in all (nested ones included)."
            raise ValidationError({str(key)[:200]: [ErrorMessage(message, "max_length")]})


def check_filter_values(param: str, values: tuple[Any, ...] | list[Any], limit: int = MAX_FILTER_VALUES) -> None:
    """A ValidationError on ``param`` when a list filter names more than ``limit`` values."""
    if len(values) > limit:
        raise ValidationError({param: [too_many(limit)]})
