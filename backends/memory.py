"""The in-memory backend (``memory://``): the reference semantics for every other backend.

State belongs to the backend instance (two stores never share data); the records of each scope
live in a :class:`~metricscore.backends.reference.Partition`, which also defines what every filter
and order means. One re-entrant lock serialises units of work, so concurrent threads see each
other's operations as a sequence. A unit of work keeps an undo log and replays it backwards
when the block raises.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from metricscore.errors import ConfigurationError, Conflict
from metricscore.query import Filter, Query
from metricscore.repository import Record, Scope
from metricscore.table import Table

from .reference import Partition, matches, sort_records

__all__ = ["MemoryBackend", "matches", "sort_records"]


class _MemoryTable:
    def __init__(self, table: Table) -> None:
        self.table = table
        self.partitions: dict[tuple[Any, ...], Partition] = {}

    def partition(self, scope: Scope, create: bool) -> Partition | None:
        key = tuple(scope[c] for c in self.table.scope)
        part = self.partitions.get(key)
        if part is None and create:
            part = self.partitions[key] = Partition(self.table)
        return part


class MemoryBackend:
    """Keeps every record in dicts owned by this instance."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tables: dict[str, _MemoryTable] = {}

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MemoryBackend:
        if url.rstrip("/") not in ("memory:", "memory:/"):
            raise ConfigurationError(f"The memory backend takes the URL 'memory://', not {url!r}.")
        if options:
            raise ConfigurationError(f"The memory backend takes no options: {sorted(options)}.")
        return cls()

    def _table(self, table: Table) -> _MemoryTable:
        found = self._tables.get(table.name)
        if found is None:
            found = self._tables[table.name] = _MemoryTable(table)
        return found

    def unit_of_work(self, *, write: bool = True) -> _MemoryUnitOfWork:
        return _MemoryUnitOfWork(self)

    def close(self) -> None:
        with self._lock:
            self._tables.clear()


class _MemoryUnitOfWork:
    """Holds the backend's lock from ``__enter__`` to ``__exit__``; undoes everything on an error.

    A plain class rather than a generator-based context manager: it is entered on every call.
    """

    def __init__(self, backend: MemoryBackend) -> None:
        self._backend = backend
        self._undo: list[Callable[[], None]] = []

    def __enter__(self) -> _MemoryUnitOfWork:
        self._backend._lock.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        try:
            if kind is not None:
                self.rollback()
        finally:
            self._undo.clear()
            self._backend._lock.release()

    def repository(self, table: Table) -> MemoryRepository:
        return MemoryRepository(self._backend._table(table), self._undo)

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()


class MemoryRepository:
    def __init__(self, store: _MemoryTable, undo: list[Callable[[], None]]) -> None:
        self._store = store
        self._undo = undo

    def get(self, scope: Scope, id: str) -> Record | None:
        part = self._store.partition(scope, create=False)
        return None if part is None else part.get(id)

    def find(self, scope: Scope, query: Query) -> list[Record]:
        part = self._store.partition(scope, create=False)
        return [] if part is None else part.find(query)

    def count(self, scope: Scope, filters: tuple[Filter, ...]) -> int:
        part = self._store.partition(scope, create=False)
        return 0 if part is None else part.count(filters)

    def insert(self, scope: Scope, record: Record) -> None:
        part = self._store.partition(scope, create=True)
        assert part is not None
        record_id = part.check_insert(record)
        part.put(record)

        def undo() -> None:
            part.remove(record_id)

        self._undo.append(undo)

    def update(self, scope: Scope, record: Record) -> None:
        part = self._store.partition(scope, create=False)
        if part is None:
            raise Conflict("The record no longer exists.", fields=(self._store.table.id_column,))
        record_id = part.check_update(record)
        old = part.remove(record_id)
        part.put(record)

        def undo() -> None:
            part.remove(record_id)
            part.put(old)

        self._undo.append(undo)

    def delete(self, scope: Scope, id: str) -> bool:
        part = self._store.partition(scope, create=False)
        if part is None or type(id) is not str or id not in part.records:
            return False
        old = part.remove(id)
        self._undo.append(lambda: part.put(old))
        return True
