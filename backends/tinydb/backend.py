"""The TinyDB backend (``tinydb:///path/db.json``): one human-readable JSON file, never half-written.

The file is a TinyDB database: one TinyDB table per resource table, documents keyed by TinyDB's
integer document ids, so ``tinydb.TinyDB(path)`` can open it. It is written one document per line::

    {
      "posthog_accounts": {
        "1": {"project_id": 1, "id": "0190...", "name": "Acme", ...},
        "2": {...}
      }
    }

How it stays correct and fast (each point is tested in ``tests/backends/test_tinydb*.py``):

- **Atomic writes.** A commit writes the whole file to a temporary file in the same folder,
  fsyncs it, renames it over the database and fsyncs the folder (:class:`AtomicJSONStorage`).
  A crash at any moment leaves the old file or the new one, never a truncated one.
- **One write per unit of work.** Operations change an in-memory copy; the file is written once,
  when the outermost unit of work commits. A unit of work that raises is undone in memory and
  writes nothing.
- **Locked across processes.** A write unit of work holds an exclusive ``flock`` on the sidecar
  ``<file>.lock`` from start to commit, so two processes never lose each other's writes. A read
  unit of work takes a shared lock only while it checks for changes.
- **Reads from memory.** The parsed file, an id index and sorted orderings stay in memory while
  the file is unchanged. "Unchanged" is the file's inode, size and ``mtime_ns`` plus a counter
  every writer bumps in the lock file (two same-size writes in one clock tick can reuse an inode
  and an mtime; the counter still moves). Each document's JSON text is cached too, so a commit
  re-encodes only what changed.
- **Thread-safe.** One re-entrant lock per backend serialises units of work, as in the memory
  backend, whose semantics this backend follows exactly (filters via
  :func:`~metricscore.backends.reference.matches`, ordering via
  :func:`~metricscore.backends.reference.sort_records`).

TinyDB's own ``Table`` is not used on the hot path: each of its writes re-reads the whole
database and rebuilds the table's id map, and each read re-reads the storage, which for
``JSONStorage`` means parsing the whole file. The storage here is a real TinyDB
:class:`~tinydb.storages.Storage`, so plain TinyDB code can use it to get atomic, locked writes:
``TinyDB(path, storage=AtomicJSONStorage)``.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

from metricscore.errors import ConfigurationError, Conflict, StorageError
from metricscore.query import Filter, Query
from metricscore.repository import Record, Scope
from metricscore.table import Table

from ..reference import Partition, copy_record
from .fileformat import _Codec, _document_of_line, _render_document, render_database
from .storage import AtomicJSONStorage, Signature

__all__ = ["TinyDBBackend", "TinyDBRepository", "TinyDBUnitOfWork"]


# -- in-memory state ---------------------------------------------------------------------------------


class _Partition(Partition):
    """A scope's records (see :class:`Partition`) plus the TinyDB document key of each."""

    __slots__ = ("doc_keys",)

    def __init__(self, table: Table) -> None:
        super().__init__(table)
        self.doc_keys: dict[str, str] = {}


class _TableState:
    """One TinyDB table of the file.

    ``docs`` maps each document key to its rendered line (bytes), or to its parsed JSON object
    until a commit renders it. Once a :class:`Table` is bound, ``partitions`` hold its decoded
    records by scope.
    """

    def __init__(self, name: str, docs: dict[str, Any]) -> None:
        self.name = name
        self.docs: dict[str, bytes | dict[str, Any]] = docs
        self.next_key = max((int(k) for k in docs), default=0) + 1
        self.table: Table | None = None
        self.codec: _Codec | None = None
        self.partitions: dict[tuple[Any, ...], _Partition] = {}

    def lines(self) -> dict[str, bytes]:
        docs = self.docs
        for key, doc in docs.items():
            if not isinstance(doc, bytes):
                docs[key] = _render_document(key, doc)
        return docs  # type: ignore[return-value]  # every value is bytes now

    def bind(self, table: Table, path: str) -> None:
        """Decode every document into records of ``table``, indexed by scope, id and unique key."""
        codec = _Codec(table)
        partitions: dict[tuple[Any, ...], _Partition] = {}
        id_column = table.id_column
        for key, doc in self.docs.items():
            try:
                record = codec.decode(_document_of_line(doc) if isinstance(doc, bytes) else dict(doc))
                record_id = record[id_column]
                if type(record_id) is not str:
                    raise ValueError(f"its {id_column!r} is {record_id!r}, not a string")
                scope_key = tuple(record[c] for c in table.scope)
                part = partitions.get(scope_key)
                if part is None:
                    part = partitions[scope_key] = _Partition(table)
                if record_id in part.records:
                    raise ValueError(f"its id {record_id!r} is used twice in the same scope")
                part.check_unique(record, record_id)
                _put(part, record, key)
            except (ValueError, KeyError, TypeError, Conflict) as error:
                reason = f"missing column {error}" if isinstance(error, KeyError) else str(error)
                raise StorageError(
                    f"Cannot use the TinyDB file {path!r}: document {key} of table {self.name!r} "
                    f"is not a valid {self.name} record ({reason})"
                ) from error
        self.table, self.codec, self.partitions = table, codec, partitions

    def partition(self, scope: Scope, create: bool) -> _Partition | None:
        assert self.table is not None
        key = tuple(scope[c] for c in self.table.scope)
        part = self.partitions.get(key)
        if part is None and create:
            part = self.partitions[key] = _Partition(self.table)
        return part


