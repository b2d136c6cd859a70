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

import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import IsolationLevel
from sqlalchemy.pool import StaticPool

from metricscore.errors import ConfigurationError, StorageError
from metricscore.table import Table

from .connections import (
    _INHERITED,
    _STATEMENT_SNAPSHOT_LEVELS,
    SQLITE_BUSY_TIMEOUT,
    _driver_ok,
    _install_hooks,
    _isolation_level,
    _Pinned,
)
from .errors import ConstraintMap, _sqlite_refusal, translate_errors
from .migrate import schema_lock, upgrade
from .repository import SQLRepository, SQLUnitOfWork
from .schema import create_table_objects, sql_table
from .statements import Statements

__all__ = ["SQLBackend", "SQLRepository"]

_EXTRAS = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql", "sqlite": "sql"}


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
            if self.dialect == "sqlite" and not write and _driver_ok(connection):
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
