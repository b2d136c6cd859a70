"""Limits on the size of one request, so that no single call can hold a worker for long.

Each list of a payload has its own cap (the dialect modules' ``LIMITS`` tables, mirrored in
docs/dialects/*.md); on top of them a payload holds at most :data:`MAX_PAYLOAD_VALUES` JSON values
in all (every object, array, string, number... counted once, nested ones included), which bounds
the work of validating it whatever its shape. A list query parameter names at most
:data:`MAX_FILTER_VALUES` values. Exceeding a limit is a ValidationError naming the field.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from .errors import ErrorMessage, ValidationError

__all__ = [
    "MAX_FILTER_VALUES",
    "MAX_PAYLOAD_VALUES",
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


#: DRF's message for a list longer than its ``max_length``.
TOO_MANY_ITEMS = "Ensure this field has no more than {max_length} elements."


def too_many(limit: int) -> ErrorMessage:
    """DRF's message for a list longer than ``limit``."""
    return ErrorMessage(TOO_MANY_ITEMS.format(max_length=limit), "max_length")


def count_values(value: Any, limit: int) -> int:
    """How many JSON values ``value`` holds, itself included; counting stops once past ``limit``."""
    count = 0
    stack = [value]
    while stack:
        item = stack.pop()
        count += 1
        if count > limit:
            return count
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
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
