"""The SQL backend: SQLite (embedded default), PostgreSQL and MariaDB/MySQL via SQLAlchemy 2 Core.

:class:`SQLBackend` opens the engine (:meth:`~SQLBackend.from_url`), runs units of work and
creates and remembers each table's statements. The connections are kept in :mod:`.connections`,
the unit of work's repository is :mod:`.repository`, and every database call goes through
:func:`~metricscore.backends.sql.errors.translate_errors`.

One unit of work is one connection and one transaction. SQLite write transactions start with
``BEGIN IMMEDIATE`` (the write lock is taken up front, so two writers never deadlock on the lock
upgrade; the busy timeout makes the second one wait). Each thread keeps one connection
(:class:`~.connections.ThreadConnections`). On PostgreSQL at ``READ COMMITTED``, read-only units
run their statements in autocommit mode: each statement sees what was committed before it began,
exactly as inside a ``READ COMMITTED`` transaction, without the ``BEGIN`` and ``COMMIT`` round
trips; the first write (or DDL) in such a unit starts a real transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from contextlib import suppress
from typing import Any, NoReturn, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from metricscore.errors import ConfigurationError, MetricscoreError, StorageError
from metricscore.repository import Record, Scope
from metricscore.table import TableSpec

from . import connections
from .connections import (
    SQLITE_BUSY_TIMEOUT,
    STATEMENT_SNAPSHOT_LEVELS,
    PinnedConnection,
    ThreadConnections,
    install_connect_hooks,
    may_bypass_sqlalchemy,
)
from .errors import ConstraintMap, sqlite_refusal, translate_driver_error, translate_errors
from .migrate import current_revision, schema_lock, upgrade
from .repository import SQLRepository, SQLUnitOfWork, driver_read_key
from .schema import create_table_objects, sql_table
from .statements import Statements

__all__ = ["SQLBackend", "SQLRepository"]

_EXTRAS = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql", "sqlite": "sql"}
#: The driver each server's extra installs (SQLAlchemy's default for ``mysql://`` is another one).
_DRIVERS = {"postgresql": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}


class SQLBackend:
    """A metricscore backend on any SQLAlchemy engine (see :meth:`from_url`)."""

    def __init__(self, engine: Engine, *, create_schema: bool = True) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.create_schema = create_schema
        self.constraints = ConstraintMap()
        #: the statements of each table in use, by table name (see :meth:`known_statements`)
        self._statements_by_table: dict[str, Statements] = {}
        #: the same, by ``id()`` of the table spec last seen for them
        self._statements_by_spec_id: dict[int, Statements] = {}
        #: those specs, kept alive so that their ids are not reused while remembered
        self._remembered_specs: list[TableSpec] = []
        self._statements_lock = threading.Lock()
        # One shared connection (in-memory SQLite): units of work take turns.
        self._shared_connection_turn: threading.RLock | None = (
            threading.RLock() if isinstance(engine.pool, StaticPool) else None
        )
        self._closed = False
        #: every thread's own connection
        self.connections = ThreadConnections(engine, self.constraints)
        self._autocommit_reads = (
            self.dialect == "postgresql" and self.connections.isolation in STATEMENT_SNAPSHOT_LEVELS
        )
        #: ``get_one`` may run its SELECT on the thread's own connection, outside a unit of work
        direct = self.dialect == "sqlite" or self._autocommit_reads
        self._direct_reads = direct and self._shared_connection_turn is None
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
            if "connect_timeout" not in parsed.query:
                connect_args.setdefault("connect_timeout", connections.SERVER_CONNECT_TIMEOUT)
        if not memory and "poolclass" not in options and "pool" not in options:
            # Each thread holds one connection for its lifetime: threads must never queue for one.
            options.setdefault("max_overflow", -1)
        try:
            engine = sa.create_engine(parsed, connect_args=connect_args, **options)
        except ImportError as error:
            extra = _EXTRAS.get(backend_name, "sql")
            ours = _DRIVERS.get(backend_name)
            if ours is not None and parsed.get_driver_name() != ours:
                raise ConfigurationError(
                    f"The database driver for {parsed.drivername!r} is not installed ({error}); "
                    f"metricscore's [{extra}] extra installs {ours}: write {backend_name}+{ours}://..."
                ) from error
            raise ConfigurationError(
                f"The database driver for {parsed.drivername!r} is not installed: "
                f"pip install 'metricscore[{extra}]' ({error})"
            ) from error
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as error:
            raise ConfigurationError(f"Cannot use {url!r}: {error}") from error
        install_connect_hooks(engine)
        try:
            return cls(engine, create_schema=create_schema)
        except StorageError as error:
            engine.dispose()
            raise _refused(engine, error) from error
        except BaseException:
            engine.dispose()
            raise

    def schema_revision(self) -> str | None:
        """The migration revision of the database's schema; ``None`` when it has no metricscore
        schema (an empty database). Reads only: a program that must not create tables (a read-only
        command) opens with ``create_schema=False`` and asks this first."""
        try:
            with translate_errors(self.constraints), self.engine.connect() as connection:
                revision = current_revision(connection)
                connection.rollback()
        except StorageError as error:
            raise _refused(self.engine, error) from error
        return revision

    # -- units of work -----------------------------------------------------------------------

    def unit_of_work(self, *, write: bool = True) -> _GeneratorUnit:
        return _GeneratorUnit(self._unit_of_work(write))

    def _unit_of_work(self, write: bool) -> Iterator[SQLUnitOfWork]:
        if self._closed:
            raise StorageError("The store is closed.")
        if self._shared_connection_turn is not None:
            with self._shared_connection_turn:
                yield from self._transaction_on_own_connection(write)
            return
        pinned = self.connections.of_this_thread()
        if pinned is None:  # a unit of work inside another one on this thread: a connection of its own
            yield from self._transaction_on_own_connection(write)
            return
        pinned.busy = True
        try:
            yield from self._transaction(pinned.connection, pinned, write)
        finally:
            self.connections.done(pinned, closing=self._closed)

    def _transaction_on_own_connection(self, write: bool) -> Iterator[SQLUnitOfWork]:
        with translate_errors(self.constraints):
            connection = self.engine.connect()
        try:
            yield from self._transaction(connection, None, write)
        finally:
            with suppress(sa.exc.SQLAlchemyError):
                connection.close()

    def _transaction(
        self, connection: Connection, pinned: PinnedConnection | None, write: bool
    ) -> Iterator[SQLUnitOfWork]:
        """One transaction on ``connection`` around the unit's body (the generator's one yield)."""
        autocommit = False
        driver: Any = None
        try:
            if self.dialect == "sqlite" and may_bypass_sqlalchemy(connection):
                # On the driver, without SQLAlchemy's transaction bookkeeping. A read runs
                # statement by statement in SQLite's autocommit mode (each sees what was committed
                # before it began, as PostgreSQL's reads below); a write in it begins a
                # transaction. A write unit takes the write lock at once.
                driver = connection.connection.dbapi_connection
                if write:  # SQLAlchemy knows of the transaction: it commits it, as it would its own
                    try:
                        connection.begin()
                    except sa.exc.SQLAlchemyError as error:
                        self._translated(error)
                    try:
                        self.driver_statement(driver, "BEGIN IMMEDIATE")
                    except BaseException:
                        with suppress(sa.exc.SQLAlchemyError):
                            connection.rollback()
                        raise
            elif self.dialect == "sqlite":
                with translate_errors(self.constraints):
                    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
            elif pinned is not None:
                autocommit = self._autocommit_reads and not write
                if pinned.autocommit != autocommit:
                    self.connections.set_autocommit(pinned, autocommit)
            uow = SQLUnitOfWork(self, connection, pinned if autocommit else None, driver)
            uow.driver_began = driver is not None and write
            #: SQLite's write lock is held from the start: what this unit reads stays current
            uow.write_locked = self.dialect == "sqlite" and write
            uow.write = write
            try:
                yield uow
            except BaseException as error:
                # If the connection is gone, the original error is still the one to report.
                try:
                    if uow.driver_began and not connection.in_transaction():
                        self.driver_statement(driver, "ROLLBACK")
                    else:
                        connection.rollback()
                except (sa.exc.SQLAlchemyError, StorageError):
                    self.connections.lost(pinned, connection)
                if not isinstance(error, Exception) and pinned is not None:
                    pinned.generation = -1  # interrupted mid-call: the protocol state is unknown
                raise
            try:
                if driver is not None and not connection.in_transaction():
                    if uow.driver_began:
                        self.driver_statement(driver, "COMMIT")
                else:
                    try:
                        connection.commit()
                    except sa.exc.SQLAlchemyError as error:
                        self._translated(error)
            except BaseException:
                with suppress(sa.exc.SQLAlchemyError, StorageError):
                    if uow.driver_began and not connection.in_transaction():
                        self.driver_statement(driver, "ROLLBACK")
                    else:
                        connection.rollback()
                raise
            uow.committed()
        finally:
            if connection.invalidated:
                self.connections.lost(pinned, connection)

    def _translated(self, error: sa.exc.SQLAlchemyError) -> NoReturn:
        """Raise ``error`` as ``translate_errors`` would (here rather than a ``with`` block
        around every unit of work's begin and commit, which costs on the hot path)."""
        with translate_errors(self.constraints):
            raise error
        raise AssertionError("unreachable")  # pragma: no cover - translate_errors always raises

    def get_one(self, table: TableSpec, scope: Scope, id: Any) -> Record | None:
        """``unit_of_work(write=False)``'s ``repository(table).get(scope, id)``, in one statement.

        A read-only capability the service uses for ``get`` outside a batch. Where the unit's read
        would run its one SELECT on this thread's connection in autocommit mode anyway (SQLite;
        PostgreSQL at ``READ COMMITTED``), the statement runs there directly on the driver's
        cursor, without building a unit of work and a repository; otherwise (MariaDB/MySQL, the
        shared in-memory SQLite connection, a thread whose connection is in use by an open unit
        of work, tables not yet known, statement logging or listeners) through the unit of work.
        """
        statements = self.known_statements(table)
        pinned = None
        if self._direct_reads and statements is not None and not self._closed:
            pinned = self.connections.of_this_thread()
        if pinned is None or not may_bypass_sqlalchemy(pinned.connection):
            with self.unit_of_work(write=False) as uow:
                return uow.repository(table).get(scope, id)
        assert statements is not None
        if type(id) is not str:
            return None
        connection = pinned.connection
        reader = statements.key_read(connection.dialect)
        assert reader is not None  # the key's binds are plain
        pinned.busy = True
        try:
            if self._autocommit_reads and not pinned.autocommit:
                self.connections.set_autocommit(pinned, True)
            try:
                dbapi_connection: Any = connection.connection.dbapi_connection
            except sa.exc.SQLAlchemyError as error:
                with translate_errors(self.constraints):
                    raise error
            cursor = dbapi_connection.cursor()
            return driver_read_key(reader, scope, id, dbapi_connection, cursor, connection, self.constraints)
        except BaseException as error:
            if not isinstance(error, Exception):
                pinned.generation = -1  # interrupted mid-call: the protocol state is unknown
            raise
        finally:
            if connection.invalidated:
                self.connections.lost(pinned, connection)
            self.connections.done(pinned, closing=self._closed)

    def driver_statement(self, dbapi_connection: Any, sql: str) -> None:
        """A transaction statement on the driver, its errors translated as SQLAlchemy's are."""
        try:
            dbapi_connection.execute(sql)
        except Exception as error:
            translate_driver_error(error, self.engine.dialect, self.constraints, sql)
            raise

    def close(self) -> None:
        self._closed = True
        self.connections.close()
        self.engine.dispose()

    # -- tables --------------------------------------------------------------------------------

    def evaluate_events(self, dataset: str, plan: Any) -> list[Any]:
        """Evaluation pushdown: ``plan`` (metricscore.evaluation.plan) over the built-in events of
        ``dataset``, aggregated by the database (see .evaluation)."""
        from .evaluation import run_on_builtin

        return run_on_builtin(self, dataset, plan)

    def find_events(self, dataset: str, query: Any) -> list[Any]:
        """The built-in events of ``dataset`` that ``query`` (metricscore.evaluation.events.EventQuery)
        selects, selected and ordered by the database."""
        from .evaluation import find_builtin_events

        return find_builtin_events(self, dataset, query)

    def count_events(self, dataset: str, query: Any) -> int:
        """How many built-in events of ``dataset`` pass ``query``'s filters, counted by the database."""
        from .evaluation import count_builtin_events

        return count_builtin_events(self, dataset, query)

    def has_statements(self, spec: TableSpec) -> bool:
        return self.known_statements(spec) is not None

    def known_statements(self, spec: TableSpec) -> Statements | None:
        """The remembered statements for ``spec``, or ``None`` (found by identity first: a
        table spec is usually one long-lived object, and comparing specs field by field costs)."""
        found = self._statements_by_table.get(spec.name)
        if found is None:
            return None
        if self._statements_by_spec_id.get(id(spec)) is found:
            return found
        if found.sql_table.spec is spec or found.sql_table.spec == spec:
            self._statements_by_spec_id[id(spec)] = found
            self._remembered_specs.append(spec)
            return found
        return None

    def statements(self, spec: TableSpec, connection: Connection) -> tuple[Statements, bool]:
        """The statements for ``spec``; creates its tables first if missing (tables outside the
        migration catalogue, with ``create_schema``). The flag says they are new in this
        transaction (kept only once it commits)."""
        found = self.known_statements(spec)
        if found is not None:
            return found, False
        table = sql_table(spec)
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
            if self.dialect == "sqlite" and table.folded:
                fts = bool(
                    connection.exec_driver_sql(
                        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table.fts_name,)
                    ).first()
                )
        self.constraints.add(spec.name, table.constraint_fields, table.constraint_columns)
        statements = Statements(table, self.dialect, fts)
        if not new:
            with self._statements_lock:
                self._statements_by_table[spec.name] = statements
        return statements, new

    def _ensure_tables(self, connection: Connection, spec: TableSpec) -> bool:
        if sa.inspect(connection).has_table(spec.name):
            return False
        if not self.create_schema:
            raise StorageError(
                f"The table {spec.name!r} does not exist (the schema is missing or older than this metricscore); "
                "upgrade it with `metricscore migrate --url URL` or `python -m metricscore.backends.sql migrate URL`."
            )
        with schema_lock(connection):
            if sa.inspect(connection).has_table(spec.name):
                return False
            create_table_objects(connection, spec)
        return True

    def remember(self, statements: Statements) -> None:
        """Keep ``statements`` (of tables created by a unit of work that has now committed)."""
        with self._statements_lock:
            self._statements_by_table[statements.sql_table.spec.name] = statements


