"""Backend-neutral queries: plain data that every backend translates to its own terms.

The memory backend is the reference for what each filter means; the conformance suite pins the
other backends to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Union

from .jsonvalue import string_problem

__all__ = ["Contains", "Eq", "Filter", "HasAny", "In", "OrderBy", "Query", "fold_case", "storable_filters"]


def fold_case(text: str) -> str:
    """The one definition of "case-insensitive" every backend follows: ``str.lower``."""
    return text.lower()


@dataclass(frozen=True, slots=True)
class Eq:
    """``column == value``; ``value=None`` matches a missing or null value."""

    column: str
    value: Any


@dataclass(frozen=True, slots=True)
class In:
    """``column`` equals one of ``values`` (an empty tuple matches nothing)."""

    column: str
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class HasAny:
    """A tag-list column holds at least one of ``values`` (an empty tuple matches nothing)."""

    column: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Contains:
    """Case-insensitive substring: ``term`` occurs in any of ``columns``.

    ``%`` and ``_`` are literal characters; a null column never matches. ``term`` is non-empty.
    """

    columns: tuple[str, ...]
    term: str


Filter = Union[Eq, In, HasAny, Contains]


def _storable(value: Any) -> bool:
    return type(value) is not str or string_problem(value) is None


def storable_filters(filters: tuple[Filter, ...]) -> tuple[Filter, ...]:
    """``filters`` without the values no stored record can hold, meaning unchanged.

    Every stored string passed validation, so none holds a NUL or a lone surrogate. A filter
    value that does (from a query string, say) matches nothing, and is never sent to a backend:
    some would refuse it (PostgreSQL: NUL; every UTF-8 driver: surrogates) and SQLite would cut
    the term at a NUL and match everything. So an ``Eq`` or ``Contains`` on such a value becomes
    ``In(column, ())`` (matches nothing), and ``In`` / ``HasAny`` lose just those values.
    """
    if all(_storable_value_of(f) for f in filters):
        return filters
    out: list[Filter] = []
    for f in filters:
        if isinstance(f, Eq):
            out.append(f if _storable(f.value) else In(f.column, ()))
        elif isinstance(f, In):
            out.append(In(f.column, tuple(v for v in f.values if _storable(v))))
        elif isinstance(f, HasAny):
            out.append(HasAny(f.column, tuple(v for v in f.values if _storable(v))))
        else:
            out.append(f if _storable(f.term) else In(f.columns[0], ()))
    return tuple(out)


def _storable_value_of(f: Filter) -> bool:
    if isinstance(f, Eq):
        return _storable(f.value)
    if isinstance(f, Contains):
        return _storable(f.term)
    return all(_storable(v) for v in f.values)


@dataclass(frozen=True, slots=True)
class OrderBy:
    column: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """What to select within one scope.

    ``order`` always ends with the id column, so it is a total order and pages never overlap.
    ``after`` is a keyset position: the values of the ``order`` columns of the last row already
    seen; only rows strictly after it (in ``order``) are returned. ``offset`` and ``after`` are
    not combined by the core.
    """

    filters: tuple[Filter, ...] = ()
    order: tuple[OrderBy, ...] = ()
    offset: int = 0
    limit: int | None = None
    after: tuple[Any, ...] | None = None

    def reversed(self) -> Query:
        """The same selection in the opposite order (used to page backwards with a keyset)."""
        flipped = tuple(OrderBy(o.column, not o.descending) for o in self.order)
        return Query(self.filters, flipped, self.offset, self.limit, self.after)


def order_key(order: Sequence[OrderBy], record: dict[str, Any]) -> tuple[Any, ...]:
    """The keyset position of ``record`` under ``order``."""
    return tuple(record[o.column] for o in order)
