"""SQLAlchemy Core tables built from a :class:`metricscore.table.TableSpec`, and their DDL.

For a spec named ``t`` the database holds:

* ``t``: one real typed column per spec column, plus

  - ``_pk``: an integer surrogate primary key (stable row ids for SQLite FTS5, a compact
    clustered key for InnoDB);
  - ``<column>__folded`` for each ``searchable`` column: ``str.lower()`` of the value, computed in
    Python so that case-insensitive search means exactly :func:`metricscore.query.fold_case` on
    every database;
  - a unique constraint on ``(scope..., id)`` and one per :class:`~metricscore.table.UniqueKey`,
    always prefixed by the scope columns, so the database itself enforces them;
  - an index ``(scope..., ordering...)`` per declared ordering (keyset pages walk it).

* ``t__<tags column>`` per TAGS column: ``(scope..., id, tag)``, indexed by ``(scope..., tag)``;
  the list itself is also kept as JSON in ``t`` so reads need no join.
* Trigram search objects: on SQLite an external-content FTS5 table ``t__fts`` (``trigram``
  tokenizer) kept in step by triggers; on PostgreSQL a ``pg_trgm`` GIN index per folded column.

Strings use a binary collation (``"C"`` on PostgreSQL, ``utf8mb4_nopad_bin`` on MariaDB/MySQL,
SQLite's default ``BINARY``), so ordering is Python's code-point order and trailing spaces count.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Connection, Dialect

from metricscore.table import DEFAULT_TAG_LENGTH, ColumnType, TableSpec

__all__ = [
    "FOLDED_SUFFIX",
    "SQLTable",
    "UTCDateTime",
    "create_table_objects",
    "drop_table_objects",
    "sql_table",
]

FOLDED_SUFFIX = "__folded"
PK = "_pk"
TAG = "tag"
MYSQL_COLLATION = "utf8mb4_nopad_bin"
MAX_NAME = 60  # PostgreSQL allows 63 bytes, MySQL 64


def _is_mysql(dialect: Dialect) -> bool:
    return dialect.name in ("mysql", "mariadb")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes with microseconds, stored as naive UTC (``timestamptz`` on PostgreSQL)."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True, precision=6))
        if _is_mysql(dialect):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _string(length: int | None) -> sa.types.TypeEngine[str]:
    base: sa.types.TypeEngine[str] = sa.String(length) if length else sa.Text()
    pg = sa.String(length, collation="C") if length else sa.Text(collation="C")
    my = (
        mysql.VARCHAR(length, charset="utf8mb4", collation=MYSQL_COLLATION)
        if length
        else mysql.LONGTEXT(charset="utf8mb4", collation=MYSQL_COLLATION)
    )
    return base.with_variant(pg, "postgresql").with_variant(my, "mysql", "mariadb")


def column_type(kind: ColumnType, length: int | None) -> sa.types.TypeEngine[Any]:
    if kind is ColumnType.STRING:
        return _string(length or 255)
    if kind is ColumnType.TEXT:
        return _string(None)
    if kind is ColumnType.INTEGER:
        return sa.BigInteger()
    if kind is ColumnType.FLOAT:
        return sa.Double()
    if kind is ColumnType.BOOLEAN:
        return sa.Boolean()
    if kind is ColumnType.DATETIME:
        return UTCDateTime()
    if kind in (ColumnType.JSON, ColumnType.TAGS):
        return sa.JSON(none_as_null=True)
    raise TypeError(f"unknown column type {kind!r}")  # pragma: no cover


def short_name(name: str) -> str:
    """``name`` if it fits every database's identifier limit, else a prefix plus a hash."""
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9]}_{digest}"