class _GeneratorUnit:
    """The context manager of :meth:`SQLBackend.unit_of_work`: it drives the generator's one
    yield exactly as ``contextlib.contextmanager`` drives it, without its per-call set-up (it
    wraps every service call)."""

    __slots__ = ("_generator",)

    def __init__(self, generator: Iterator[SQLUnitOfWork]) -> None:
        self._generator = generator

    def __enter__(self) -> SQLUnitOfWork:
        try:
            return next(self._generator)
        except StopIteration:  # pragma: no cover - the generator always yields or raises
            raise RuntimeError("generator didn't yield") from None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        # Never suppresses (so type checkers keep their narrowing after a ``with``): the generator
        # re-raises whatever is thrown into it, or raises its own error.
        generator = cast(Generator[SQLUnitOfWork, None, None], self._generator)
        if kind is None:
            try:
                next(generator)
            except StopIteration:
                return
            raise RuntimeError("generator didn't stop")  # pragma: no cover - one yield
        if error is None:  # pragma: no cover - ``with`` always passes the exception itself
            error = kind()
        try:
            generator.throw(error)
        except StopIteration:  # pragma: no cover - a generator that swallowed the error: a bug, said loudly
            raise RuntimeError("the unit of work swallowed an error") from error
        except RuntimeError as raised:
            # as contextlib: a StopIteration thrown in comes back as a RuntimeError caused by it
            if raised is error or (isinstance(error, StopIteration) and raised.__cause__ is error):
                error.__traceback__ = tb
                return
            raise
        except BaseException as raised:
            if raised is not error:
                raise
            error.__traceback__ = tb
            return
        raise RuntimeError("generator didn't stop after throw()")  # pragma: no cover - one yield


def _refused(engine: Engine, error: StorageError) -> MetricscoreError:
    """The error of a database ``engine`` could not be used through: for a SQLite file, what is
    wrong with it (see :func:`~.errors.sqlite_refusal`), else ``error`` itself."""
    url = engine.url
    file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    return (sqlite_refusal(url.database, error) if file else None) or error