def _put(part: _Partition, record: Record, doc_key: str) -> None:
    part.put(record)
    part.doc_keys[record[part.table.id_column]] = doc_key


def _remove(part: _Partition, record_id: str) -> tuple[Record, str]:
    return part.remove(record_id), part.doc_keys.pop(record_id)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Parsing a file allocates millions of acyclic objects, which makes the cyclic garbage
    collector run over and over for nothing (it more than doubles the parse time at 20,000
    records); pause it meanwhile."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# -- the backend -------------------------------------------------------------------------------------


class _Transaction:
    """The outermost unit of work of a thread and what it has done so far."""

    def __init__(self, exclusive: bool) -> None:
        self.exclusive = exclusive  # holds the exclusive file lock
        self.nested_changes = False  # a nested unit of work committed changes


class TinyDBBackend:
    """A metricscore backend storing every table in one TinyDB JSON file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._lock = threading.RLock()
        self._storage = AtomicJSONStorage(path)
        self.path = self._storage.path
        self._signature: Signature | None = None
        self._tables: dict[str, _TableState] = {}
        self._txn: _Transaction | None = None
        try:
            if self._storage.try_acquire_exclusive():
                try:
                    self._storage.remove_stale_temporary_files()
                    self._refresh()
                finally:
                    self._storage.release()
            else:
                with self._storage.lock(exclusive=False):
                    self._refresh()
        except BaseException:
            self._storage.close()
            raise

    @classmethod
    def from_url(cls, url: str, **options: Any) -> TinyDBBackend:
        """``tinydb:///absolute/path/db.json`` or ``tinydb://relative/path/db.json`` (relative to
        the working directory); ``%``-escapes are decoded. No options."""
        if options:
            raise ConfigurationError(f"The TinyDB backend takes no options: {sorted(options)}.")
        scheme, sep, rest = url.partition("://")
        if not sep or scheme.lower() != "tinydb":
            raise ConfigurationError(f"A TinyDB URL looks like 'tinydb:///path/to/db.json', not {url!r}.")
        path = unquote(rest.split("?", 1)[0].split("#", 1)[0])
        if not path or path.endswith("/"):
            raise ConfigurationError(f"The TinyDB URL {url!r} names no file, e.g. 'tinydb:///path/to/db.json'.")
        return cls(path)

    def __repr__(self) -> str:
        return f"<TinyDBBackend {self.path!r}>"

    # -- units of work ---------------------------------------------------------------------------

    @contextmanager
    def unit_of_work(self, *, write: bool = True) -> Iterator[TinyDBUnitOfWork]:
        with self._lock:
            txn = self._txn
            outermost = txn is None
            if txn is None:
                txn = self._txn = self._begin(write)
            try:
                if write and not txn.exclusive:
                    self._make_writable(txn)
                uow = TinyDBUnitOfWork(self)
                try:
                    yield uow
                except BaseException:
                    uow.rollback()
                    if outermost and txn.nested_changes:
                        self._commit()
                    raise
                if outermost:
                    if uow.changed or txn.nested_changes:
                        self._commit()
                elif uow.changed:
                    txn.nested_changes = True
            finally:
                if outermost:
                    self._txn = None
                    if txn.exclusive:
                        self._storage.release()

    def _begin(self, write: bool) -> _Transaction:
        if write:
            self._storage.acquire(exclusive=True)
            try:
                self._refresh()
            except BaseException:
                self._storage.release()
                raise
            return _Transaction(exclusive=True)
        with self._storage.lock(exclusive=False):
            self._refresh()
        return _Transaction(exclusive=False)

    def _make_writable(self, txn: _Transaction) -> None:
        """Take the exclusive lock for a transaction that has written nothing yet, and catch up
        with the file, so the write starts from its latest content."""
        self._storage.acquire(exclusive=True)
        txn.exclusive = True
        self._refresh()

    def _writable(self) -> None:
        txn = self._txn
        if txn is None:
            raise StorageError("A TinyDB repository was used outside its unit of work.")
        if not txn.exclusive:
            self._make_writable(txn)

    def _refresh(self) -> None:
        """Reload the file if another writer changed it since we last read or wrote it."""
        if self._signature is not None and self._storage.signature() == self._signature:
            return
        self._signature = None
        with _collector_paused():
            data, signature = self._storage.load()
            bound = [state.table for state in self._tables.values() if state.table is not None]
            tables = {name: _TableState(name, docs) for name, docs in data.items()}
            for table in bound:  # decode eagerly: a corrupt record surfaces now, not mid-operation
                tables.setdefault(table.name, _TableState(table.name, {})).bind(table, self.path)
        self._tables = tables
        self._signature = signature

    def _commit(self) -> None:
        try:
            content = render_database({name: state.lines() for name, state in self._tables.items()})
            self._signature = self._storage.replace(content)
        except BaseException:
            # Memory is now ahead of the file (or unknown): forget it and reload next time.
            self._signature = None
            self._tables = {}
            raise

    def _state(self, table: Table) -> _TableState:
        state = self._tables.get(table.name)
        if state is None:
            state = self._tables[table.name] = _TableState(table.name, {})
        if state.table is not table and state.table != table:
            state.bind(table, self.path)
        return state

    def close(self) -> None:
        with self._lock:
            self._tables = {}
            self._signature = None
            self._storage.close()


class TinyDBUnitOfWork:
    def __init__(self, backend: TinyDBBackend) -> None:
        self._backend = backend
        self._undo: list[Callable[[], None]] = []

    @property
    def changed(self) -> bool:
        return bool(self._undo)

    def repository(self, table: Table) -> TinyDBRepository:
        self._backend._state(table)  # bind now, so a corrupt table fails here
        return TinyDBRepository(self._backend, table, self._undo)

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()


class TinyDBRepository:
    """One table through one unit of work. Same semantics as the memory backend's repository."""

    def __init__(self, backend: TinyDBBackend, table: Table, undo: list[Callable[[], None]]) -> None:
        self._backend = backend
        self._table = table
        self._undo = undo

    def _partition(self, scope: Scope, create: bool) -> tuple[_TableState, _Partition | None]:
        # Looked up per call: taking the exclusive lock may reload the file and rebuild the state.
        state = self._backend._state(self._table)
        return state, state.partition(scope, create)

    # -- reads -----------------------------------------------------------------------------------

    def get(self, scope: Scope, id: str) -> Record | None:
        _, part = self._partition(scope, create=False)
        return None if part is None else part.get(id)

    def find(self, scope: Scope, query: Query) -> list[Record]:
        _, part = self._partition(scope, create=False)
        return [] if part is None else part.find(query)

    def count(self, scope: Scope, filters: tuple[Filter, ...]) -> int:
        _, part = self._partition(scope, create=False)
        return 0 if part is None else part.count(filters)

    # -- writes ----------------------------------------------------------------------------------

    def insert(self, scope: Scope, record: Record) -> None:
        self._backend._writable()
        state, part = self._partition(scope, create=True)
        assert part is not None
        record_id = part.check_insert(record)
        stored = copy_record(record)
        doc_key = str(state.next_key)
        line = self._render(state, doc_key, stored)
        state.next_key += 1
        state.docs[doc_key] = line
        _put(part, stored, doc_key)

        def undo() -> None:
            _remove(part, record_id)
            del state.docs[doc_key]

        self._undo.append(undo)

    def update(self, scope: Scope, record: Record) -> None:
        self._backend._writable()
        state, part = self._partition(scope, create=False)
        if part is None:
            raise Conflict("The record no longer exists.", fields=(self._table.id_column,))
        record_id = part.check_update(record)
        stored = copy_record(record)
        doc_key = part.doc_keys[record_id]
        line = self._render(state, doc_key, stored)
        old_line = state.docs[doc_key]
        old, _ = _remove(part, record_id)
        _put(part, stored, doc_key)
        state.docs[doc_key] = line

        def undo() -> None:
            _remove(part, record_id)
            _put(part, old, doc_key)
            state.docs[doc_key] = old_line

        self._undo.append(undo)

    def delete(self, scope: Scope, id: str) -> bool:
        self._backend._writable()
        state, part = self._partition(scope, create=False)
        if part is None or type(id) is not str or id not in part.records:
            return False
        old, doc_key = _remove(part, id)
        old_line = state.docs.pop(doc_key)

        def undo() -> None:
            _put(part, old, doc_key)
            state.docs[doc_key] = old_line

        self._undo.append(undo)
        return True

    def _render(self, state: _TableState, doc_key: str, record: Record) -> bytes:
        assert state.codec is not None
        try:
            return _render_document(doc_key, state.codec.encode(record))
        except (TypeError, ValueError, RecursionError) as error:
            raise StorageError(
                f"Cannot store record {record.get(self._table.id_column)!r} of {self._table.name} as JSON: {error}"
            ) from error
