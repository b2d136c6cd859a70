"""The TinyDB backend itself: the file's tables in memory, units of work, and the repository.

The file is read through :class:`~.storage.AtomicJSONStorage` and written in the format of
:mod:`.fileformat`; how the pieces keep it correct and fast is in the package's docstring.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

from metricscore.errors import ConfigurationError, Conflict, StorageError
from metricscore.repository import Record
from metricscore.table import TableSpec

from ..reference import Partition, PartitionRepository, ScopedPartitions, Undo, copy_record
from .fileformat import DocumentCodec, document_of_line, render_database, render_document
from .storage import AtomicJSONStorage, Signature

__all__ = ["TinyDBBackend", "TinyDBRepository", "TinyDBUnitOfWork"]


# -- in-memory state ---------------------------------------------------------------------------------


class DocumentPartition(Partition):
    """A scope's records (see :class:`Partition`) plus the key of each one's document in its
    :class:`FileTable`."""

    __slots__ = ("document_keys", "file_table")

    def __init__(self, table: TableSpec, file_table: FileTable) -> None:
        super().__init__(table)
        self.file_table = file_table
        self.document_keys: dict[str, str] = {}

    def put_document(self, record: Record, document_key: str) -> None:
        self.put(record)
        self.document_keys[record[self.table.id_column]] = document_key

    def remove_document(self, record_id: str) -> tuple[Record, str]:
        return self.remove(record_id), self.document_keys.pop(record_id)


class FileTable:
    """One TinyDB table of the file.

    ``documents`` maps each document key to its rendered line (bytes), or to its parsed JSON
    object until a commit renders it. Once a table spec is bound, ``scopes`` hold its decoded
    records by scope.
    """

    def __init__(self, name: str, documents: dict[str, Any]) -> None:
        self.name = name
        self.documents: dict[str, bytes | dict[str, Any]] = documents
        self.next_document_key = max((int(k) for k in documents), default=0) + 1
        self.spec: TableSpec | None = None
        self.codec: DocumentCodec | None = None
        self.scopes: ScopedPartitions[DocumentPartition] | None = None

    def lines(self) -> dict[str, bytes]:
        documents = self.documents
        for key, document in documents.items():
            if not isinstance(document, bytes):
                documents[key] = render_document(key, document)
        return documents  # type: ignore[return-value]  # every value is bytes now

    def bind(self, spec: TableSpec, path: str) -> None:
        """Decode every document into records of ``spec``, indexed by scope, id and unique key."""
        codec = DocumentCodec(spec)
        scopes = ScopedPartitions(spec, self._new_partition)
        id_column = spec.id_column
        for key, document in self.documents.items():
            try:
                record = codec.decode(document_of_line(document) if isinstance(document, bytes) else dict(document))
                record_id = record[id_column]
                if type(record_id) is not str:
                    raise ValueError(f"its {id_column!r} is {record_id!r}, not a string")
                partition = scopes.get_or_create(record)
                if record_id in partition.records:
                    raise ValueError(f"its id {record_id!r} is used twice in the same scope")
                partition.check_unique(record, record_id)
                partition.put_document(record, key)
            except (ValueError, KeyError, TypeError, Conflict) as error:
                reason = f"missing column {error}" if isinstance(error, KeyError) else str(error)
                raise StorageError(
                    f"Cannot use the TinyDB file {path!r}: document {key} of table {self.name!r} "
                    f"is not a valid {self.name} record ({reason})"
                ) from error
        self.spec, self.codec, self.scopes = spec, codec, scopes

    def _new_partition(self, spec: TableSpec) -> DocumentPartition:
        return DocumentPartition(spec, self)


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
        self._file_tables: dict[str, FileTable] = {}
        self._transaction: _Transaction | None = None
        try:
            if self._storage.try_acquire_exclusive():
                try:
                    self._storage.remove_stale_temporary_files()
                    self._reload_if_changed()
                finally:
                    self._storage.release()
            else:
                with self._storage.lock(exclusive=False):
                    self._reload_if_changed()
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
            transaction = self._transaction
            outermost = transaction is None
            if transaction is None:
                transaction = self._transaction = self._begin(write)
            try:
                if write and not transaction.exclusive:
                    self._take_exclusive_lock(transaction)
                uow = TinyDBUnitOfWork(self)
                try:
                    yield uow
                except BaseException:
                    uow.rollback()
                    if outermost and transaction.nested_changes:
                        self._commit()
                    raise
                if outermost:
                    if uow.changed or transaction.nested_changes:
                        self._commit()
                elif uow.changed:
                    transaction.nested_changes = True
            finally:
                if outermost:
                    self._transaction = None
                    if transaction.exclusive:
                        self._storage.release()

    def _begin(self, write: bool) -> _Transaction:
        if write:
            self._storage.acquire(exclusive=True)
            try:
                self._reload_if_changed()
            except BaseException:
                self._storage.release()
                raise
            return _Transaction(exclusive=True)
        with self._storage.lock(exclusive=False):
            self._reload_if_changed()
        return _Transaction(exclusive=False)

    def _take_exclusive_lock(self, transaction: _Transaction) -> None:
        """Take the exclusive lock for a transaction that has written nothing yet, and catch up
        with the file, so the write starts from its latest content."""
        self._storage.acquire(exclusive=True)
        transaction.exclusive = True
        self._reload_if_changed()

    def _ensure_exclusive(self) -> None:
        transaction = self._transaction
        if transaction is None:
            raise StorageError("A TinyDB repository was used outside its unit of work.")
        if not transaction.exclusive:
            self._take_exclusive_lock(transaction)

    def _reload_if_changed(self) -> None:
        """Reload the file if another writer changed it since we last read or wrote it."""
        if self._signature is not None and self._storage.signature() == self._signature:
            return
        self._signature = None
        with _collector_paused():
            data, signature = self._storage.load()
            bound = [file_table.spec for file_table in self._file_tables.values() if file_table.spec is not None]
            file_tables = {name: FileTable(name, documents) for name, documents in data.items()}
            for spec in bound:  # decode eagerly: a corrupt record surfaces now, not mid-operation
                file_tables.setdefault(spec.name, FileTable(spec.name, {})).bind(spec, self.path)
        self._file_tables = file_tables
        self._signature = signature

    def _commit(self) -> None:
        try:
            content = render_database({name: file_table.lines() for name, file_table in self._file_tables.items()})
            self._signature = self._storage.replace(content)
        except BaseException:
            # Memory is now ahead of the file (or unknown): forget it and reload next time.
            self._signature = None
            self._file_tables = {}
            raise

    def _file_table(self, spec: TableSpec) -> FileTable:
        """The file's table for ``spec``, bound to it (its records decoded)."""
        file_table = self._file_tables.get(spec.name)
        if file_table is None:
            file_table = self._file_tables[spec.name] = FileTable(spec.name, {})
        if file_table.spec is not spec and file_table.spec != spec:
            file_table.bind(spec, self.path)
        return file_table

    def close(self) -> None:
        with self._lock:
            self._file_tables = {}
            self._signature = None
            self._storage.close()