@dataclass(eq=False)
class SQLTable:
    """The SQLAlchemy objects serving one spec."""

    spec: TableSpec
    metadata: sa.MetaData
    main: sa.Table
    #: Spec columns, in spec order (what a read selects).
    columns: list[sa.Column[Any]]
    #: TAGS column name -> child table.
    tags: dict[str, sa.Table]
    #: searchable column name -> its folded copy.
    folded: dict[str, sa.Column[Any]]
    #: database constraint name -> the spec columns a Conflict reports.
    constraint_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: the scope-prefixed column tuple of each unique constraint -> reported fields (SQLite names columns).
    constraint_columns: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)

    @property
    def fts_name(self) -> str:
        return short_name(f"{self.spec.name}__fts")

    def trigram_index_name(self, column: str) -> str:
        return short_name(f"ix_{self.spec.name}_{column}_trgm")


@functools.cache
def sql_table(spec: TableSpec) -> SQLTable:
    """The SQLAlchemy tables for ``spec`` (cached: specs are frozen, tables are reused)."""
    metadata = sa.MetaData()
    scope = list(spec.scope)
    columns: list[sa.Column[Any]] = []
    extra: list[Any] = []
    folded: dict[str, sa.Column[Any]] = {}
    constraint_fields: dict[str, tuple[str, ...]] = {}
    constraint_columns: dict[tuple[str, ...], tuple[str, ...]] = {}
    pk = sa.Column(
        PK,
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    )
    for col in spec.columns:
        nullable = col.nullable and col.name not in spec.scope and col.name != spec.id_column
        columns.append(sa.Column(col.name, column_type(col.type, col.length), nullable=nullable))
        if col.searchable:
            folded[col.name] = sa.Column(col.name + FOLDED_SUFFIX, _string(None), nullable=True)

    id_key = short_name(f"uq_{spec.name}_id")
    extra.append(sa.UniqueConstraint(*scope, spec.id_column, name=id_key))
    constraint_fields[id_key] = (spec.id_column,)
    constraint_columns[(*scope, spec.id_column)] = (spec.id_column,)
    for key in spec.unique_keys:
        name = short_name(key.name)
        extra.append(sa.UniqueConstraint(*scope, *key.columns, name=name))
        constraint_fields[name] = key.columns
        constraint_columns[(*scope, *key.columns)] = key.columns
    for ordering in spec.orderings:
        cols = [*scope, *ordering]
        extra.append(sa.Index(short_name(f"ix_{spec.name}_{'_'.join(ordering)}"), *cols))
    main = sa.Table(
        spec.name,
        metadata,
        pk,
        *columns,
        *folded.values(),
        *extra,
        implicit_returning=False,  # the surrogate key is never read back
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
        mysql_collate=MYSQL_COLLATION,
    )
    tags: dict[str, sa.Table] = {}
    for col in spec.columns:
        if col.type is not ColumnType.TAGS:
            continue
        scope_columns = [sa.Column(c, column_type(spec.column(c).type, spec.column(c).length)) for c in scope]
        id_spec = spec.column(spec.id_column)
        name = short_name(f"{spec.name}__{col.name}")
        tags[col.name] = sa.Table(
            name,
            metadata,
            *scope_columns,
            sa.Column(spec.id_column, column_type(id_spec.type, id_spec.length)),
            sa.Column(TAG, _string(col.length or DEFAULT_TAG_LENGTH)),
            sa.PrimaryKeyConstraint(*scope, spec.id_column, TAG, name=short_name(f"pk_{name}")),
            sa.Index(short_name(f"ix_{name}_tag"), *scope, TAG, spec.id_column),
            mysql_engine="InnoDB",
            mysql_charset="utf8mb4",
            mysql_collate=MYSQL_COLLATION,
        )
    return SQLTable(spec, metadata, main, columns, tags, folded, constraint_fields, constraint_columns)


# -- DDL -----------------------------------------------------------------------------------------


def create_table_objects(connection: Connection, spec: TableSpec) -> None:
    """Create everything that stores ``spec``: tables, constraints, indexes, search objects.

    Used by migration revisions (with ``op.get_bind()``) and for tables outside the catalogue.
    """
    tables = sql_table(spec)
    tables.metadata.create_all(connection, checkfirst=False)
    create_search_objects(connection, spec)


