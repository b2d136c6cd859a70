"""The storage interface the core depends on; backends implement it.

A backend hands out units of work. Everything done through one unit of work is one transaction:
it is committed when the ``with`` block ends normally and rolled back when it raises, so a failed
operation leaves nothing behind.

::

    with backend.unit_of_work() as uow:
        accounts = uow.repository(table)
        accounts.insert(scope, record)       # raises Conflict on a unique key

Records are plain dicts holding every column of the table (see :mod:`metricscore.table`).
A repository returns records the caller owns: mutating one never changes what is stored. A record
passed to ``insert`` or ``update`` is handed over: the caller does not touch it afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, runtime_checkable

from .errors import MetricscoreError, StorageError
from .query import Filter, Query
from .table import TableSpec

__all__ = [
    "Backend",
    "CountingRepository",
    "FreshRecord",
    "Record",
    "Repository",
    "Scope",
    "UnitOfWork",
    "guarded_unit_of_work",
]

Record = dict[str, Any]
Scope = Mapping[str, Any]


class FreshRecord(dict[str, Any]):
    """A record built from storage just now and held by nobody else (a SQL row turned into a
    dict): rendering it may hand its JSON values (dicts, lists) out as they are, without the copy
    that protects a record a backend keeps (one handed to ``insert`` or ``update``)."""

    __slots__ = ()


@runtime_checkable
class Repository(Protocol):
    """One table's records, seen through one unit of work."""

    def get(self, scope: Scope, id: str) -> Record | None:
        """The record with this id in this scope, or ``None``."""
        ...

    def insert(self, scope: Scope, record: Record) -> None:
        """Add a new record. Raises :class:`~metricscore.errors.Conflict` naming the unique key's
        columns (``fields``) when the id or a unique key is already taken in the scope."""
        ...

    def update(self, scope: Scope, record: Record) -> None:
        """Replace the stored record that has ``record["id"]``; same Conflict rule as insert."""
        ...

    def delete(self, scope: Scope, id: str) -> bool:
        """Remove the record for good; ``False`` if there was none."""
        ...

    def find(self, scope: Scope, query: Query) -> list[Record]:
        """The records matching ``query.filters``, in ``query.order``, after ``query.after``,
        skipping ``query.offset`` and returning at most ``query.limit``."""
        ...

    def count(self, scope: Scope, filters: tuple[Filter, ...]) -> int:
        """How many records match ``filters``."""
        ...


@runtime_checkable
class CountingRepository(Repository, Protocol):
    """An optional capability: a repository that answers a page and its total in one round trip.

    Pagination uses it when a backend offers it (the SQL backend does); the conformance suite
    checks it answers exactly as ``find`` and ``count`` do, and reports it skipped otherwise.
    """

    def find_with_count(self, scope: Scope, query: Query) -> tuple[list[Record], int]:
        """``(find(scope, query), count(scope, query.filters))``."""
        ...


class UnitOfWork(Protocol):
    def repository(self, table: TableSpec) -> Repository: ...


@runtime_checkable
class Backend(Protocol):
    """A storage engine. Built by :func:`metricscore.open_store` through the backend registry."""

    def unit_of_work(self, *, write: bool = True) -> AbstractContextManager[UnitOfWork]:
        """A transaction. ``write=False`` promises only reads, which lets a backend skip locks."""
        ...

    def close(self) -> None: ...


@contextmanager
def guarded_unit_of_work(backend: Backend, *, write: bool = True) -> Iterator[UnitOfWork]:
    """``backend.unit_of_work(write=write)`` raising only metricscore errors: anything else (a
    driver's encoding error, say) becomes a :class:`~metricscore.errors.StorageError`, chained."""
    try:
        with backend.unit_of_work(write=write) as uow:
            yield uow
    except MetricscoreError:
        raise
    except Exception as error:
        raise StorageError(f"{type(error).__name__}: {error}") from error
