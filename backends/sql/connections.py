"""How the SQL backend's connections are made and kept: driver settings at connect, and one
connection pinned per thread."""

from __future__ import annotations

import json
import os
import sqlite3
import time
import weakref
from contextlib import suppress
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from .errors import _SQLITE_BUSY, _SQLITE_LOCKED, _sqlite_code
from .statements import NO_PREPARE

SQLITE_BUSY_TIMEOUT = 30.0
#: Isolation levels at which a read-only unit may run each statement in autocommit mode without
#: changing what it sees (every statement takes its own snapshot at these levels anyway).
_STATEMENT_SNAPSHOT_LEVELS = frozenset({"READ COMMITTED", "READ UNCOMMITTED"})
#: Connections inherited from a parent process: kept referenced and never used or closed here
#: (closing them would end the parent's sessions on the server).
_INHERITED: list[Connection] = []


def _release(connection: Connection, pid: int) -> None:
    """Return a thread's connection to the pool (or keep it untouched in a forked child)."""
    if os.getpid() != pid:
        _INHERITED.append(connection)
        return
    with suppress(Exception):
        connection.close()


class _Pinned:
    """One thread's connection, reused by that thread's units of work."""

    __slots__ = ("__weakref__", "autocommit", "busy", "connection", "created", "finalizer", "generation", "pid")

    def __init__(self, connection: Connection, generation: int) -> None:
        self.connection = connection
        self.pid = os.getpid()
        self.generation = generation
        self.created = time.monotonic()
        self.busy = False
        #: the connection is in autocommit mode (PostgreSQL read-only units)
        self.autocommit = False
        self.finalizer = weakref.finalize(self, _release, connection, self.pid)
        self.finalizer.atexit = False


def _isolation_level(engine: Engine) -> str | None:
    """The isolation level every connection of ``engine`` starts with, when it was set."""
    level = engine.get_execution_options().get("isolation_level")
    if level is None:
        level = getattr(engine.dialect, "_on_connect_isolation_level", None)
    return str(level).upper() if level is not None else None


def _driver_ok(connection: Connection) -> bool:
    """Statements may bypass SQLAlchemy: nothing logs or listens to them."""
    return not (connection._echo or connection._has_events or connection.engine._has_events)


def _enable_wal(cursor: Any) -> None:
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
            if _sqlite_code(error) not in (_SQLITE_BUSY, _SQLITE_LOCKED) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


_decode_json = json.JSONDecoder().decode


def _json_from_utf8(data: str | bytes) -> Any:
    return _decode_json(data.decode("utf-8") if isinstance(data, bytes) else data)


def _install_hooks(engine: Engine) -> None:
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
                    _enable_wal(cursor)
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
