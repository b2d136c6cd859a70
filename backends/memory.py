"""The in-memory backend (``memory://``): the reference semantics for every other backend.

State belongs to the backend instance (two stores never share data); the records of each scope
live in a :class:`~metricscore.backends.reference.Partition`, which also defines what every filter
and order means. One re-entrant lock serialises units of work, so concurrent threads see each
other's operations as a sequence. A unit of work keeps an undo log and replays it backwards
when the block raises.
"""

from __future__ import annotations

import threading
from typing import Any

from metricscore.errors import ConfigurationError
from metricscore.table import TableSpec

from .reference import Partition, PartitionRepository, ScopedPartitions, Undo

__all__ = ["MemoryBackend", "MemoryRepository", "MemoryUnitOfWork"]


class MemoryBackend:
    """Keeps every record in dicts owned by this instance."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._partitions_by_table: dict[str, ScopedPartitions[Partition]] = {}

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MemoryBackend:
        if url.rstrip("/") not in ("memory:", "memory:/"):
            raise ConfigurationError(f"The memory backend takes the URL 'memory://', not {url!r}.")
        if options:
            raise ConfigurationError(f"The memory backend takes no options: {sorted(options)}.")
        return cls()

    def partitions(self, table: TableSpec) -> ScopedPartitions[Partition]:
        """The partitions of ``table`` (created empty on first use)."""
        found = self._partitions_by_table.get(table.name)
        if found is None:
            found = self._partitions_by_table[table.name] = ScopedPartitions(table, Partition)
        return found

    def unit_of_work(self, *, write: bool = True) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)

    def close(self) -> None:
        with self._lock:
            self._partitions_by_table.clear()


class MemoryUnitOfWork:
    """Holds the backend's lock from ``__enter__`` to ``__exit__``; undoes everything on an error.

    A plain class rather than a generator-based context manager: it is entered on every call.
    """

    def __init__(self, backend: MemoryBackend) -> None:
        self._backend = backend
        self._undo: list[Undo] = []

    def __enter__(self) -> MemoryUnitOfWork:
        self._backend._lock.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        try:
            if kind is not None:
                self.rollback()
        finally:
            self._undo.clear()
            self._backend._lock.release()

    def repository(self, table: TableSpec) -> MemoryRepository:
        return MemoryRepository(self._backend.partitions(table), self._undo)

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()


class MemoryRepository(PartitionRepository[Partition]):
    """One table through one unit of work: the records themselves, as the protocol hands them over."""

    def __init__(self, partitions: ScopedPartitions[Partition], undo: list[Undo]) -> None:
        super().__init__(partitions.table, undo)
        self._scoped_partitions = partitions

    def _partitions(self) -> ScopedPartitions[Partition]:
        return self._scoped_partitions
