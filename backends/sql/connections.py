"""How the SQL backend's connections are made and kept.

:func:`install_connect_hooks` sets each new driver connection up (SQLite's busy timeout and WAL
mode, psycopg's JSON decoding and unprepared statements). :class:`ThreadConnections` keeps one
connection per thread: checked out of the engine's pool on the thread's first unit of work and
returned when the thread ends or the backend closes, so a unit of work costs no pool checkout and
no reset-on-return round trip. A connection that broke is discarded; on a lost server connection
every thread's connection is replaced at its next unit of work (a new *generation*); a forked
child never touches its parent's connections.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import weakref
from contextlib import suppress
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import IsolationLevel
from sqlalchemy.pool import StaticPool

from .errors import SQLITE_BUSY, SQLITE_LOCKED, ConstraintMap, sqlite_result_code, translate_errors
from .statements import NO_PREPARE

__all__ = [
    "SERVER_CONNECT_TIMEOUT",
    "SQLITE_BUSY_TIMEOUT",
    "PinnedConnection",
    "ThreadConnections",
    "install_connect_hooks",
    "may_bypass_sqlalchemy",
]

SQLITE_BUSY_TIMEOUT = 30.0
#: Seconds to wait for a PostgreSQL server to accept a connection (libpq waits forever by default:
#: a firewalled or wrong host would hang every command); ``?connect_timeout=N`` in the URL wins.
#: PyMySQL's own default is 10 seconds too.
SERVER_CONNECT_TIMEOUT = 10
#: Isolation levels at which a read-only unit may run each statement in autocommit mode without
#: changing what it sees (every statement takes its own snapshot at these levels anyway).
STATEMENT_SNAPSHOT_LEVELS = frozenset({"READ COMMITTED", "READ UNCOMMITTED"})
#: Connections inherited from a parent process: kept referenced and never used or closed here
#: (closing them would end the parent's sessions on the server).
_INHERITED_CONNECTIONS: list[Connection] = []


class _ThisProcess:
    """Which process this is, asked cheaply: a number bumped in every forked child. The hot path
    asks on every unit of work, and ``os.getpid()`` is a system call."""

    forks = 0


def _forked() -> None:
    _ThisProcess.forks += 1


os.register_at_fork(after_in_child=_forked)


def _release_connection(connection: Connection, pid: int) -> None:
    """Return a thread's connection to the pool (or keep it untouched in a forked child)."""
    if os.getpid() != pid:
        _INHERITED_CONNECTIONS.append(connection)
        return
    with suppress(Exception):
        connection.close()


class PinnedConnection:
    """One thread's connection, reused by that thread's units of work."""

    __slots__ = (
        "__weakref__",
        "autocommit",
        "busy",
        "connection",
        "created",
        "finalizer",
        "forks",
        "generation",
        "pid",
    )

    def __init__(self, connection: Connection, generation: int) -> None:
        self.connection = connection
        self.pid = os.getpid()
        self.forks = _ThisProcess.forks
        #: the :attr:`ThreadConnections.generation` it belongs to; -1 once it must not be reused
        self.generation = generation
        self.created = time.monotonic()
        #: a unit of work of its thread is running on it
        self.busy = False
        #: the connection is in autocommit mode (PostgreSQL read-only units)
        self.autocommit = False
        self.finalizer = weakref.finalize(self, _release_connection, connection, self.pid)
        self.finalizer.atexit = False


def isolation_level(engine: Engine) -> str | None:
    """The isolation level every connection of ``engine`` starts with, when it was set."""
    level = engine.get_execution_options().get("isolation_level")
    if level is None:
        level = getattr(engine.dialect, "_on_connect_isolation_level", None)
    return str(level).upper() if level is not None else None


