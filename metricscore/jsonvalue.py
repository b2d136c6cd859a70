"""Helpers for free-form JSON values: checking them and copying them cheaply."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["MAX_JSON_DEPTH", "absent", "copy_json", "json_problem", "string_problem"]

#: Free-form objects nested deeper than this are refused: they serve no metric definition and
#: would make every JSON encoder on the way recurse without bound.
MAX_JSON_DEPTH = 64


def absent(value: object) -> bool:
    """Whether a parameter is not given: ``None``, or the empty text of a query string (``?limit=``).

    Compares no caller's object with ``==``: a NumPy array answers ``array == ""`` with an array
    whose truth value raises, and any object's ``__eq__`` may raise; such a value is not absent,
    so the caller's type check refuses it with a ValidationError naming the parameter.
    """
    return value is None or (isinstance(value, str) and str.__len__(value) == 0)


def string_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored by every backend, or ``None``.

    PostgreSQL refuses NUL characters and no UTF-8 encoder takes a lone surrogate (which
    ``json.loads`` happily produces from ``"\\ud800"``), so both are refused up front.
    """
    if "\x00" in text:
        return "Null characters are not allowed."
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "Not a valid string: it contains a lone surrogate."
    return None


def json_problem(value: Any, max_depth: int | None = MAX_JSON_DEPTH, *, types_only: bool = False) -> str | None:
    """Why ``value`` is not a storable JSON value, or ``None`` when it is.

    ``types_only``: check only that every value is of a JSON type (``dict`` with ``str`` keys,
    ``list``, ``str``, ``int``, ``float``, ``bool``, ``None``, exactly: never a caller's subclass,
    whose ``__eq__`` or ``__str__`` may do anything), not what the texts and numbers hold; with
    ``max_depth=None``, at any depth. Iterative, so a 100,000-deep input is refused without
    touching the recursion limit.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if item is None or kind is bool or kind is int:
            continue
        if kind is str:
            problem = None if types_only else string_problem(item)
            if problem:
                return problem
            continue
        if kind is float:
            if not types_only and not math.isfinite(item):
                return "Not a valid JSON value: NaN and infinity are not allowed."
            continue
        if kind is dict or kind is list:
            if max_depth is not None and depth > max_depth:
                return f"Nested too deeply: at most {max_depth} levels are allowed."
            if kind is dict:
                for key, child in item.items():
                    if type(key) is not str:
                        return "Not a valid JSON value: object keys must be strings."
                    problem = None if types_only else string_problem(key)
                    if problem:
                        return problem
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
            continue
        return f"Not a valid JSON value: {kind.__name__} is not JSON."
    return None


def copy_json(value: Any) -> Any:
    """A deep copy of a (validated) JSON value; several times faster than ``copy.deepcopy``."""
    kind = type(value)
    # scalars are taken as they are without a call each (most leaves are scalars)
    if kind is dict:
        return {k: copy_json(v) if type(v) in _CONTAINERS else v for k, v in value.items()}
    if kind is list:
        return [copy_json(v) if type(v) in _CONTAINERS else v for v in value]
    return value


#: the types :func:`copy_json` copies
_CONTAINERS = frozenset((dict, list))
