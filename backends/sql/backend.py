"""The SQL backend: SQLite (embedded default), PostgreSQL and MariaDB/MySQL via SQLAlchemy 2 Core.

One unit of work is one connection and one transaction. SQLite write transactions start with
``BEGIN IMMEDIATE`` (the write lock is taken up front, so two writers never deadlock on the lock
upgrade; the busy timeout makes the second one wait). Every database call goes through
:func:`~metricscore.backends.sql.errors.translate_errors`.

Each thread keeps one connection (checked out of the engine's pool on its first unit of work and
returned when the thread ends or the backend closes), so a unit of work costs no pool checkout
and no reset-on-return round trip. On PostgreSQL at ``READ COMMITTED``, read-only units run their
statements in autocommit mode: each statement sees what was committed before it began, exactly as
inside a ``READ COMMITTED`` transaction, without the ``BEGIN`` and ``COMMIT`` round trips; the
first write (or DDL) in such a unit starts a real transaction. A connection that broke is
discarded (and, on a lost server connection, every thread's connection is replaced at its next
unit of work); a forked child never touches its parent's connections.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import IsolationLevel
from sqlalchemy.pool import StaticPool

from metricscore.errors import ConfigurationError, Conflict, MetricscoreError, StorageError
from metricscore.jsonvalue import copy_json
from metricscore.query import Filter, Query, fold_case
from metricscore.repository import FreshRecord, Record, Scope
from metricscore.table import Table

from .errors import ConstraintMap, translate_errors
from .migrate import schema_lock, upgrade
from .schema import TAG, create_table_objects, sql_table
from .statements import NO_PREPARE, Statements

__all__ = ["SQLBackend", "SQLRepository"]

_EXTRAS = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql", "sqlite": "sql"}
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


class SQLBackend:
    """A metricscore backend on any SQLAlchemy engine (see :meth:`from_url`)."""

    def __init__(self, engine: Engine, *, create_schema: bool = True) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.create_schema = create_schema
        self.constraints = ConstraintMap()
        self._states: dict[str, Statements] = {}
        self._spec_seen: dict[int, Statements] = {}
        self._spec_pins: list[Table] = []
        self._state_lock = threading.Lock()
        # One shared connection (in-memory SQLite): units of work take turns.
        self._serial: threading.RLock | None = threading.RLock() if isinstance(engine.pool, StaticPool) else None
        self._closed = False
        # Per-thread connections (not with the one shared in-memory connection).
        self._local = threading.local()
        self._pinned: weakref.WeakSet[_Pinned] = weakref.WeakSet()
        self._pin_lock = threading.Lock()
        self._pid = os.getpid()
        #: bumped when a connection is found lost: every thread's connection is replaced
        self._generation = 0
        self._isolation = _isolation_level(engine)
        self._autocommit_reads = self.dialect == "postgresql" and self._isolation in _STATEMENT_SNAPSHOT_LEVELS
        self._pre_ping = bool(getattr(engine.pool, "_pre_ping", False))
        recycle = getattr(engine.pool, "_recycle", -1)
        self._recycle = float(recycle) if isinstance(recycle, int | float) and recycle >= 0 else None
        if create_schema:
            with translate_errors(self.constraints):
                upgrade(engine)

    @classmethod
    def from_url(
        cls, url: str, *, create_schema: bool = True, engine_options: dict[str, Any] | None = None
    ) -> SQLBackend:
        """Open ``url`` (any SQLAlchemy URL).

        ``create_schema`` (default true) upgrades an empty or older schema to the current one;
        ``engine_options`` go to :func:`sqlalchemy.create_engine`.
        """
        try:
            parsed = sa.engine.make_url(url)
        except sa.exc.ArgumentError as error:
            raise ConfigurationError(f"Not a database URL: {url!r}: {error}") from error
        backend_name = parsed.get_backend_name()
        options: dict[str, Any] = dict(engine_options or {})
        connect_args: dict[str, Any] = dict(options.pop("connect_args", {}))
        memory = backend_name == "sqlite" and parsed.database in (None, "", ":memory:")
        if backend_name == "sqlite":
            connect_args.setdefault("check_same_thread", False)
            connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT)
            if memory:
                options.setdefault("poolclass", StaticPool)
        elif backend_name in ("mysql", "mariadb"):
            connect_args.setdefault("charset", "utf8mb4")
            options.setdefault("isolation_level", "READ COMMITTED")
        elif backend_name == "postgresql":
            options.setdefault("isolation_level", "READ COMMITTED")
        if not memory and "poolclass" not in options and "pool" not in options:
            # Each thread holds one connection for its lifetime: threads must never queue for one.
            options.setdefault("max_overflow", -1)
        try:
            engine = sa.create_engine(parsed, connect_args=connect_args, **options)
        except ImportError as error:
            extra = _EXTRAS.get(backend_name, "sql")
            raise ConfigurationError(
                f"The database driver for {parsed.drivername!r} is not installed: "
                f"pip install 'metricscore[{extra}]' ({error})"
            ) from error
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as error:
            raise ConfigurationError(f"Cannot use {url!r}: {error}") from error
        _install_hooks(engine)
        try:
            return cls(engine, create_schema=create_schema)
        except StorageError as error:
            engine.dispose()
            refusal = _sqlite_refusal(parsed.database, error) if backend_name == "sqlite" and not memory else None
            if refusal is not None:
                raise refusal from error
            raise
        except BaseException:
            engine.dispose()
            raise

    # -- units of work -----------------------------------------------------------------------

    @contextmanager
    def unit_of_work(self, *, write: bool = True) -> Iterator[SQLUnitOfWork]:
        if self._closed:
            raise StorageError("The store is closed.")
        if self._serial is not None:
            with self._serial:
                with translate_errors(self.constraints):
                    connection = self.engine.connect()
                try:
                    yield from self._run(connection, None, write)
                finally:
                    with suppress(sa.exc.SQLAlchemyError):
                        connection.close()
            return
        pinned = self._thread_connection()
        if pinned is None:  # a unit of work inside another one on this thread: a connection of its own
            with translate_errors(self.constraints):
                connection = self.engine.connect()
            try:
                yield from self._run(connection, None, write)
            finally:
                with suppress(sa.exc.SQLAlchemyError):
                    connection.close()
            return
        pinned.busy = True
        try:
            yield from self._run(pinned.connection, pinned, write)
        finally:
            pinned.busy = False
            connection = pinned.connection
            if self._closed or connection.closed or connection.invalidated or pinned.generation != self._generation:
                self._drop(pinned)

    def _run(self, connection: Connection, pinned: _Pinned | None, write: bool) -> Iterator[SQLUnitOfWork]:
        """One transaction on ``connection`` around the unit's body (the generator's one yield)."""
        autocommit = False
        driver: Any = None
        try:
            if self.dialect == "sqlite" and not write and self._driver_ok(connection):
                # A read: statement by statement in SQLite's autocommit mode (each sees what
                # was committed before it began, as PostgreSQL's reads below), without
                # SQLAlchemy's transaction bookkeeping; a write in it begins a transaction.
                driver = connection.connection.dbapi_connection
            elif self.dialect == "sqlite":
                with translate_errors(self.constraints):
                    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
            elif pinned is not None:
                autocommit = self._autocommit_reads and not write
                if pinned.autocommit != autocommit:
                    self._set_autocommit(pinned, autocommit)
            uow = SQLUnitOfWork(self, connection, pinned if autocommit else None, driver)
            #: SQLite's write lock is held from the start: what this unit reads stays current
            uow.locked = self.dialect == "sqlite" and write
            uow.write = write
            try:
                yield uow
            except BaseException as error:
                # If the connection is gone, the original error is still the one to report.
                try:
                    if uow.driver_began and not connection.in_transaction():
                        self._driver_sql(driver, "ROLLBACK")
                    else:
                        connection.rollback()
                except (sa.exc.SQLAlchemyError, StorageError):
                    self._lost(pinned, connection)
                if not isinstance(error, Exception) and pinned is not None:
                    pinned.generation = -1  # interrupted mid-call: the protocol state is unknown
                raise
            try:
                if driver is not None and not connection.in_transaction():
                    if uow.driver_began:
                        self._driver_sql(driver, "COMMIT")
                else:
                    with translate_errors(self.constraints):
                        connection.commit()
            except BaseException:
                with suppress(sa.exc.SQLAlchemyError, StorageError):
                    if uow.driver_began and not connection.in_transaction():
                        self._driver_sql(driver, "ROLLBACK")
                    else:
                        connection.rollback()
                raise
            uow.committed()
        finally:
            if connection.invalidated:
                self._lost(pinned, connection)

    @staticmethod
    def _driver_ok(connection: Connection) -> bool:
        """Statements may bypass SQLAlchemy: nothing logs or listens to them."""
        return not (connection._echo or connection._has_events or connection.engine._has_events)

    def _driver_sql(self, dbapi_connection: Any, sql: str) -> None:
        """A transaction statement on the driver, its errors translated as SQLAlchemy's are."""
        try:
            dbapi_connection.execute(sql)
        except Exception as error:
            dialect = self.engine.dialect
            if not isinstance(error, dialect.loaded_dbapi.Error):
                raise
            wrapped = sa.exc.DBAPIError.instance(sql, None, error, dialect.loaded_dbapi.Error, dialect=dialect)
            with translate_errors(self.constraints):
                raise wrapped from error

    # -- per-thread connections ------------------------------------------------------------------

    def _thread_connection(self) -> _Pinned | None:
        """This thread's connection (connecting first if it has none); ``None`` while in use."""
        if os.getpid() != self._pid:
            self._after_fork()
        pinned: _Pinned | None = getattr(self._local, "pinned", None)
        if pinned is not None:
            if pinned.busy:
                return None
            if self._usable(pinned):
                return pinned
            self._drop(pinned)
        with translate_errors(self.constraints):
            connection = self.engine.connect()
        pinned = _Pinned(connection, self._generation)
        with self._pin_lock:
            self._pinned.add(pinned)
        self._local.pinned = pinned
        return pinned

    def _usable(self, pinned: _Pinned) -> bool:
        connection = pinned.connection
        if pinned.pid != os.getpid() or pinned.generation != self._generation:
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

    def _set_autocommit(self, pinned: _Pinned, on: bool) -> None:
        connection = pinned.connection
        with translate_errors(self.constraints):
            if connection.in_transaction():  # SQLAlchemy's own bookkeeping; nothing open in the database
                connection.commit()
            connection.execution_options(isolation_level=cast(IsolationLevel, "AUTOCOMMIT" if on else self._isolation))
        pinned.autocommit = on

    def _lost(self, pinned: _Pinned | None, connection: Connection) -> None:
        """``connection`` must not be used again; if it was invalidated (the server connection was
        lost), no other thread's connection is trusted either: each is replaced at its next unit."""
        if pinned is not None:
            pinned.generation = -1
        if connection.invalidated:
            with self._pin_lock:
                self._generation += 1

    def _drop(self, pinned: _Pinned) -> None:
        if getattr(self._local, "pinned", None) is pinned:
            del self._local.pinned
        with self._pin_lock:
            self._pinned.discard(pinned)
        pinned.finalizer()

    def _after_fork(self) -> None:
        """In a forked child: forget the parent's connections without closing them (the lock may
        have been held by a parent thread that does not exist here: it is replaced, not taken)."""
        self._pin_lock = threading.Lock()
        inherited = list(self._pinned)
        self._pinned = weakref.WeakSet()
        for pinned in inherited:
            if pinned.finalizer.detach() is not None:
                _INHERITED.append(pinned.connection)
        self._local = threading.local()
        self._pid = os.getpid()
        self.engine.dispose(close=False)

    def close(self) -> None:
        self._closed = True
        with self._pin_lock:
            pinned = list(self._pinned)
        for each in pinned:
            if not each.busy and each.pid == os.getpid():  # a busy one is closed when its unit ends
                self._drop(each)
        self.engine.dispose()

    # -- tables --------------------------------------------------------------------------------

    def evaluate_events(self, dataset: str, plan: Any) -> list[Any]:
        """Evaluation pushdown: ``plan`` (metricscore.evaluation.plan) over the built-in events of
        ``dataset``, aggregated by the database (see .evaluation)."""
        from .evaluation import run_on_builtin

        return run_on_builtin(self, dataset, plan)

    def has_statements(self, spec: Table) -> bool:
        return self.known_statements(spec) is not None

    def known_statements(self, spec: Table) -> Statements | None:
        """The remembered statements for ``spec``, or ``None`` (found by identity first: a
        table spec is usually one long-lived object, and comparing specs field by field costs)."""
        found = self._states.get(spec.name)
        if found is None:
            return None
        if self._spec_seen.get(id(spec)) is found:
            return found
        if found.tables.spec is spec or found.tables.spec == spec:
            self._spec_seen[id(spec)] = found
            self._spec_pins.append(spec)  # keeps the id from being reused while remembered
            return found
        return None

    def statements(self, spec: Table, connection: Connection) -> tuple[Statements, bool]:
        """The statements for ``spec``; creates its tables first if missing (tables outside the
        migration catalogue, with ``create_schema``). The flag says they are new in this
        transaction (kept only once it commits)."""
        found = self.known_statements(spec)
        if found is not None:
            return found, False
        tables = sql_table(spec)
        with translate_errors(self.constraints):
            if self.dialect in ("mysql", "mariadb"):
                # DDL would commit the unit of work's transaction: use a connection of its own.
                with self.engine.connect() as other:
                    self._ensure_tables(other, spec)
                    other.commit()
                new = False
            else:
                new = self._ensure_tables(connection, spec)
            fts = False
            if self.dialect == "sqlite" and tables.folded:
                fts = bool(
                    connection.exec_driver_sql(
                        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (tables.fts_name,)
                    ).first()
                )
        self.constraints.add(spec.name, tables.constraint_fields, tables.constraint_columns)
        state = Statements(tables, self.dialect, fts)
        if not new:
            with self._state_lock:
                self._states[spec.name] = state
        return state, new

    def _ensure_tables(self, connection: Connection, spec: Table) -> bool:
        if sa.inspect(connection).has_table(spec.name):
            return False
        if not self.create_schema:
            raise StorageError(
                f"The table {spec.name!r} does not exist; run `python -m metricscore.backends.sql migrate URL`."
            )
        with schema_lock(connection):
            if sa.inspect(connection).has_table(spec.name):
                return False
            create_table_objects(connection, spec)
        return True

    def remember(self, state: Statements) -> None:
        with self._state_lock:
            self._states[state.tables.spec.name] = state


