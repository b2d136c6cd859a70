"""Backend-neutral queries: plain data that every backend translates to its own terms.

The memory backend is the reference for what each filter means; the conformance suite pins the
other backends to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from .jsonvalue import string_problem

if TYPE_CHECKING:
    from .table import TableSpec

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


def _storable(value: Any, bound: int | None = None) -> bool:
    """Whether a stored string may be ``value``: no NUL or lone surrogate, at most ``bound`` long."""
    if type(value) is not str:
        return True
    return (bound is None or len(value) <= bound) and string_problem(value) is None


def _bound(table: TableSpec | None, *columns: str) -> int | None:
    """The longest string any of ``columns`` holds; ``None``: unbounded (or unknown)."""
    if table is None:
        return None
    bounds = []
    for name in columns:
        try:
            bound = table.column(name).text_bound
        except KeyError:
            return None
        if bound is None:
            return None
        bounds.append(bound)
    return max(bounds, default=None)


def storable_filters(filters: tuple[Filter, ...], table: TableSpec | None = None) -> tuple[Filter, ...]:
    """``filters`` without the values no stored record can hold, meaning unchanged.

    Every stored string passed validation, so none holds a NUL or a lone surrogate, nor is
    longer than its column (``table``'s :attr:`~metricscore.table.Column.text_bound`). A filter
    value that is (from a query string, say) matches nothing, and is never sent to a backend:
    some would refuse it (PostgreSQL: NUL; every UTF-8 driver: surrogates; MariaDB: a statement
    over its packet size) and SQLite would cut the term at a NUL and match everything. So an
    ``Eq`` or ``Contains`` on such a value becomes ``In(column, ())`` (matches nothing), and
    ``In`` / ``HasAny`` lose just those values. A ``Contains`` term is held to twice its longest
    column: case folding can double a character (``"İ".lower()`` is two).
    """
    if all(_storable_value_of(f, table) for f in filters):
        return filters
    out: list[Filter] = []
    for f in filters:
        if isinstance(f, Eq):
            out.append(f if _storable(f.value, _bound(table, f.column)) else In(f.column, ()))
        elif isinstance(f, In):
            bound = _bound(table, f.column)
            out.append(In(f.column, tuple(v for v in f.values if _storable(v, bound))))
        elif isinstance(f, HasAny):
            bound = _bound(table, f.column)
            out.append(HasAny(f.column, tuple(v for v in f.values if _storable(v, bound))))
        else:
            out.append(f if _storable(f.term, _term_bound(f, table)) else In(f.columns[0], ()))
    return tuple(out)


def _term_bound(f: Contains, table: TableSpec | None) -> int | None:
    """Twice the longest of ``f``'s columns: folded, a value may double (``"İ".lower()``)."""
    bound = _bound(table, *f.columns)
    return None if bound is None else 2 * bound


def _storable_value_of(f: Filter, table: TableSpec | None) -> bool:
    if isinstance(f, Eq):
        return type(f.value) is not str or _storable(f.value, _bound(table, f.column))
    if isinstance(f, Contains):
        return _storable(f.term, _term_bound(f, table))
    bound = _bound(table, f.column)
    return all(_storable(v, bound) for v in f.values)


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
