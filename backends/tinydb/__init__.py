"""The TinyDB backend (``tinydb:///path/db.json``): one human-readable JSON file, never half-written.

The file is a TinyDB database: one TinyDB table per resource table, documents keyed by TinyDB's
integer document ids, so ``tinydb.TinyDB(path)`` can open it. It is written one document per line
(:mod:`.fileformat`)::

    {
      "posthog_accounts": {
        "1": {"project_id": 1, "id": "0190...", "name": "Acme", ...},
        "2": {...}
      }
    }

How it stays correct and fast (each point is tested in ``tests/backends/test_tinydb*.py``):

- **Atomic writes.** A commit writes the whole file to a temporary file in the same folder,
  fsyncs it, renames it over the database and fsyncs the folder (:class:`AtomicJSONStorage`, in
  :mod:`.storage`). A crash at any moment leaves the old file or the new one, never a truncated one.
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
  :func:`~metricscore.backends.reference.sort_records`, and the same
  :class:`~metricscore.backends.reference.PartitionRepository`).

TinyDB's own ``Table`` is not used on the hot path: each of its writes re-reads the whole
database and rebuilds the table's id map, and each read re-reads the storage, which for
``JSONStorage`` means parsing the whole file. The storage here is a real TinyDB
:class:`~tinydb.storages.Storage`, so plain TinyDB code can use it to get atomic, locked writes:
``TinyDB(path, storage=AtomicJSONStorage)``.
"""

from metricscore.registry import require_module

require_module("tinydb", "tinydb", "the TinyDB backend")

from .backend import TinyDBBackend, TinyDBRepository, TinyDBUnitOfWork  # noqa: E402
from .storage import AtomicJSONStorage  # noqa: E402

__all__ = ["AtomicJSONStorage", "TinyDBBackend", "TinyDBRepository", "TinyDBUnitOfWork"]