_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 3, 5, 6, 8, 14, 26


def _sqlite_code(error: BaseException | None) -> int | None:
    """The primary SQLite result code of ``error`` or of an error it was raised from."""
    seen = 0
    while error is not None and seen < 10:
        code = getattr(error, "sqlite_errorcode", None)
        if isinstance(code, int):
            return code & 0xFF
        error = getattr(error, "orig", None) or error.__cause__
        seen += 1
    return None


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


def _sqlite_refusal(database: str | None, error: StorageError) -> MetricscoreError | None:
    """A clear error when a SQLite file cannot be used at all (``None`` otherwise): a
    ConfigurationError for a path that cannot work, a StorageError for a corrupt file."""
    code = _sqlite_code(error)
    uri = database is not None and database.startswith("file:")
    path = database if uri or not database else os.path.abspath(database)
    directory = None if uri or not path else os.path.dirname(path)
    if code == _SQLITE_CANTOPEN and directory and not os.path.isdir(directory):
        reason = f"the directory {directory} does not exist"
    elif code == _SQLITE_CANTOPEN and path and os.path.isdir(path):
        reason = "it is a directory"
    elif code == _SQLITE_CANTOPEN:
        reason = "SQLite cannot open or create it (may this process create files in its directory?)"
    elif code == _SQLITE_READONLY:
        reason = (
            "it is read-only; metricscore writes to it, and SQLite keeps -wal and -shm files beside it, "
            "so the file and its directory must be writable"
        )
    elif code == _SQLITE_PERM:
        reason = "permission denied"
    elif code == _SQLITE_NOTADB:
        return StorageError(
            f"Cannot use the SQLite database {path}: the file is not a SQLite database (or is corrupt)."
        )
    else:
        return None
    return ConfigurationError(f"Cannot use the SQLite database {path}: {reason}. ({error.message})")