class TinyDBUnitOfWork:
    def __init__(self, backend: TinyDBBackend) -> None:
        self._backend = backend
        self._undo: list[Undo] = []

    @property
    def changed(self) -> bool:
        return bool(self._undo)

    def repository(self, table: TableSpec) -> TinyDBRepository:
        self._backend._file_table(table)  # bind now, so a corrupt table fails here
        return TinyDBRepository(self._backend, table, self._undo)

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()


class TinyDBRepository(PartitionRepository[DocumentPartition]):
    """One table through one unit of work: the memory backend's repository, plus each record's
    document line, kept rendered for the next commit."""

    def __init__(self, backend: TinyDBBackend, table: TableSpec, undo: list[Undo]) -> None:
        super().__init__(table, undo)
        self._backend = backend

    def _partitions(self) -> ScopedPartitions[DocumentPartition]:
        # Looked up per call: taking the exclusive lock may reload the file and rebuild its tables.
        scopes = self._backend._file_table(self._table).scopes
        assert scopes is not None
        return scopes

    def _before_write(self) -> None:
        self._backend._ensure_exclusive()

    def _add(self, partition: DocumentPartition, record_id: str, record: Record) -> Undo:
        file_table = partition.file_table
        stored = copy_record(record)
        key = str(file_table.next_document_key)
        line = self._line(file_table, key, stored)
        file_table.next_document_key += 1
        file_table.documents[key] = line
        partition.put_document(stored, key)

        def undo() -> None:
            partition.remove_document(record_id)
            del file_table.documents[key]

        return undo

    def _replace(self, partition: DocumentPartition, record_id: str, record: Record) -> Undo:
        file_table = partition.file_table
        stored = copy_record(record)
        key = partition.document_keys[record_id]
        line = self._line(file_table, key, stored)
        old_line = file_table.documents[key]
        old, _ = partition.remove_document(record_id)
        partition.put_document(stored, key)
        file_table.documents[key] = line

        def undo() -> None:
            partition.remove_document(record_id)
            partition.put_document(old, key)
            file_table.documents[key] = old_line

        return undo

    def _remove(self, partition: DocumentPartition, record_id: str) -> Undo:
        file_table = partition.file_table
        old, key = partition.remove_document(record_id)
        old_line = file_table.documents.pop(key)

        def undo() -> None:
            partition.put_document(old, key)
            file_table.documents[key] = old_line

        return undo

    def _line(self, file_table: FileTable, key: str, record: Record) -> bytes:
        assert file_table.codec is not None
        try:
            return render_document(key, file_table.codec.encode(record))
        except (TypeError, ValueError, RecursionError) as error:
            raise StorageError(
                f"Cannot store record {record.get(self._table.id_column)!r} of {self._table.name} as JSON: {error}"
            ) from error