class ThreadConnections:
    """One :class:`PinnedConnection` per thread (not for the one shared in-memory SQLite
    connection: its units of work take turns on it instead)."""

    def __init__(self, engine: Engine, constraints: ConstraintMap) -> None:
        self.engine = engine
        self._constraints = constraints
        self._thread_local = threading.local()
        self._all: weakref.WeakSet[PinnedConnection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._forks = _ThisProcess.forks
        #: bumped when a connection is found lost: every thread's connection is replaced
        self.generation = 0
        #: the isolation level connections start with (``None``: the database's default)
        self.isolation = isolation_level(engine)
        self._pre_ping = bool(getattr(engine.pool, "_pre_ping", False))
        recycle = getattr(engine.pool, "_recycle", -1)
        self._recycle = float(recycle) if isinstance(recycle, int | float) and recycle >= 0 else None

    def of_this_thread(self) -> PinnedConnection | None:
        """This thread's connection (connecting first if it has none); ``None`` while in use."""
        forks = _ThisProcess.forks
        if forks != self._forks:
            self._after_fork()
        pinned: PinnedConnection | None = getattr(self._thread_local, "pinned", None)
        if pinned is not None:
            if pinned.busy:
                return None
            if self._usable(pinned, forks):
                return pinned
            self.discard(pinned)
        with translate_errors(self._constraints):
            connection = self.engine.connect()
        pinned = PinnedConnection(connection, self.generation)
        with self._lock:
            self._all.add(pinned)
        self._thread_local.pinned = pinned
        return pinned

    def _usable(self, pinned: PinnedConnection, forks: int) -> bool:
        connection = pinned.connection
        if pinned.forks != forks or pinned.generation != self.generation:
            return False
        if connection.closed or connection.invalidated:
            return False
        if self._recycle is not None and time.monotonic() - pinned.created > self._recycle:
            return False
        if self._pre_ping:  # as the pool would on checkout
            dbapi_connection = connection.connection.dbapi_connection
            try:
                return dbapi_connection is not None and bool(self.engine.dialect.do_ping(dbapi_connection))
            except Exception:
                return False
        return True

    def done(self, pinned: PinnedConnection, *, closing: bool) -> None:
        """A unit of work on ``pinned`` ended: keep it for the thread's next one, unless the
        backend is closing or the connection can no longer be trusted."""
        pinned.busy = False
        connection = pinned.connection
        if closing or connection.closed or connection.invalidated or pinned.generation != self.generation:
            self.discard(pinned)

    def set_autocommit(self, pinned: PinnedConnection, on: bool) -> None:
        connection = pinned.connection
        with translate_errors(self._constraints):
            if connection.in_transaction():  # SQLAlchemy's own bookkeeping; nothing open in the database
                connection.commit()
            connection.execution_options(isolation_level=cast(IsolationLevel, "AUTOCOMMIT" if on else self.isolation))
        pinned.autocommit = on

    def lost(self, pinned: PinnedConnection | None, connection: Connection) -> None:
        """``connection`` must not be used again; if it was invalidated (the server connection was
        lost), no other thread's connection is trusted either: each is replaced at its next unit."""
        if pinned is not None:
            pinned.generation = -1
        if connection.invalidated:
            with self._lock:
                self.generation += 1

    def discard(self, pinned: PinnedConnection) -> None:
        """Forget ``pinned`` and return its connection to the pool."""
        if getattr(self._thread_local, "pinned", None) is pinned:
            del self._thread_local.pinned
        with self._lock:
            self._all.discard(pinned)
        pinned.finalizer()

    def _after_fork(self) -> None:
        """In a forked child: forget the parent's connections without closing them (the lock may
        have been held by a parent thread that does not exist here: it is replaced, not taken)."""
        self._lock = threading.Lock()
        inherited = list(self._all)
        self._all = weakref.WeakSet()
        for pinned in inherited:
            if pinned.finalizer.detach() is not None:
                _INHERITED_CONNECTIONS.append(pinned.connection)
        self._thread_local = threading.local()
        self._forks = _ThisProcess.forks
        self.engine.dispose(close=False)

    def close(self) -> None:
        """Return every idle connection to the pool (a busy one goes when its unit ends)."""
        with self._lock:
            pinned = list(self._all)
        for each in pinned:
            if not each.busy and each.pid == os.getpid():
                self.discard(each)


def may_bypass_sqlalchemy(connection: Connection) -> bool:
    """Statements may bypass SQLAlchemy: nothing logs or listens to them."""
    return not (connection._echo or connection._has_events or connection.engine._has_events)


def enable_wal(cursor: Any) -> None:
    """Switch a SQLite file to WAL mode (it stays so). Connections opening a fresh file at once
    can see SQLITE_BUSY from the switch without the busy handler being consulted: retry that,
    and only that (a read-only or unopenable file fails at once)."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if sqlite_result_code(error) not in (SQLITE_BUSY, SQLITE_LOCKED) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


_decode_json = json.JSONDecoder().decode


def _json_from_utf8(data: str | bytes) -> Any:
    return _decode_json(data.decode("utf-8") if isinstance(data, bytes) else data)


def install_connect_hooks(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        memory = isinstance(engine.pool, StaticPool)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            # The driver must not open transactions by itself: units of work issue BEGIN.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
                if not memory:
                    enable_wal(cursor)
            finally:
                cursor.close()

    elif engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        if getattr(engine.dialect, "_json_deserializer", None) is None:

            @event.listens_for(engine, "connect")
            def _psycopg_connect(dbapi_connection: Any, _record: Any) -> None:
                # psycopg hands json values to json.loads as bytes (an encoding sniff and a decode
                # per value); the server always sends UTF-8 here, so decode it directly.
                from psycopg.types.json import set_json_loads

                set_json_loads(_json_from_utf8, dbapi_connection)

        @event.listens_for(engine, "do_execute")
        def _maybe_unprepared(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
            if context.execution_options.get(NO_PREPARE):
                cursor.execute(statement, parameters, prepare=False)
                return True
            return None