_decode_json = json.JSONDecoder().decode
#: How many records one repository remembers as read (a long batch clears and starts over).
_READS_KEPT = 64
_CONTAINERS = frozenset((dict, list))


def _same(new: Any, old: Any) -> bool:
    """``new`` would be stored exactly as ``old`` is: equal, of the same types all the way down,
    objects with their keys in the same order, floats of the same sign (``0.0`` and ``-0.0``)."""
    kind = type(new)
    if kind is not type(old):
        return False
    if kind is dict:
        return list(new) == list(old) and all(_same(value, old[key]) for key, value in new.items())
    if kind is list or kind is tuple:
        return len(new) == len(old) and all(_same(a, b) for a, b in zip(new, old, strict=True))
    if kind is float:
        return bool(new == old) and str(new) == str(old)
    return bool(new == old)


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


class SQLUnitOfWork:
    """One transaction on one connection."""

    def __init__(
        self, backend: SQLBackend, connection: Connection, autocommit: _Pinned | None = None, driver: Any = None
    ) -> None:
        self.backend = backend
        self.connection = connection
        #: the driver connection of a SQLite read unit running in autocommit mode
        self._driver = driver
        #: that unit began a transaction on the driver (at its first write)
        self.driver_began = False
        self.locked = False
        #: a write unit: its repositories remember what ``get`` read, for ``update`` to compare
        self.write = False
        self._repositories: dict[str, SQLRepository] = {}
        self._new: list[Statements] = []
        #: the thread connection while this (read-only) unit runs in autocommit mode
        self._autocommit = autocommit

    def writing(self) -> None:
        """Called before any write or DDL: a unit reading in autocommit mode starts a transaction
        (its earlier reads saw, statement by statement, what a READ COMMITTED one would have)."""
        pinned = self._autocommit
        if pinned is not None:
            self._autocommit = None
            self.backend._set_autocommit(pinned, False)
        if self._driver is not None and not self.driver_began:
            self.backend._driver_sql(self._driver, "BEGIN")
            self.driver_began = True

    def repository(self, table: Table) -> SQLRepository:
        found = self._repositories.get(table.name)
        if found is None:
            state = self.backend.known_statements(table)
            if state is None:
                self.writing()  # the tables may have to be created
                state, new = self.backend.statements(table, self.connection)
                if new:
                    self._new.append(state)
            found = self._repositories[table.name] = SQLRepository(self, state)
        return found

    def committed(self) -> None:
        for state in self._new:
            self.backend.remember(state)


