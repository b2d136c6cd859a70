"""The SQL backend's unit of work (one transaction on one connection) and repository (one table
through it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from metricscore.errors import Conflict, StorageError
from metricscore.jsonvalue import copy_json
from metricscore.query import Filter, Query, fold_case
from metricscore.repository import FreshRecord, Record, Scope
from metricscore.table import TableSpec

from .connections import PinnedConnection, may_bypass_sqlalchemy
from .errors import ConstraintMap, translate_driver_error, translate_errors
from .schema import TAG
from .statements import KeyRead, RawStatement, Statements, json_text

if TYPE_CHECKING:
    from .backend import SQLBackend

__all__ = ["SQLRepository", "SQLUnitOfWork"]

#: How many records one repository remembers as read (a long batch clears and starts over).
_READS_KEPT = 64
_CONTAINERS = frozenset((dict, list))
#: types whose values ``_same`` compares with ``==`` alone
_SCALARS = frozenset((str, int, bool, type(None), datetime))
_MISSING = object()


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


class _StoredJSON:
    """A JSON column's text as SQLite stores it, kept by a locked read (see ``_changed``)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def driver_select(
    raw: RawStatement,
    params: dict[str, Any],
    dbapi_connection: Any,
    cursor: Any,
    connection: Connection,
    constraints: ConstraintMap,
) -> Sequence[Any]:
    """Every row of the SELECT ``raw`` with ``params``, on the driver's ``cursor`` (closed after),
    converted as SQLAlchemy converts them; a driver error is handled as SQLAlchemy handles one."""
    try:
        if raw.no_prepare:
            cursor.execute(raw.sql, raw.arguments(params), prepare=False)
        else:
            cursor.execute(raw.sql, raw.arguments(params))
        rows = cursor.fetchall()
        return raw.rows(rows, cursor.description)
    except Exception as error:
        driver_failed(error, dbapi_connection, cursor, raw.sql, connection, constraints)
        raise
    finally:
        cursor.close()


def driver_read_key(
    reader: KeyRead,
    scope: Scope,
    id: str,
    dbapi_connection: Any,
    cursor: Any,
    connection: Connection,
    constraints: ConstraintMap,
    rows: list[Any] | None = None,
) -> FreshRecord | None:
    """The record ``reader`` reads for ``scope`` and ``id`` on the driver's ``cursor`` (closed
    after), or ``None``; a driver error is handled as SQLAlchemy handles one. The row as the
    driver returned it is appended to ``rows`` when given."""
    sql = reader.raw.sql
    try:
        cursor.execute(sql, reader.arguments(scope, id))
        row = cursor.fetchone()
        if row is None:
            return None
        if rows is not None:
            rows.append(row)
        return reader.record(row, cursor.description)
    except Exception as error:
        driver_failed(error, dbapi_connection, cursor, sql, connection, constraints)
        raise
    finally:
        cursor.close()


