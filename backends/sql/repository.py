"""The SQL backend's unit of work (one transaction on one connection) and repository (one table
through it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from metricscore.errors import Conflict, StorageError
from metricscore.query import Filter, Query, fold_case
from metricscore.repository import Record, Scope
from metricscore.table import Table

from .connections import PinnedConnection, may_bypass_sqlalchemy
from .errors import translate_driver_error, translate_errors
from .schema import TAG
from .statements import Statements

if TYPE_CHECKING:
    from .backend import SQLBackend

__all__ = ["SQLRepository", "SQLUnitOfWork"]


class SQLUnitOfWork:
    """One transaction on one connection."""

    def __init__(
        self,
        backend: SQLBackend,
        connection: Connection,
        autocommit_connection: PinnedConnection | None = None,
        driver_connection: Any = None,
    ) -> None:
        self.backend = backend
        self.connection = connection
        #: the driver connection of a SQLite read unit running in autocommit mode
        self._driver_connection = driver_connection
        #: that unit began a transaction on the driver (at its first write)
        self.driver_began = False
        #: SQLite's write lock is held from the start: what this unit reads stays current
        self.write_locked = False
        self._repositories: dict[str, SQLRepository] = {}
        #: statements of tables this unit created: the backend keeps them once it commits
        self._new_statements: list[Statements] = []
        #: the thread connection while this (read-only) unit runs in autocommit mode
        self._autocommit_connection = autocommit_connection

    def writing(self) -> None:
        """Called before any write or DDL: a unit reading in autocommit mode starts a transaction
        (its earlier reads saw, statement by statement, what a READ COMMITTED one would have)."""
        pinned = self._autocommit_connection
        if pinned is not None:
            self._autocommit_connection = None
            self.backend.connections.set_autocommit(pinned, False)
        if self._driver_connection is not None and not self.driver_began:
            self.backend.driver_statement(self._driver_connection, "BEGIN")
            self.driver_began = True

    def repository(self, table: Table) -> SQLRepository:
        found = self._repositories.get(table.name)
        if found is None:
            statements = self.backend.known_statements(table)
            if statements is None:
                self.writing()  # the tables may have to be created
                statements, new = self.backend.statements(table, self.connection)
                if new:
                    self._new_statements.append(statements)
            found = self._repositories[table.name] = SQLRepository(self, statements)
        return found

    def committed(self) -> None:
        for statements in self._new_statements:
            self.backend.remember(statements)


class SQLRepository:
    """One table through one unit of work. Every statement runs in the unit's transaction."""

    def __init__(self, uow: SQLUnitOfWork, statements: Statements) -> None:
        self._uow = uow
        self._connection = uow.connection
        self._constraints = uow.backend.constraints
        self._statements = statements
        self._spec = statements.sql_table.spec
        self._postgresql = uow.backend.dialect == "postgresql"
        self._dialect = uow.backend.engine.dialect
        self._read_tags: tuple[str, dict[str, tuple[Any, ...]]] | None = None

    def _execute(self, statement: Any, params: Any = None) -> sa.CursorResult[Any]:
        with translate_errors(self._constraints):
            return self._connection.execute(statement, params)

    def _select(self, statement: sa.Select[Any], params: dict[str, Any]) -> Sequence[Any]:
        """Every row of a SELECT, converted as SQLAlchemy converts them.

        Runs on the driver's cursor with the statement compiled once (see
        :class:`~metricscore.backends.sql.statements.RawStatement`), inside the unit's
        transaction. Statements that need SQLAlchemy's parameter expansion, and every statement
        while the engine logs statements (``echo``) or has connection event listeners, go
        through SQLAlchemy instead.
        """
        connection = self._connection
        raw = self._statements.raw(statement, self._dialect)
        if raw is None or not may_bypass_sqlalchemy(connection):
            # SQLAlchemy runs it: statement logging and cursor events see every statement
            return list(self._execute(statement, params).all())
        uow = self._uow
        if uow._autocommit_connection is None and uow._driver_connection is None and not connection.in_transaction():
            connection.begin()  # the driver begins implicitly: let SQLAlchemy commit it
        try:
            dbapi_connection = connection.connection.dbapi_connection
            assert dbapi_connection is not None
            cursor: Any = dbapi_connection.cursor()
        except sa.exc.SQLAlchemyError as error:
            with translate_errors(self._constraints):
                raise error
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

    def _driver_failed(self, error: Exception, dbapi_connection: Any, cursor: Any, sql: str) -> None:
        """A driver error on the raw path, handled as SQLAlchemy handles one: a lost server
        connection invalidates the connection, and the error is SQLAlchemy's wrapper of it,
        translated (a StorageError chained to it)."""
        dialect = self._dialect
        if not isinstance(error, dialect.loaded_dbapi.Error):
            return
        lost = bool(dialect.is_disconnect(error, dbapi_connection, cursor))
        if lost:
            self._connection.invalidate(error)
        translate_driver_error(error, dialect, self._constraints, sql, invalidated=lost)

    # -- reads -------------------------------------------------------------------------------

    def get(self, scope: Scope, id: str) -> Record | None:
        if type(id) is not str:
            return None
        rows = self._select(self._statements.get, self._statements.key_params(scope, id))
        if not rows:
            return None
        record = dict(zip(self._statements.names, rows[0], strict=True))
        if self._uow.write_locked and self._statements.sql_table.tags:
            self._read_tags = (id, {name: tuple(record.get(name) or ()) for name in self._statements.sql_table.tags})
        return record

    def find(self, scope: Scope, query: Query) -> list[Record]:
        built = self._statements.find(scope, query)
        if built is None:
            return []
        statement, params = built
        names = self._statements.names
        return [dict(zip(names, row, strict=True)) for row in self._select(statement, params)]

    def find_with_count(self, scope: Scope, query: Query) -> tuple[list[Record], int]:
        """``(find(scope, query), count(scope, query.filters))`` in one statement."""
        built = self._statements.find(scope, query, counted=True)
        if built is None:
            return [], 0
        statement, params = built
        rows = self._select(statement, params)
        if not rows:  # the total rides on the rows: past the end of the results, ask for it
            positioned = query.offset > 0 or query.after is not None
            return [], self.count(scope, query.filters) if positioned else 0
        names = self._statements.names
        return [dict(zip(names, row[:-1], strict=True)) for row in rows], int(rows[0][-1])

    def count(self, scope: Scope, filters: tuple[Filter, ...]) -> int:
        built = self._statements.count(scope, filters)
        if built is None:
            return 0
        statement, params = built
        return int(self._select(statement, params)[0][0])

    # -- writes ------------------------------------------------------------------------------

    def _values(self, scope: Scope, record: Record) -> dict[str, Any]:
        values = {name: record.get(name) for name in self._statements.names}
        for column in self._spec.scope:
            values[column] = scope[column]
        for name, folded in self._statements.sql_table.folded.items():
            value = values[name]
            values[folded.name] = fold_case(value) if isinstance(value, str) else None
        return values

    def _write_tags(self, scope: Scope, record: Record, replace: bool) -> None:
        id_value = record[self._spec.id_column]
        for name in self._statements.sql_table.tags:
            if replace:
                self._execute(self._statements.tag_delete[name], self._statements.key_params(scope, id_value))
            tags = list(dict.fromkeys(record.get(name) or ()))
            if tags:
                base = {column: scope[column] for column in self._spec.scope}
                base[self._spec.id_column] = id_value
                self._execute(self._statements.tag_insert[name], [{**base, TAG: tag} for tag in tags])

    def insert(self, scope: Scope, record: Record) -> None:
        self._uow.writing()
        values = self._values(scope, record)
        for _attempt in range(5):
            result = self._execute(self._statements.insert, values)
            if not self._postgresql or result.first() is not None:
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
        if self._execute(self._statements.exists, self._statements.key_params(scope, values[id_column])).first():
            return (id_column,)
        for key in self._spec.unique_keys:
            key_values = {f"_k_{c}": values[c] for c in key.columns}
            if None in key_values.values():
                continue
            params = {**self._statements.key_params(scope, None), **key_values}
            del params["_id"]
            if self._execute(self._statements.key_exists[key.name], params).first():
                return key.columns
        return None

    def update(self, scope: Scope, record: Record) -> None:
        self._uow.writing()
        values = self._values(scope, record)
        id_column = self._spec.id_column
        params = {k: v for k, v in values.items() if k not in self._spec.scope and k != id_column}
        params.update(self._statements.key_params(scope, record[id_column]))
        if self._postgresql and self._spec.unique_keys:
            # PostgreSQL aborts the whole transaction on an error; a savepoint keeps it usable
            # after a Conflict, as on the other databases.
            with translate_errors(self._constraints), self._connection.begin_nested():
                result = self._connection.execute(self._statements.update, params)
        else:
            result = self._execute(self._statements.update, params)
        if result.rowcount == 0:
            raise Conflict("The record no longer exists.", fields=(id_column,))
        if self._statements.sql_table.tags and not self._tags_unchanged(record):
            self._write_tags(scope, record, replace=True)

    def _tags_unchanged(self, record: Record) -> bool:
        """The record's tag lists are those this unit read (under SQLite's write lock, so they
        are still the stored ones): the tag rows need no rewrite."""
        read = self._read_tags
        if read is None or read[0] != record[self._spec.id_column]:
            return False
        return all(tuple(record.get(name) or ()) == tags for name, tags in read[1].items())

    def delete(self, scope: Scope, id: str) -> bool:
        if type(id) is not str:
            return False
        self._uow.writing()
        params = self._statements.key_params(scope, id)
        result = self._execute(self._statements.delete, params)
        if result.rowcount == 0:
            return False
        for name in self._statements.sql_table.tags:
            self._execute(self._statements.tag_delete[name], params)
        return True