class SQLRepository:
    """One table through one unit of work. Every statement runs in the unit's transaction."""

    def __init__(self, uow: SQLUnitOfWork, statements: Statements) -> None:
        self._uow = uow
        self._conn = uow.connection
        self._constraints = uow.backend.constraints
        self._s = statements
        self._spec = statements.tables.spec
        self._pg = uow.backend.dialect == "postgresql"
        self._dialect = uow.backend.engine.dialect
        #: id -> the stored columns of a record this unit read and holds locked (see ``update``)
        self._read: dict[str, Record] = {}
        #: the next ``get`` reads with ``FOR UPDATE`` (the first of a PostgreSQL write unit)
        self._lock_first = uow.write and self._pg

    def _execute(self, statement: Any, params: Any = None) -> sa.CursorResult[Any]:
        with translate_errors(self._constraints):
            return self._conn.execute(statement, params)

    def _select(self, statement: sa.Select[Any], params: dict[str, Any]) -> Sequence[Any]:
        """Every row of a SELECT, converted as SQLAlchemy converts them.

        Runs on the driver's cursor with the statement compiled once (see
        :class:`~metricscore.backends.sql.statements.RawStatement`), inside the unit's
        transaction. Statements that need SQLAlchemy's parameter expansion, and every statement
        while the engine logs statements (``echo``) or has connection event listeners, go
        through SQLAlchemy instead.
        """
        connection = self._conn
        raw = self._s.raw(statement, self._dialect)
        if raw is None or not SQLBackend._driver_ok(connection):
            # SQLAlchemy runs it: statement logging and cursor events see every statement
            return list(self._execute(statement, params).all())
        # a SQLite read unit runs on its driver connection already, in its own mode
        dbapi_connection, cursor = self._cursor(self._uow._driver)
        try:
            if raw.no_prepare:
                cursor.execute(raw.sql, raw.arguments(params), prepare=False)
            else:
                cursor.execute(raw.sql, raw.arguments(params))
            rows = cursor.fetchall()
            return raw.rows(rows, cursor.description)
        except Exception as error:
            self._driver_failed(error, dbapi_connection, cursor, raw.sql)
            raise
        finally:
            cursor.close()

    def _cursor(self, driver: Any) -> tuple[Any, Any]:
        """The driver connection (``driver`` when given) and a cursor on it, in the unit's
        transaction: when the driver will begin one implicitly, SQLAlchemy is told, so that it
        commits it when the unit ends."""
        connection = self._conn
        try:
            if driver is None:
                if self._uow._autocommit is None and not connection.in_transaction():
                    connection.begin()
                driver = connection.connection.dbapi_connection
                assert driver is not None
            return driver, driver.cursor()
        except sa.exc.SQLAlchemyError as error:
            with translate_errors(self._constraints):
                raise error

    def _write(self, statement: Any, params: dict[str, Any] | list[dict[str, Any]]) -> tuple[int, Any]:
        """Run a write (``params``: one row's, or a list for many rows) on the driver's cursor,
        compiled once per set of parameter names, in the unit's transaction; returns the row
        count and the first row returned (``RETURNING``), or ``None``. Through SQLAlchemy when
        the engine logs statements or has listeners, as :meth:`_select`."""
        connection = self._conn
        if not SQLBackend._driver_ok(connection):
            result = self._execute(statement, params)
            return result.rowcount, result.first() if result.returns_rows else None
        rows = params if isinstance(params, list) else None
        raw = self._s.raw_write(statement, self._dialect, rows[0] if rows is not None else params)
        dbapi_connection, cursor = self._cursor(None)
        try:
            if rows is not None:
                cursor.executemany(raw.sql, [raw.arguments(each) for each in rows])
            else:
                cursor.execute(raw.sql, raw.arguments(cast(dict[str, Any], params)))
            first = cursor.fetchone() if cursor.description is not None else None
            return cursor.rowcount, first
        except Exception as error:
            self._driver_failed(error, dbapi_connection, cursor, raw.sql)
            raise
        finally:
            cursor.close()

    def _driver_failed(self, error: Exception, dbapi_connection: Any, cursor: Any, sql: str) -> None:
        """A driver error on the raw path, handled as SQLAlchemy handles one: a lost server
        connection invalidates the connection, and the error is SQLAlchemy's wrapper of it,
        translated (a StorageError chained to it)."""
        dialect = self._dialect
        if not isinstance(error, dialect.loaded_dbapi.Error):
            return
        lost = bool(dialect.is_disconnect(error, dbapi_connection, cursor))
        if lost:
            self._conn.invalidate(error)
        wrapped = sa.exc.DBAPIError.instance(
            sql, None, error, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
        )
        with translate_errors(self._constraints):
            raise wrapped from error

    # -- reads -------------------------------------------------------------------------------

    def get(self, scope: Scope, id: str) -> Record | None:
        if type(id) is not str:
            return None
        statement = self._s.get
        locked = self._uow.locked
        if self._lock_first:  # PostgreSQL: a write unit's first read locks its row (see update)
            self._lock_first = False
            statement, locked = self._s.get_for_update, True
        rows = self._select(statement, self._s.key_params(scope, id))
        if not rows:
            return None
        record = FreshRecord(zip(self._s.names, rows[0], strict=True))
        if locked:
            self._remember(id, record)
        return record

    def _remember(self, id: str, record: Record) -> None:
        """``record`` is stored as it is and stays so until this unit ends (its row is locked)."""
        if len(self._read) >= _READS_KEPT:
            self._read.clear()
        self._read[id] = {name: copy_json(v) if type(v) in _CONTAINERS else v for name, v in record.items()}

    def find(self, scope: Scope, query: Query) -> list[Record]:
        built = self._s.find(scope, query)
        if built is None:
            return []
        statement, params = built
        names = self._s.names
        return [FreshRecord(zip(names, row, strict=True)) for row in self._select(statement, params)]

    def find_with_count(self, scope: Scope, query: Query) -> tuple[list[Record], int]:
        """``(find(scope, query), count(scope, query.filters))`` in one statement."""
        built = self._s.find(scope, query, counted=True)
        if built is None:
            return [], 0
        statement, params = built
        rows = self._select(statement, params)
        if not rows:  # the total rides on the rows: past the end of the results, ask for it
            positioned = query.offset > 0 or query.after is not None
            return [], self.count(scope, query.filters) if positioned else 0
        names = self._s.names
        # the count rides last on each row: zip stops before it
        return [FreshRecord(zip(names, row, strict=False)) for row in rows], int(rows[0][-1])

    def count(self, scope: Scope, filters: tuple[Filter, ...]) -> int:
        built = self._s.count(scope, filters)
        if built is None:
            return 0
        statement, params = built
        return int(self._select(statement, params)[0][0])

    # -- writes ------------------------------------------------------------------------------

    def _values(self, scope: Scope, record: Record) -> dict[str, Any]:
        values = {name: record.get(name) for name in self._s.names}
        for column in self._spec.scope:
            values[column] = scope[column]
        for name, folded in self._s.tables.folded.items():
            value = values[name]
            values[folded.name] = fold_case(value) if isinstance(value, str) else None
        return values

    def _write_tags(self, scope: Scope, record: Record, replace: bool) -> None:
        id_value = record[self._spec.id_column]
        for name in self._s.tables.tags:
            if replace:
                self._write(self._s.tag_delete[name], self._s.key_params(scope, id_value))
            tags = list(dict.fromkeys(record.get(name) or ()))
            if tags:
                base = {column: scope[column] for column in self._spec.scope}
                base[self._spec.id_column] = id_value
                self._write(self._s.tag_insert[name], [{**base, TAG: tag} for tag in tags])

    def insert(self, scope: Scope, record: Record) -> None:
        self._uow.writing()
        self._read.pop(record[self._spec.id_column], None)
        values = self._values(scope, record)
        for _attempt in range(5):
            _count, returned = self._write(self._s.insert, values)
            if not self._pg or returned is not None:
                break
            # PostgreSQL: ON CONFLICT DO NOTHING refused the row; say which key is taken.
            fields = self._taken(scope, values)
            if fields is not None:
                raise Conflict("A record with these values already exists.", fields=fields)
            # The holder was deleted meanwhile: try again.
        else:  # pragma: no cover - needs a writer racing five times in a row
            raise StorageError("The insert kept conflicting with concurrent writers.")
        self._write_tags(scope, record, replace=False)

    def _taken(self, scope: Scope, values: dict[str, Any]) -> tuple[str, ...] | None:
        id_column = self._spec.id_column
        if self._execute(self._s.exists, self._s.key_params(scope, values[id_column])).first():
            return (id_column,)
        for key in self._spec.unique_keys:
            key_values = {f"_k_{c}": values[c] for c in key.columns}
            if None in key_values.values():
                continue
            params = {**self._s.key_params(scope, None), **key_values}
            del params["_id"]
            if self._execute(self._s.key_exists[key.name], params).first():
                return key.columns
        return None

    def update(self, scope: Scope, record: Record) -> None:
        self._uow.writing()
        values = self._values(scope, record)
        id_column = self._spec.id_column
        params = {k: v for k, v in values.items() if k not in self._spec.scope and k != id_column}
        changed = self._changed(record[id_column], params)
        if changed is not None:  # only the columns that differ from what this unit read
            params = {name: params[name] for name in changed}
        params.update(self._s.key_params(scope, record[id_column]))
        unique = {column for key in self._spec.unique_keys for column in key.columns}
        if self._pg and unique and (changed is None or not unique.isdisjoint(changed)):
            # PostgreSQL aborts the whole transaction on an error; a savepoint keeps it usable
            # after a Conflict, as on the other databases. An update that leaves every unique
            # column as it is cannot conflict: the row already holds those values.
            with translate_errors(self._constraints), self._conn.begin_nested():
                result = self._conn.execute(self._s.update, params)
            count = result.rowcount
        else:
            count, _returned = self._write(self._s.update, params)
        if count == 0:
            raise Conflict("The record no longer exists.", fields=(id_column,))
        tags = self._s.tables.tags
        if tags and (changed is None or not changed.isdisjoint(tags)):
            self._write_tags(scope, record, replace=True)
        read = self._read.get(record[id_column])
        if read is not None:  # what the row holds now (still locked)
            for name in read if changed is None else changed & read.keys():
                value = values[name]
                read[name] = copy_json(value) if type(value) in _CONTAINERS else value

    def _changed(self, id: Any, params: dict[str, Any]) -> set[str] | None:
        """The columns of ``params`` whose values differ from those this unit read for ``id``
        (a folded copy changes with its column), or ``None``: write them all.

        Only for a record this unit holds locked (every read of a SQLite write unit; the first
        read of a PostgreSQL one, ``FOR UPDATE``), so what it read is what is stored. The UPDATE
        then sets only those columns and a tag list that did not change keeps its rows. Values
        compare strictly (``1`` is not ``1.0``, key order counts): a value is only left alone
        when it would be written as it is. ``None`` when the unit holds no such read of the
        record, or nothing would change.
        """
        read = self._read.get(id)
        if read is None:
            return None
        changed = {name for name, value in params.items() if name not in read or not _same(value, read[name])}
        for name, folded in self._s.tables.folded.items():
            if name in changed:
                changed.add(folded.name)
            else:
                changed.discard(folded.name)
        return changed or None

    def delete(self, scope: Scope, id: str) -> bool:
        if type(id) is not str:
            return False
        self._uow.writing()
        self._read.pop(id, None)
        params = self._s.key_params(scope, id)
        count, _returned = self._write(self._s.delete, params)
        if count == 0:
            return False
        for name in self._s.tables.tags:
            self._write(self._s.tag_delete[name], params)
        return True