def driver_failed(
    error: Exception, dbapi_connection: Any, cursor: Any, sql: str, connection: Connection, constraints: ConstraintMap
) -> None:
    """A driver error on the raw path, handled as SQLAlchemy handles one: a lost server
    connection invalidates ``connection``, and the error is SQLAlchemy's wrapper of it,
    translated (a StorageError chained to it)."""
    dialect = connection.dialect
    if not isinstance(error, dialect.loaded_dbapi.Error):
        return
    lost = bool(dialect.is_disconnect(error, dbapi_connection, cursor))
    if lost:
        connection.invalidate(error)
    translate_driver_error(error, dialect, constraints, sql, invalidated=lost)


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
        #: the driver connection of a SQLite unit running on the driver (a read unit in
        #: autocommit mode; a write unit in the transaction it began there)
        self._driver_connection = driver_connection
        #: a transaction is open on that driver connection (a write unit's from its start; a
        #: read unit's from its first write)
        self.driver_began = False
        #: SQLite's write lock is held from the start: what this unit reads stays current
        self.write_locked = False
        #: a write unit: its repositories remember what a locked ``get`` read, for ``update``
        self.write = False
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

    def repository(self, table: TableSpec) -> SQLRepository:
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
        #: id -> the stored columns of a record this unit read and holds locked (see ``update``)
        self._read: dict[str, Record] = {}
        #: the next ``get`` reads with ``FOR UPDATE`` (the first of a PostgreSQL write unit)
        self._lock_first = uow.write and self._postgresql
        #: SQLite with SQLAlchemy's own JSON serializer: a locked read keeps the JSON columns'
        #: stored text, and the diff compares the text a write would store (see ``_changed``)
        self._json_columns = (
            statements.json_columns
            if uow.backend.dialect == "sqlite" and self._dialect._json_serializer is None
            else None
        )

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
        # a SQLite read unit runs on its driver connection already, in its own mode
        dbapi_connection, cursor = self._cursor(self._uow._driver_connection)
        return driver_select(raw, params, dbapi_connection, cursor, connection, self._constraints)

    def _cursor(self, driver: Any) -> tuple[Any, Any]:
        """The driver connection (``driver`` when given) and a cursor on it, in the unit's
        transaction: when the driver will begin one implicitly, SQLAlchemy is told, so that it
        commits it when the unit ends."""
        connection = self._connection
        try:
            if driver is None or connection.invalidated:  # invalidated: SQLAlchemy raises its error
                if self._uow._autocommit_connection is None and not connection.in_transaction():
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
        connection = self._connection
        if not may_bypass_sqlalchemy(connection):
            result = self._execute(statement, params)
            return result.rowcount, result.first() if result.returns_rows else None
        rows = params if isinstance(params, list) else None
        raw = self._statements.raw_write(statement, self._dialect, rows[0] if rows is not None else params)
        # a SQLite unit on its driver connection writes there (its transaction began there)
        dbapi_connection, cursor = self._cursor(self._uow._driver_connection)
        try:
            if rows is not None:
                cursor.executemany(raw.sql, [raw.arguments(each) for each in rows])
            else:
                cursor.execute(raw.sql, raw.arguments(cast(dict[str, Any], params)))
            first = cursor.fetchone() if cursor.description is not None else None
            return cursor.rowcount, first
        except Exception as error:
            driver_failed(error, dbapi_connection, cursor, raw.sql, self._connection, self._constraints)
            raise
        finally:
            cursor.close()

    # -- reads -------------------------------------------------------------------------------

    def get(self, scope: Scope, id: str) -> Record | None:
        if type(id) is not str:
            return None
        statement = self._statements.get
        locked = self._uow.write_locked
        if self._lock_first:  # PostgreSQL: a write unit's first read locks its row (see update)
            self._lock_first = False
            statement, locked = self._statements.get_for_update, True
        reader = self._statements.key_read(self._dialect) if statement is self._statements.get else None
        record: Record | None
        stored: list[Any] | None = [] if locked and self._json_columns else None
        if reader is not None and may_bypass_sqlalchemy(self._connection):
            dbapi_connection, cursor = self._cursor(self._uow._driver_connection)
            record = driver_read_key(
                reader, scope, id, dbapi_connection, cursor, self._connection, self._constraints, stored
            )
        else:
            rows = self._select(statement, self._statements.key_params(scope, id))
            record = FreshRecord(zip(self._statements.names, rows[0], strict=True)) if rows else None
        if record is None:
            return None
        if locked:
            self._remember(id, record, stored[0] if stored else None)
        return record

    def _remember(self, id: str, record: Record, row: Sequence[Any] | None) -> None:
        """``record`` is stored as it is and stays so until this unit ends (its row is locked).
        With the ``row`` the driver returned (SQLite), its JSON columns are kept as their stored
        text rather than copied."""
        if len(self._read) >= _READS_KEPT:
            self._read.clear()
        if row is None or self._json_columns is None:
            self._read[id] = {name: copy_json(v) if type(v) in _CONTAINERS else v for name, v in record.items()}
            return
        kept = dict(record)  # on SQLite only the JSON columns read as containers
        for index, name in self._json_columns:
            text = row[index]
            kept[name] = _StoredJSON(text) if type(text) is str else copy_json(kept[name])
        self._read[id] = kept

    def find(self, scope: Scope, query: Query) -> list[Record]:
        built = self._statements.find(scope, query)
        if built is None:
            return []
        statement, params = built
        names = self._statements.names
        return [FreshRecord(zip(names, row, strict=True)) for row in self._select(statement, params)]

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
        # the count rides last on each row: zip stops before it
        return [FreshRecord(zip(names, row, strict=False)) for row in rows], int(rows[0][-1])

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
                self._write(self._statements.tag_delete[name], self._statements.key_params(scope, id_value))
            tags = list(dict.fromkeys(record.get(name) or ()))
            if tags:
                base = {column: scope[column] for column in self._spec.scope}
                base[self._spec.id_column] = id_value
                self._write(self._statements.tag_insert[name], [{**base, TAG: tag} for tag in tags])

    def insert(self, scope: Scope, record: Record) -> None:
        self._uow.writing()
        self._read.pop(record[self._spec.id_column], None)
        values = self._values(scope, record)
        for _attempt in range(5):
            _count, returned = self._write(self._statements.insert, values)
            if not self._postgresql or returned is not None:
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
        changed = self._changed(record[id_column], values)
        if changed is None:
            fixed = self._statements.key_columns
            params = {k: v for k, v in values.items() if k not in fixed}
        else:  # only the columns that differ from what this unit read
            params = {name: values[name] for name in changed}
        params.update(self._statements.key_params(scope, record[id_column]))
        unique = self._statements.unique_columns
        if self._postgresql and unique and (changed is None or not unique.isdisjoint(changed)):
            # PostgreSQL aborts the whole transaction on an error; a savepoint keeps it usable
            # after a Conflict, as on the other databases. An update that leaves every unique
            # column as it is cannot conflict: the row already holds those values.
            with translate_errors(self._constraints), self._connection.begin_nested():
                count = self._connection.execute(self._statements.update, params).rowcount
        else:
            count, _returned = self._write(self._statements.update, params)
        if count == 0:
            raise Conflict("The record no longer exists.", fields=(id_column,))
        tags = self._statements.sql_table.tags
        if tags and (changed is None or not changed.isdisjoint(tags)):
            self._write_tags(scope, record, replace=True)
        read = self._read.get(record[id_column])
        if read is not None:  # what the row holds now (still locked)
            for name in read if changed is None else changed & read.keys():
                value = values[name]
                read[name] = copy_json(value) if type(value) in _CONTAINERS else value

    def _changed(self, id: Any, values: dict[str, Any]) -> set[str] | None:
        """The columns of ``values`` (all of a row's, as :meth:`_values` gives them) whose values
        differ from those this unit read for ``id`` (never the scope and id columns; a folded
        copy changes with its column), or ``None``: write them all but the key's.

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
        changed = set()
        for name in self._statements.compared:
            value = values[name]
            old = read.get(name, _MISSING)
            kind = type(value)
            # the common scalars inline; floats and containers as _same compares them
            if kind is type(old) and (value == old if kind in _SCALARS else _same(value, old)):
                continue
            if type(old) is _StoredJSON and old.text == json_text(value):
                continue  # the text the write would store is the stored text
            changed.add(name)
        for name, folded in self._statements.folded_pairs:
            if name in changed:
                changed.add(folded)
        return changed or None

    def delete(self, scope: Scope, id: str) -> bool:
        if type(id) is not str:
            return False
        self._uow.writing()
        self._read.pop(id, None)
        params = self._statements.key_params(scope, id)
        count, _returned = self._write(self._statements.delete, params)
        if count == 0:
            return False
        for name in self._statements.sql_table.tags:
            self._write(self._statements.tag_delete[name], params)
        return True