def create_search_objects(connection: Connection, spec: TableSpec) -> None:
    """The trigram objects for ``spec``'s searchable columns, where the database offers them."""
    tables = sql_table(spec)
    if not tables.folded:
        return
    dialect = connection.dialect.name
    if dialect == "sqlite":
        _create_fts5(connection, tables)
    elif dialect == "postgresql":
        _create_pg_trgm(connection, tables)


def drop_table_objects(connection: Connection, spec: TableSpec) -> None:
    tables = sql_table(spec)
    if connection.dialect.name == "sqlite" and tables.folded:
        for suffix in ("ai", "ad", "au"):
            connection.exec_driver_sql(f'DROP TRIGGER IF EXISTS "{tables.fts_name}_{suffix}"')
        connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{tables.fts_name}"')
    tables.metadata.drop_all(connection, checkfirst=True)


def sqlite_has_fts5(connection: Connection) -> bool:
    try:
        options = {row[0] for row in connection.exec_driver_sql("PRAGMA compile_options")}
    except sa.exc.DBAPIError:
        return False
    return "ENABLE_FTS5" in options


def _create_fts5(connection: Connection, tables: SQLTable) -> None:
    if not sqlite_has_fts5(connection):
        return  # search falls back to the LIKE scan
    table = tables.spec.name
    fts = tables.fts_name
    cols = [c.name for c in tables.folded.values()]
    names = ", ".join(f'"{c}"' for c in cols)
    new = ", ".join(f'new."{c}"' for c in cols)
    old = ", ".join(f'old."{c}"' for c in cols)
    # The folded columns already hold str.lower(); the index must not fold again (it would fold
    # differently), so it is case-sensitive. External content: the text lives only in the table.
    connection.exec_driver_sql(
        f"CREATE VIRTUAL TABLE \"{fts}\" USING fts5({names}, content='{table}', content_rowid='{PK}', "
        f"tokenize='trigram case_sensitive 1')"
    )
    connection.exec_driver_sql(
        f'CREATE TRIGGER "{fts}_ai" AFTER INSERT ON "{table}" BEGIN '
        f'INSERT INTO "{fts}"(rowid, {names}) VALUES (new."{PK}", {new}); END'
    )
    connection.exec_driver_sql(
        f'CREATE TRIGGER "{fts}_ad" AFTER DELETE ON "{table}" BEGIN '
        f'INSERT INTO "{fts}"("{fts}", rowid, {names}) VALUES (\'delete\', old."{PK}", {old}); END'
    )
    connection.exec_driver_sql(
        f'CREATE TRIGGER "{fts}_au" AFTER UPDATE ON "{table}" BEGIN '
        f'INSERT INTO "{fts}"("{fts}", rowid, {names}) VALUES (\'delete\', old."{PK}", {old}); '
        f'INSERT INTO "{fts}"(rowid, {names}) VALUES (new."{PK}", {new}); END'
    )
    # Rows written before the index existed (a table created by an older revision).
    connection.exec_driver_sql(f'INSERT INTO "{fts}"("{fts}") VALUES (\'rebuild\')')


def pg_trgm_available(connection: Connection) -> bool:
    """Whether ``pg_trgm`` is installed, installing it if this role may."""
    installed = connection.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").first()
    if installed:
        return True
    try:
        with connection.begin_nested():
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError:
        return False  # no privilege or not shipped: search falls back to the scan
    return True


def _create_pg_trgm(connection: Connection, tables: SQLTable) -> None:
    # fastupdate off: new rows go straight into the index instead of a pending list that every
    # search scans linearly until the next VACUUM (a burst of writes made searches 50x slower).
    if not pg_trgm_available(connection):
        return
    for name, col in tables.folded.items():
        connection.exec_driver_sql(
            f'CREATE INDEX IF NOT EXISTS "{tables.trigram_index_name(name)}" '
            f'ON "{tables.spec.name}" USING gin ("{col.name}" gin_trgm_ops) WITH (fastupdate = off)'
        )
