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
  :func:`~metricscore.backends._common.matches`, ordering via
  :func:`~metricscore.backends._common.sort_records`).

TinyDB's own ``Table`` is not used on the hot path: each of its writes re-reads the whole
database and rebuilds the table's id map, and each read re-reads the storage, which for
``JSONStorage`` means parsing the whole file. The storage here is a real TinyDB
:class:`~tinydb.storages.Storage`, so plain TinyDB code can use it to get atomic, locked writes:
``TinyDB(path, storage=AtomicJSONStorage)``.
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from tinydb.storages import Storage

from metricscore.errors import ConfigurationError, Conflict, StorageError
from metricscore.query import Filter, Query
from metricscore.repository import Record, Scope
from metricscore.table import ColumnType, Table

from ._common import Partition, copy_record

__all__ = ["AtomicJSONStorage", "TinyDBBackend", "TinyDBRepository"]

#: What identifies one version of the file: (writers' counter, st_dev, st_ino, st_size, st_mtime_ns).
#: ``None`` in the stat fields when the file does not exist.
Signature = tuple[int, int | None, int | None, int | None, int | None]

_COUNTER_BYTES = 8


class AtomicJSONStorage(Storage):
    """A TinyDB storage that replaces its JSON file atomically, under an inter-process lock.

    The backend uses the byte-level methods (:meth:`lock`, :meth:`signature`, :meth:`load`,
    :meth:`replace`); TinyDB uses :meth:`read` and :meth:`write`.
    """

    def __init__(self, path: str | os.PathLike[str], **_ignored: Any) -> None:
        super().__init__()
        self.path = os.path.abspath(os.fspath(path))
        self.lock_path = self.path + ".lock"
        folder = os.path.dirname(self.path)
        if not os.path.isdir(folder):
            raise StorageError(f"Cannot use the TinyDB file {self.path!r}: the folder {folder!r} does not exist.")
        self._thread_lock = threading.RLock()
        self._fd: int | None = None
        self._fd_pid = 0
        self._depth = 0
        self._exclusive = False
        self._lock_fd()  # fail now, not on the first operation, if the lock file cannot be made

    # -- the sidecar lock file ---------------------------------------------------------------------

    def _lock_fd(self) -> int:
        # A forked child gets its own open file description, so its flock is its own.
        if self._fd is None or self._fd_pid != os.getpid():
            try:
                self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            except OSError as error:
                raise self._error(f"cannot open the lock file {self.lock_path!r}", error) from error
            self._fd_pid = os.getpid()
        return self._fd

    @contextmanager
    def lock(self, *, exclusive: bool) -> Iterator[None]:
        """Hold the inter-process lock (and this object's thread lock). Re-entrant; an inner
        exclusive request upgrades a shared lock for the rest of the outermost hold."""
        self.acquire(exclusive=exclusive)
        try:
            yield
        finally:
            self.release()

    def acquire(self, *, exclusive: bool) -> None:
        self._thread_lock.acquire()
        try:
            if self._depth == 0 or (exclusive and not self._exclusive):
                try:
                    fcntl.flock(self._lock_fd(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
                except OSError as error:
                    raise self._error("cannot lock the lock file", error) from error
                self._exclusive = self._exclusive or exclusive
        except BaseException:
            self._thread_lock.release()
            raise
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        try:
            if self._depth == 0:
                self._exclusive = False
                if self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def try_acquire_exclusive(self) -> bool:
        """Take the exclusive lock if nobody holds it; ``False`` (and no lock) otherwise."""
        self._thread_lock.acquire()
        try:
            if self._depth:
                raise BlockingIOError
            fcntl.flock(self._lock_fd(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._thread_lock.release()
            return False
        except BaseException as error:
            self._thread_lock.release()
            if isinstance(error, OSError):
                raise self._error("cannot lock the lock file", error) from error
            raise
        self._exclusive = True
        self._depth = 1
        return True

    def _counter(self) -> int:
        return int.from_bytes(os.pread(self._lock_fd(), _COUNTER_BYTES, 0), "little")

    # -- reading -----------------------------------------------------------------------------------

    def signature(self) -> Signature:
        """The current version of the file (call it holding the lock)."""
        try:
            counter = self._counter()
            st = os.stat(self.path)
        except FileNotFoundError:
            return (counter, None, None, None, None)
        except OSError as error:
            raise self._error("cannot read it", error) from error
        return (counter, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def load(self) -> tuple[dict[str, dict[str, Any]], Signature]:
        """Parse the file (holding the lock). A missing or empty file is an empty database.

        Raises StorageError naming the path and the reason when the file cannot be read, is not
        JSON, or is JSON of another shape than a TinyDB database; the file is not touched.
        """
        try:
            counter = self._counter()
            with open(self.path, "rb") as handle:
                st = os.fstat(handle.fileno())
                content = handle.read()
        except FileNotFoundError:
            return {}, (counter, None, None, None, None)
        except OSError as error:
            raise self._error("cannot read it", error) from error
        signature: Signature = (counter, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if not content.strip():
            return {}, signature
        try:
            data = json.loads(content)
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
            raise self._error("it is not a JSON document", error) from error
        problem = _shape_problem(data)
        if problem is not None:
            raise self._error(f"it is not a TinyDB database ({problem})")
        return data, signature

    # -- writing -----------------------------------------------------------------------------------

    def replace(self, content: bytes) -> Signature:
        """Atomically make ``content`` the file's content (call it holding the exclusive lock).

        temp file in the same folder -> write -> fsync -> bump the counter -> rename over the
        file -> fsync the folder. Returns the new signature.
        """
        folder, name = os.path.split(self.path)
        temp = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            try:
                self._copy_mode(fd)
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            counter = self._counter() + 1
            os.pwrite(self._lock_fd(), counter.to_bytes(_COUNTER_BYTES, "little"), 0)
            os.replace(temp, self.path)
        except OSError as error:
            _unlink_quietly(temp)
            raise self._error("cannot write it; the file is unchanged", error) from error
        try:
            dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            st = os.stat(self.path)
        except OSError as error:
            raise self._error("wrote it but could not make the rename durable", error) from error
        return (counter, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def _copy_mode(self, fd: int) -> None:
        try:
            mode = os.stat(self.path).st_mode & 0o7777
        except FileNotFoundError:
            return
        os.fchmod(fd, mode)

    def remove_stale_temporary_files(self) -> None:
        """Delete temp files left by killed writers (call it holding the exclusive lock: only a
        lock holder writes a temp file, so any other one is stale)."""
        folder, name = os.path.split(self.path)
        prefix = f".{name}."
        try:
            entries = os.listdir(folder)
        except OSError:
            return
        for entry in entries:
            if entry.startswith(prefix) and entry.endswith(".tmp"):
                _unlink_quietly(os.path.join(folder, entry))

    # -- the TinyDB Storage interface ----------------------------------------------------------------

    def read(self) -> dict[str, dict[str, Any]] | None:
        with self.lock(exclusive=False):
            data, _ = self.load()
        return data or None

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        tables = {
            table: {str(key): _render_document(str(key), doc) for key, doc in docs.items()}
            for table, docs in data.items()
        }
        with self.lock(exclusive=True):
            self.replace(render_database(tables))

    def close(self) -> None:
        with self._thread_lock:
            if self._fd is not None and self._fd_pid == os.getpid():
                os.close(self._fd)
            self._fd = None
            self._depth = 0
            self._exclusive = False

    def _error(self, reason: str, cause: BaseException | None = None) -> StorageError:
        detail = f": {cause}" if cause is not None else ""
        return StorageError(f"Cannot use the TinyDB file {self.path!r}: {reason}{detail}")


def _unlink_quietly(path: str) -> None:
    with suppress(OSError):
        os.unlink(path)


def _shape_problem(data: Any) -> str | None:
    """Why ``data`` is not ``{table: {"<int>": {document}}}``, or ``None``."""
    if not isinstance(data, dict):
        return f"the top level is a JSON {_json_kind(data)}, not an object of tables"
    for table, docs in data.items():
        if not isinstance(docs, dict):
            return f"table {table!r} is a JSON {_json_kind(docs)}, not an object of documents"
        for key, doc in docs.items():
            if not key.isdecimal():
                return f"table {table!r} has the document id {key!r}, which is not an integer"
            if not isinstance(doc, dict):
                return f"document {key} of table {table!r} is a JSON {_json_kind(doc)}, not an object"
    return None


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


# -- encoding ----------------------------------------------------------------------------------------


def _render_document(key: str, doc: Mapping[str, Any]) -> bytes:
    """One document's line of the file. Non-ASCII text stays readable; a string that cannot be
    UTF-8 (a lone surrogate) makes that line fall back to ``\\u`` escapes."""
    try:
        return b'    "' + key.encode() + b'": ' + json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return b'    "' + key.encode() + b'": ' + json.dumps(doc).encode("ascii")


def _document_of_line(line: bytes) -> Any:
    return json.loads(line.split(b": ", 1)[1])


def render_database(tables: Mapping[str, Mapping[str, bytes]]) -> bytes:
    """The whole file from each table's rendered document lines."""
    if not tables:
        return b"{}\n"
    blocks = []
    for name, lines in tables.items():
        head = b"  " + json.dumps(name, ensure_ascii=False).encode("utf-8", "surrogatepass") + b": {"
        blocks.append(head + b"\n" + b",\n".join(lines.values()) + b"\n  }" if lines else head + b"}")
    return b"{\n" + b",\n".join(blocks) + b"\n}\n"


class _Codec:
    """Record <-> JSON document for one table: DATETIME columns become ISO-8601 strings with
    microseconds and their UTC offset, which ``datetime.fromisoformat`` turns back into an equal
    aware datetime. Everything else is stored as it is."""

    def __init__(self, table: Table) -> None:
        self.datetimes = tuple(c.name for c in table.columns if c.type is ColumnType.DATETIME)

    def encode(self, record: Record) -> dict[str, Any]:
        if not self.datetimes:
            return record
        doc = dict(record)
        for name in self.datetimes:
            value = doc.get(name)
            if isinstance(value, datetime):
                doc[name] = value.isoformat(timespec="microseconds")
        return doc

    def decode(self, doc: dict[str, Any]) -> Record:
        for name in self.datetimes:
            value = doc.get(name)
            if value is not None:
                if not isinstance(value, str):
                    raise ValueError(f"column {name!r} holds {value!r}, not a date-time string")
                doc[name] = datetime.fromisoformat(value)
        return doc


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
