"""The in-memory backend (``memory://``): the reference semantics for every other backend.

State belongs to the backend instance (two stores never share data). ``insert`` and ``update``
keep the record they are given (the repository protocol hands it over); reads return copies. One re-entrant lock
serialises units of work, so concurrent threads see each other's operations as a sequence.
A unit of work keeps an undo log and replays it backwards when the block raises.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from metricscore.errors import ConfigurationError, Conflict
from metricscore.query import Contains, Eq, Filter, HasAny, In, OrderBy, Query, fold_case
from metricscore.repository import Record, Scope
from metricscore.table import Table

from ._common import copy_record, window

__all__ = ["MemoryBackend", "matches", "sort_records"]


class _Partition:
    """The records of one table in one scope, with their unique-key indexes."""

    __slots__ = ("records", "sorted_cache", "unique", "version")

    def __init__(self, table: Table) -> None:
        self.records: dict[str, Record] = {}
        self.unique: dict[str, dict[tuple[Any, ...], str]] = {key.name: {} for key in table.unique_keys}
        self.version = 0
        self.sorted_cache: dict[tuple[OrderBy, ...], tuple[int, list[Record]]] = {}


class _MemoryTable:
    def __init__(self, table: Table) -> None:
        self.table = table
        self.partitions: dict[tuple[Any, ...], _Partition] = {}

    def partition(self, scope: Scope, create: bool) -> _Partition | None:
        key = tuple(scope[c] for c in self.table.scope)
        part = self.partitions.get(key)
        if part is None and create:
            part = self.partitions[key] = _Partition(self.table)
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
        self._table = store.table
        self._undo = undo

    # -- reads ---------------------------------------------------------------------------------

    def get(self, scope: Scope, id: str) -> Record | None:
        part = self._store.partition(scope, create=False)
        if part is None or type(id) is not str:
            return None
        record = part.records.get(id)
        return None if record is None else copy_record(record)

    def find(self, scope: Scope, query: Query) -> list[Record]:
        part = self._store.partition(scope, create=False)
        if part is None:
            return []
        rows = self._sorted(part, query.order)
        if query.filters:
            rows = [r for r in rows if matches(query.filters, r)]
        return window(rows, query)

    def count(self, scope: Scope, filters: tuple[Filter, ...]) -> int:
        part = self._store.partition(scope, create=False)
        if part is None:
            return 0
        if not filters:
            return len(part.records)
        return sum(1 for r in part.records.values() if matches(filters, r))

    def _sorted(self, part: _Partition, order: tuple[OrderBy, ...]) -> list[Record]:
        # Sorting 100k records costs ~75 ms; reuse the order until the partition changes.
        cached = part.sorted_cache.get(order)
        if cached is not None and cached[0] == part.version:
            return cached[1]
        rows = sort_records(list(part.records.values()), order)
        part.sorted_cache[order] = (part.version, rows)
        return rows

    # -- writes --------------------------------------------------------------------------------

    def insert(self, scope: Scope, record: Record) -> None:
        part = self._store.partition(scope, create=True)
        assert part is not None
        record_id = record[self._table.id_column]
        if record_id in part.records:
            raise Conflict("A record with this id already exists.", fields=(self._table.id_column,))
        self._check_unique(part, record, record_id)
        self._put(part, record)
        self._undo.append(lambda: self._remove(part, record_id))

    def update(self, scope: Scope, record: Record) -> None:
        part = self._store.partition(scope, create=False)
        record_id = record[self._table.id_column]
        old = None if part is None else part.records.get(record_id)
        if part is None or old is None:
            raise Conflict("The record no longer exists.", fields=(self._table.id_column,))
        self._check_unique(part, record, record_id)
        self._remove(part, record_id)
        self._put(part, record)

        def undo() -> None:
            self._remove(part, record_id)
            self._put(part, old)

        self._undo.append(undo)

    def delete(self, scope: Scope, id: str) -> bool:
        part = self._store.partition(scope, create=False)
        if part is None or type(id) is not str or id not in part.records:
            return False
        old = part.records[id]
        self._remove(part, id)
        self._undo.append(lambda: self._put(part, old))
        return True

    def _check_unique(self, part: _Partition, record: Record, record_id: str) -> None:
        for key in self._table.unique_keys:
            values = tuple(record.get(c) for c in key.columns)
            if None in values:
                continue
            holder = part.unique[key.name].get(values)
            if holder is not None and holder != record_id:
                raise Conflict(f"The unique key {key.name} is already taken.", fields=key.columns)

    def _put(self, part: _Partition, record: Record) -> None:
        record_id = record[self._table.id_column]
        part.records[record_id] = record
        for key in self._table.unique_keys:
            values = tuple(record.get(c) for c in key.columns)
            if None not in values:
                part.unique[key.name][values] = record_id
        part.version += 1

    def _remove(self, part: _Partition, record_id: str) -> None:
        record = part.records.pop(record_id)
        for key in self._table.unique_keys:
            values = tuple(record.get(c) for c in key.columns)
            if part.unique[key.name].get(values) == record_id:
                del part.unique[key.name][values]
        part.version += 1


def matches(filters: tuple[Filter, ...], record: Record) -> bool:
    """Whether ``record`` passes every filter: the reference meaning of each filter kind."""
    for f in filters:
        if isinstance(f, Eq):
            if record.get(f.column) != f.value:
                return False
        elif isinstance(f, In):
            if record.get(f.column) not in f.values:
                return False
        elif isinstance(f, HasAny):
            tags = record.get(f.column) or ()
            if not any(tag in tags for tag in f.values):
                return False
        elif isinstance(f, Contains):
            term = fold_case(f.term)
            if not any(isinstance(v := record.get(column), str) and term in fold_case(v) for column in f.columns):
                return False
        else:  # pragma: no cover - a new filter kind must be taught to every backend
            raise TypeError(f"unknown filter {f!r}")
    return True


def sort_records(records: list[Record], order: tuple[OrderBy, ...]) -> list[Record]:
    """Stable multi-key sort honouring each key's direction."""
    for o in reversed(order):
        records.sort(key=lambda r, c=o.column: r[c], reverse=o.descending)  # type: ignore[misc]
    return records
