"""The TinyDB storage: one JSON file replaced atomically, under an inter-process lock."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from tinydb.storages import Storage

from metricscore.errors import StorageError

from .fileformat import render_database, render_document, shape_problem

__all__ = ["AtomicJSONStorage", "Signature"]

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
        self._lock_file_fd: int | None = None
        self._lock_file_pid = 0
        self._hold_depth = 0
        self._holds_exclusive = False
        self._lock_file()  # fail now, not on the first operation, if the lock file cannot be made

    # -- the sidecar lock file ---------------------------------------------------------------------

    def _lock_file(self) -> int:
        # A forked child gets its own open file description, so its flock is its own.
        if self._lock_file_fd is None or self._lock_file_pid != os.getpid():
            try:
                self._lock_file_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            except OSError as error:
                raise self._error(f"cannot open the lock file {self.lock_path!r}", error) from error
            self._lock_file_pid = os.getpid()
        return self._lock_file_fd

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
            if self._hold_depth == 0 or (exclusive and not self._holds_exclusive):
                try:
                    fcntl.flock(self._lock_file(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
                except OSError as error:
                    raise self._error("cannot lock the lock file", error) from error
                self._holds_exclusive = self._holds_exclusive or exclusive
        except BaseException:
            self._thread_lock.release()
            raise
        self._hold_depth += 1

    def release(self) -> None:
        self._hold_depth -= 1
        try:
            if self._hold_depth == 0:
                self._holds_exclusive = False
                if self._lock_file_fd is not None:
                    fcntl.flock(self._lock_file_fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def try_acquire_exclusive(self) -> bool:
        """Take the exclusive lock if nobody holds it; ``False`` (and no lock) otherwise."""
        self._thread_lock.acquire()
        try:
            if self._hold_depth:
                raise BlockingIOError
            fcntl.flock(self._lock_file(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._thread_lock.release()
            return False
        except BaseException as error:
            self._thread_lock.release()
            if isinstance(error, OSError):
                raise self._error("cannot lock the lock file", error) from error
            raise
        self._holds_exclusive = True
        self._hold_depth = 1
        return True

    def _change_counter(self) -> int:
        return int.from_bytes(os.pread(self._lock_file(), _COUNTER_BYTES, 0), "little")

    # -- reading -----------------------------------------------------------------------------------

    def signature(self) -> Signature:
        """The current version of the file (call it holding the lock)."""
        try:
            counter = self._change_counter()
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
            counter = self._change_counter()
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
        problem = shape_problem(data)
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
            counter = self._change_counter() + 1
            os.pwrite(self._lock_file(), counter.to_bytes(_COUNTER_BYTES, "little"), 0)
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
            table: {str(key): render_document(str(key), doc) for key, doc in docs.items()}
            for table, docs in data.items()
        }
        with self.lock(exclusive=True):
            self.replace(render_database(tables))

    def close(self) -> None:
        with self._thread_lock:
            if self._lock_file_fd is not None and self._lock_file_pid == os.getpid():
                os.close(self._lock_file_fd)
            self._lock_file_fd = None
            self._hold_depth = 0
            self._holds_exclusive = False

    def _error(self, reason: str, cause: BaseException | None = None) -> StorageError:
        detail = f": {cause}" if cause is not None else ""
        return StorageError(f"Cannot use the TinyDB file {self.path!r}: {reason}{detail}")


def _unlink_quietly(path: str) -> None:
    with suppress(OSError):
        os.unlink(path)
