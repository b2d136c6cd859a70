"""SQL pushdown: a :class:`~metricscore.evaluation.plan.Plan` compiled with SQLAlchemy Core.

One statement per plan, aggregated by the database; Python only receives the result rows (one
per group). The same compiler serves SQLite, PostgreSQL, MariaDB/MySQL, DuckDB (duckdb-engine)
and ClickHouse (compiled with :mod:`.clickhouse`'s dialect, run on chDB or a server).

What differs between engines is confined to the few expression elements below (text of a
property, ASCII case folding, number parsing, the day of a timestamp, "latest"), each compiled
per dialect with ``@compiles``; the plan's meaning is the reference evaluator's
(``metricscore.evaluation.reference``), which tests/evaluation/test_differential.py enforces.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from metricscore.errors import ConfigurationError, StorageError, ValidationError
from metricscore.evaluation.events import Event, EventQuery, EventsSource
from metricscore.evaluation.plan import (
    NUMBER_PATTERN,
    Affix,
    AfterKey,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Contains,
    DayKey,
    Field,
    FirstOf,
    GroupKey,
    IsSet,
    Key,
    Measure,
    Not,
    OneOf,
    Plan,
    Row,
    ValueSource,
    exact_sum,
    fold_ascii,
)

from .schema import UTCDateTime

__all__ = [
    "SQLEvents",
    "compile_plan",
    "count_builtin_events",
    "find_builtin_events",
    "install_sqlite_functions",
    "normalize_rows",
]

SCALE = 12
_NUMBER = re.compile(NUMBER_PATTERN)
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MYSQL = ("mysql", "mariadb")


# -- engine-specific expression elements -----------------------------------------------------


class _Element(ColumnElement[Any]):
    """Base of the engine-specific elements; each lists its state in ``_traverse_internals`` so
    SQLAlchemy's compiled cache keys tell two different elements apart."""

    inherit_cache = False


class PropertyText(_Element):
    """``properties[key]`` of a JSON column as text, NULL when missing or null."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement), ("prop", InternalTraversal.dp_string)]
    type = sa.Text()

    def __init__(self, column: ColumnElement[Any], key: str) -> None:
        if '"' in key or "\\" in key:
            raise ValidationError({"property": [f"Property names with quotes or backslashes cannot be read: {key!r}."]})
        self.column = column
        self.prop = key


def _path(key: str) -> str:
    return f'$."{key}"'


@compiles(PropertyText)
def _property_default(element: PropertyText, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(sa.func.json_extract(element.column, _path(element.prop)), **kw)


@compiles(PropertyText, "sqlite")
def _property_sqlite(element: PropertyText, compiler: SQLCompiler, **kw: Any) -> str:
    extracted = sa.func.json_extract(element.column, _path(element.prop))
    return compiler.process(sa.cast(extracted, sa.Text()), **kw)


@compiles(PropertyText, "postgresql")
def _property_pg(element: PropertyText, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    key = compiler.process(sa.literal(element.prop, sa.Text()), **kw)
    return f"(CAST({column} AS JSON) ->> {key})"


@compiles(PropertyText, "mysql")
@compiles(PropertyText, "mariadb")
def _property_mysql(element: PropertyText, compiler: SQLCompiler, **kw: Any) -> str:
    # JSON_VALUE: unquoted text, NULL for a missing key and for JSON null (a JSON boolean in a
    # declared source reads as 1/0 here: the built-in table stores text only).
    # MariaDB's path parser finds no key that begins with "-", quoted or not ('$."-a"'); the same
    # key written with a JSON escape ('$."\\u002da"') is found.
    column = compiler.process(element.column, **kw)
    path = compiler.process(sa.literal(_path(element.prop.replace("-", "\\u002d")), sa.Text()), **kw)
    return f"(CONVERT(JSON_VALUE({column}, {path}) USING utf8mb4) COLLATE utf8mb4_nopad_bin)"


@compiles(PropertyText, "duckdb")
def _property_duckdb(element: PropertyText, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    path = compiler.process(sa.literal(_path(element.prop), sa.Text()), **kw)
    return f"json_extract_string(CAST({column} AS JSON), {path})"


@compiles(PropertyText, "clickhouse")
def _property_clickhouse(element: PropertyText, compiler: SQLCompiler, **kw: Any) -> str:
    # One parse: a string as is, a number or boolean as written, NULL when missing or null.
    column = compiler.process(element.column, **kw)
    key = compiler.process(sa.literal(element.prop, sa.Text()), **kw)
    return f"JSONExtract({column}, {key}, 'Nullable(String)')"


class Folded(_Element):
    """ASCII letters lower-cased, nothing else (:func:`metricscore.evaluation.plan.fold_ascii`)."""

    inherit_cache = True
    _traverse_internals = [("text", InternalTraversal.dp_clauseelement)]
    type = sa.Text()

    def __init__(self, text: ColumnElement[Any]) -> None:
        self.text = text


@compiles(Folded)
def _folded_default(element: Folded, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.text, **kw)
    return f"translate({text}, '{_UPPER}', '{_UPPER.lower()}')"


@compiles(Folded, "sqlite")
@compiles(Folded, "clickhouse")
def _folded_lower(element: Folded, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's lower() (without ICU) and ClickHouse's lower() fold ASCII letters only.
    return f"lower({compiler.process(element.text, **kw)})"


@compiles(Folded, "mysql")
@compiles(Folded, "mariadb")
def _folded_mysql(element: Folded, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.text, **kw)
    for upper in _UPPER:
        text = f"REPLACE({text}, '{upper}', '{upper.lower()}')"
    return text


class Number(_Element):
    """The exact value of a text that matches NUMBER_PATTERN, else NULL (DECIMAL(38, 12))."""

    inherit_cache = True
    _traverse_internals = [("text", InternalTraversal.dp_clauseelement)]
    type = sa.Numeric(38, SCALE)

    def __init__(self, text: ColumnElement[Any]) -> None:
        self.text = text


@compiles(Number, "postgresql")
def _number_pg(element: Number, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.text, **kw)
    return f"(CASE WHEN {text} ~ '^{NUMBER_PATTERN}$' THEN CAST({text} AS NUMERIC) END)"


@compiles(Number, "mysql")
@compiles(Number, "mariadb")
def _number_mysql(element: Number, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.text, **kw)
    pattern = NUMBER_PATTERN.replace("\\", "\\\\")
    return f"(CASE WHEN {text} REGEXP '^{pattern}\\\\z' THEN CAST({text} AS DECIMAL(38, {SCALE})) END)"


@compiles(Number, "duckdb")
def _number_duckdb(element: Number, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.text, **kw)
    return f"(CASE WHEN regexp_full_match({text}, '{NUMBER_PATTERN}') THEN CAST({text} AS DECIMAL(38, {SCALE})) END)"


@compiles(Number, "clickhouse")
def _number_clickhouse(element: Number, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.text, **kw)
    pattern = NUMBER_PATTERN.replace("\\", "\\\\")
    # match() of a NULL is NULL, which if() takes as false: no NULL guard needed.
    return f"if(match({text}, '^{pattern}$'), toDecimal128OrNull({text}, {SCALE}), NULL)"


@compiles(Number, "sqlite")
def _number_sqlite(element: Number, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite has no decimal type: a number is kept as its normalized text, and the metricscore_*
    # functions (install_sqlite_functions) compare and add such texts exactly.
    return f"metricscore_number({compiler.process(element.text, **kw)})"


class DayOf(_Element):
    """The calendar date of ``timestamp + offset`` (the timestamp is UTC)."""

    inherit_cache = True
    _traverse_internals = [
        ("timestamp", InternalTraversal.dp_clauseelement),
        ("offset", InternalTraversal.dp_plain_obj),
    ]
    type = sa.Date()

    def __init__(self, timestamp: ColumnElement[Any], offset_seconds: int) -> None:
        self.timestamp = timestamp
        self.offset = int(offset_seconds)


@compiles(DayOf, "sqlite")
def _day_sqlite(element: DayOf, compiler: SQLCompiler, **kw: Any) -> str:
    # date() reads a time in whole milliseconds, rounding: 23:59:59.9995 would fall on the next
    # day. The whole seconds of the text (YYYY-MM-DD HH:MM:SS, the rest being the fraction)
    # decide the day alone, since the offset is whole seconds.
    return f"date(substr({compiler.process(element.timestamp, **kw)}, 1, 19), '{element.offset:+d} seconds')"


@compiles(DayOf, "postgresql")
def _day_pg(element: DayOf, compiler: SQLCompiler, **kw: Any) -> str:
    ts = compiler.process(element.timestamp, **kw)
    return f"CAST(timezone('UTC', {ts}) + INTERVAL '{element.offset} seconds' AS DATE)"


@compiles(DayOf, "duckdb")
def _day_duckdb(element: DayOf, compiler: SQLCompiler, **kw: Any) -> str:
    ts = compiler.process(element.timestamp, **kw)
    return f"CAST({ts} + INTERVAL '{element.offset} seconds' AS DATE)"


@compiles(DayOf, "mysql")
@compiles(DayOf, "mariadb")
def _day_mysql(element: DayOf, compiler: SQLCompiler, **kw: Any) -> str:
    return f"DATE({compiler.process(element.timestamp, **kw)} + INTERVAL {element.offset} SECOND)"


@compiles(DayOf, "clickhouse")
def _day_clickhouse(element: DayOf, compiler: SQLCompiler, **kw: Any) -> str:
    ts = compiler.process(element.timestamp, **kw)
    # toDate32, not toDate: a Date holds 1970-01-01 to 2149-06-06 only and wraps around outside it.
    return f"toDate32(addSeconds({ts}, {element.offset}), 'UTC')"


class Latest(_Element):
    """Aggregate: ``number`` of the row with the greatest (``timestamp``, ``received``), numbers only."""

    inherit_cache = True
    _traverse_internals = [
        ("number", InternalTraversal.dp_clauseelement),
        ("timestamp", InternalTraversal.dp_clauseelement),
        ("received", InternalTraversal.dp_clauseelement),
    ]
    type = sa.Numeric(38, SCALE)

    def __init__(self, number: ColumnElement[Any], timestamp: ColumnElement[Any], received: ColumnElement[Any]) -> None:
        self.number = number
        self.timestamp = timestamp
        self.received = received


def _latest_parts(element: Latest, compiler: SQLCompiler, **kw: Any) -> tuple[str, str, str]:
    return (
        compiler.process(element.number, **kw),
        compiler.process(element.timestamp, **kw),
        compiler.process(element.received, **kw),
    )


@compiles(Latest, "postgresql")
def _latest_pg(element: Latest, compiler: SQLCompiler, **kw: Any) -> str:
    number, ts, received = _latest_parts(element, compiler, **kw)
    return f"(array_agg({number} ORDER BY {ts} DESC, {received} DESC) FILTER (WHERE {number} IS NOT NULL))[1]"


@compiles(Latest, "duckdb")
def _latest_duckdb(element: Latest, compiler: SQLCompiler, **kw: Any) -> str:
    number, ts, received = _latest_parts(element, compiler, **kw)
    return f"arg_max({number}, struct_pack(t := {ts}, r := {received})) FILTER (WHERE {number} IS NOT NULL)"


@compiles(Latest, "clickhouse")
def _latest_clickhouse(element: Latest, compiler: SQLCompiler, **kw: Any) -> str:
    number, ts, received = _latest_parts(element, compiler, **kw)
    return f"argMaxIf({number}, ({ts}, {received}), isNotNull({number}))"


@compiles(Latest, "mysql")
@compiles(Latest, "mariadb")
def _latest_mysql(element: Latest, compiler: SQLCompiler, **kw: Any) -> str:
    # GROUP_CONCAT keeps the head of the list when it truncates, and the head is all we need.
    number, ts, received = _latest_parts(element, compiler, **kw)
    return f"SUBSTRING_INDEX(GROUP_CONCAT({number} ORDER BY {ts} DESC, {received} DESC SEPARATOR '|'), '|', 1)"


@compiles(Latest, "sqlite")
def _latest_sqlite(element: Latest, compiler: SQLCompiler, **kw: Any) -> str:
    number, ts, received = _latest_parts(element, compiler, **kw)
    return f"metricscore_latest({number}, {ts}, {received})"


# -- SQLite's exact decimals -----------------------------------------------------------------


def _sqlite_number(text: Any) -> str | None:
    # The text itself when it is a number: every consumer reads it with Decimal() (and str() of a
    # Decimal could turn 0.000000000001 into 1E-12, which is no number text).
    return text if isinstance(text, str) and _NUMBER.fullmatch(text) else None


class _SqliteSum:
    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, text: Any) -> None:
        if text is not None:
            number = Decimal(text)
            self.total = exact_sum(self.total, number)

    def finalize(self) -> str | None:
        return None if self.total is None else str(self.total)


class _SqliteMax:
    sign = 1

    def __init__(self) -> None:
        self.best: Decimal | None = None

    def step(self, text: Any) -> None:
        if text is not None:
            number = Decimal(text)
            if self.best is None or (number - self.best) * self.sign > 0:
                self.best = number

    def finalize(self) -> str | None:
        return None if self.best is None else str(self.best)


class _SqliteMin(_SqliteMax):
    sign = -1


def _guarded(aggregate: type[Any]) -> type[Any]:
    """``aggregate`` over raw texts, skipping those that are no numbers: one Python call per row
    instead of two (``metricscore_number`` then the aggregate's step), which is most of SQLite's
    per-row cost in a sum over millions of events."""

    class Guarded(aggregate):  # type: ignore[misc, valid-type]
        def step(self, text: Any) -> None:
            if isinstance(text, str) and _NUMBER.fullmatch(text):
                super().step(text)

    return Guarded


_SqliteTextSum = _guarded(_SqliteSum)
_SqliteTextMax = _guarded(_SqliteMax)
_SqliteTextMin = _guarded(_SqliteMin)


class _SqliteLatest:
    def __init__(self) -> None:
        self.key: tuple[Any, Any] | None = None
        self.value: str | None = None

    def step(self, text: Any, ts: Any, received: Any) -> None:
        if text is None:
            return
        key = (ts, received)
        if self.key is None or key >= self.key:
            self.key, self.value = key, text

    def finalize(self) -> str | None:
        return self.value


def _sqlite_compare(text: Any, bound: Any) -> int | None:
    if text is None:
        return None
    left, right = Decimal(text), Decimal(bound)
    return (left > right) - (left < right)


def install_sqlite_functions(dbapi_connection: Any) -> None:
    """Register the exact-decimal helpers on a sqlite3 connection (done on every connect)."""
    dbapi_connection.create_function("metricscore_number", 1, _sqlite_number, deterministic=True)
    dbapi_connection.create_function("metricscore_compare", 2, _sqlite_compare, deterministic=True)
    dbapi_connection.create_aggregate("metricscore_sum", 1, _SqliteSum)
    dbapi_connection.create_aggregate("metricscore_max", 1, _SqliteMax)
    dbapi_connection.create_aggregate("metricscore_min", 1, _SqliteMin)
    dbapi_connection.create_aggregate("metricscore_latest", 3, _SqliteLatest)
    dbapi_connection.create_aggregate("metricscore_text_sum", 1, _SqliteTextSum)
    dbapi_connection.create_aggregate("metricscore_text_max", 1, _SqliteTextMax)
    dbapi_connection.create_aggregate("metricscore_text_min", 1, _SqliteTextMin)


def _install_on(connection: Connection) -> None:
    raw = connection.connection.dbapi_connection
    if raw is not None:
        install_sqlite_functions(raw)


# -- compiling a plan ------------------------------------------------------------------------


class _Columns:
    """The SQLAlchemy expressions of one source's fields."""

    def __init__(self, source: EventsSource, dialect: str) -> None:
        self.source = source
        self.dialect = dialect
        names = [source.timestamp, source.name]
        for optional in (
            source.id,
            source.customer,
            source.dedupe_key,
            source.received,
            source.value,
            source.properties,
        ):
            if optional is not None:
                names.append(optional)
        names.extend(source.property_columns.values())
        names.extend(source.groups.values())
        names.extend(source.units.values())
        names.extend(source.filters)
        types: dict[str, sa.types.TypeEngine[Any]] = {name: sa.Text() for name in names}
        types[source.timestamp] = UTCDateTime() if dialect not in ("duckdb", "clickhouse") else sa.DateTime()
        if source.properties is not None:
            types[source.properties] = sa.Text()
        if source.received is not None:
            types[source.received] = sa.BigInteger()
        self.table = sa.table(
            source.table, *(sa.column(name, type_) for name, type_ in types.items()), schema=source.schema
        )
        self.c = self.table.c

    def field(self, ref: Field) -> ColumnElement[Any]:
        source = self.source
        kind = ref.kind
        if kind == "property":
            return self.prop(ref.name)
        if kind in ("name", "customer", "value", "id"):
            column: str | None = getattr(source, kind)
            if column is None:
                raise ConfigurationError(f"The events source {source.table!r} declares no {kind} column.")
            return self.c[column]  # type: ignore[no-any-return]
        if kind == "group":
            column = source.groups.get(int(ref.name))
            return self.c[column] if column is not None else self.prop(f"$group_{ref.name}")
        # unit
        column = source.units.get(ref.name)
        if column is not None:
            return self.c[column]  # type: ignore[no-any-return]
        if ref.name == "userID" and source.customer is not None:
            return self.c[source.customer]
        return self.prop(f"user.customIDs.{ref.name}")

    def prop(self, name: str) -> ColumnElement[Any]:
        flat = self.source.property_columns.get(name)
        if flat is not None:
            return self.c[flat]
        if self.source.properties is None:
            return sa.null()
        return PropertyText(self.c[self.source.properties], name)

    @property
    def timestamp(self) -> ColumnElement[Any]:
        return self.c[self.source.timestamp]

    @property
    def received(self) -> ColumnElement[Any]:
        if self.source.received is None:
            return sa.literal(0)
        return self.c[self.source.received]

    def fixed(self) -> list[ColumnElement[bool]]:
        return [self.c[name] == value for name, value in self.source.filters.items()]


def _condition(cols: _Columns, condition: Condition) -> ColumnElement[bool]:
    if isinstance(condition, AllOf):
        return sa.and_(sa.true(), *(_condition(cols, c) for c in condition.conditions))
    if isinstance(condition, AnyOf):
        return sa.or_(sa.false(), *(_condition(cols, c) for c in condition.conditions))
    if isinstance(condition, Not):
        # Leaves are NULL for an absent value, which AND / OR / WHERE / CASE treat as false;
        # under NOT the NULL must become false first, so NOT is the exact complement.
        return sa.not_(sa.func.coalesce(_condition(cols, condition.condition), sa.false()))
    text = cols.field(condition.field)
    if isinstance(condition, IsSet):
        return text.is_not(None)
    if isinstance(condition, OneOf):
        if not condition.values:
            return sa.false()
        if condition.case_sensitive:
            return text.in_([sa.literal(v, sa.Text()) for v in condition.values])
        values = sorted({fold_ascii(v) for v in condition.values})
        return Folded(text).in_([sa.literal(v, sa.Text()) for v in values])
    if isinstance(condition, Contains):
        needle: ColumnElement[Any] = sa.literal(condition.text, sa.Text())
        haystack: ColumnElement[Any] = text
        if not condition.case_sensitive:
            needle = sa.literal(fold_ascii(condition.text), sa.Text())
            haystack = Folded(text)
        return _position(cols.dialect, haystack, needle) > 0
    if isinstance(condition, Affix):
        affix = condition.text if condition.case_sensitive else fold_ascii(condition.text)
        if not affix:
            return text.is_not(None)
        subject = text if condition.case_sensitive else Folded(text)
        return _affix(cols.dialect, subject, affix, condition.at_end)
    if isinstance(condition, Compare):
        if cols.dialect == "sqlite":
            compared = sa.func.metricscore_compare(Number(text), str(condition.value))
            return _compare(compared, condition.op, sa.literal(0))
        number = Number(text)
        bound: ColumnElement[Any] = sa.cast(sa.literal(str(condition.value)), sa.Numeric(38, SCALE))
        if cols.dialect == "clickhouse":
            bound = sa.literal_column(f"toDecimal128('{condition.value}', {SCALE})")
        return _compare(number, condition.op, bound)
    raise AssertionError(condition)  # pragma: no cover


def _compare(left: ColumnElement[Any], op: str, right: ColumnElement[Any]) -> ColumnElement[bool]:
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right


def _affix(dialect: str, subject: ColumnElement[Any], affix: str, at_end: bool) -> ColumnElement[bool]:
    literal = sa.literal(affix, sa.Text())
    if dialect == "clickhouse":
        return sa.func.endsWith(subject, literal) if at_end else sa.func.startsWith(subject, literal)
    length = len(affix)
    if dialect == "sqlite":
        start = -length if at_end else 1
        return sa.func.substr(subject, start, length) == literal
    return (sa.func.right(subject, length) if at_end else sa.func.left(subject, length)) == literal


def _position(dialect: str, haystack: ColumnElement[Any], needle: ColumnElement[Any]) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return sa.func.instr(haystack, needle)
    if dialect in _MYSQL:
        return sa.func.locate(needle, haystack)
    if dialect == "clickhouse":
        return sa.func.position(haystack, needle)
    return sa.func.strpos(haystack, needle)


def _value(cols: _Columns, source: ValueSource | None) -> ColumnElement[Any]:
    if source is None:
        return sa.null()
    if isinstance(source, FirstOf):
        if not source.branches:
            return sa.null()
        return sa.case(*((_condition(cols, c), cols.field(f)) for c, f in source.branches), else_=sa.null())
    return cols.field(source)


def _measure(cols: _Columns, measure: Measure) -> ColumnElement[Any]:
    kind = measure.kind
    dialect = cols.dialect
    if kind == "count":
        return sa.func.count()
    if measure.value is None:  # nothing to read: no values, whatever the events
        return sa.literal(0) if kind in ("unique", "numbers") else sa.null()
    value = _value(cols, measure.value)
    if kind == "unique":
        return sa.func.count(sa.distinct(value))
    if kind in ("min_text", "max_text"):
        if dialect == "postgresql":
            value = value.collate("C")
        return sa.func.min(value) if kind == "min_text" else sa.func.max(value)
    if dialect == "sqlite" and kind in ("sum", "max", "min"):
        # Exact decimals in Python, reading the texts directly (see _guarded).
        return getattr(sa.func, f"metricscore_text_{kind}")(value, type_=sa.Text())  # type: ignore[no-any-return]
    number = Number(value)
    if kind == "numbers":
        return sa.func.count(number)
    if kind == "sum":
        return sa.func.sum(number)
    if kind == "max":
        return sa.func.max(number)
    if kind == "min":
        return sa.func.min(number)
    if kind == "latest":
        latest = Latest(number, cols.timestamp, cols.received)
        return sa.type_coerce(latest, sa.Text()) if dialect in ("sqlite", *_MYSQL) else latest
    raise AssertionError(kind)  # pragma: no cover


def _key(cols: _Columns, key: Key) -> ColumnElement[Any]:
    if isinstance(key, DayKey):
        return DayOf(cols.timestamp, key.offset_seconds)
    if isinstance(key, AfterKey):
        return sa.case((cols.timestamp >= _moment(cols, key.moment), 1), else_=0)
    if isinstance(key, GroupKey):
        return cols.field(key.field)
    raise AssertionError(key)  # pragma: no cover


def clickhouse_moment(moment: dt.datetime) -> str:
    """``moment`` (naive: UTC) as a ClickHouse ``DateTime64(6, 'UTC')`` literal.

    ``isoformat``, not ``strftime``: glibc's ``%Y`` writes the year 26 as ``26``, which ClickHouse
    reads as 2026 (an event of the year 26 would count in 2026's windows).
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return f"toDateTime64('{moment.isoformat(' ', 'microseconds')}', 6, 'UTC')"


def _moment(cols: _Columns, moment: dt.datetime) -> ColumnElement[Any]:
    if cols.dialect == "clickhouse":
        return sa.literal_column(clickhouse_moment(moment))
    if cols.dialect == "duckdb":
        return sa.literal(moment.astimezone(dt.UTC).replace(tzinfo=None), sa.DateTime())
    return sa.literal(moment, UTCDateTime())


def _last_received(cols: _Columns, dialect: str) -> ColumnElement[bool]:
    """The event is the last received of its ``dedupe_key`` (or has none).

    ClickHouse: ``(key, received) IN (SELECT key, max(received) ... GROUP BY key)``, one pass over
    the keys. Elsewhere: ``NOT EXISTS`` a later event with the same key, an anti-join each engine
    runs through the (dataset, dedupe_key, seq) index for the few candidate rows that have a key
    (DuckDB: twice as fast as the grouped IN). The two agree: a NULL ingestion order is never
    the last (``max`` ignores it).
    """
    source = cols.source
    assert source.dedupe_key is not None
    later = cols.table.alias("latest")
    dedupe, received = later.c[source.dedupe_key], later.c[source.received or source.timestamp]
    same_scope = [later.c[name] == value for name, value in source.filters.items()]
    key = cols.c[source.dedupe_key]
    mine = cols.received if source.received is not None else cols.timestamp
    if dialect == "clickhouse":
        last = sa.select(dedupe, sa.func.max(received)).where(dedupe.is_not(None), *same_scope).group_by(dedupe)
        return sa.or_(key.is_(None), sa.tuple_(key, mine).in_(last))
    newer = sa.select(sa.literal(1)).where(*same_scope, dedupe == key, received > mine).exists()
    return sa.or_(key.is_(None), sa.and_(mine.is_not(None), sa.not_(newer)))


def _reads_given_customers(plan: Plan) -> bool:
    """Whether every event ``plan`` reads has one of a few given customers (Sequence's aliases)."""
    conditions = plan.where.conditions if isinstance(plan.where, AllOf) else (plan.where,)
    return any(
        isinstance(c, OneOf) and c.case_sensitive and c.field == Field("customer") and c.values for c in conditions
    )


def compile_plan(plan: Plan, source: EventsSource, dialect: str) -> sa.Select[Any]:
    """The one SELECT computing ``plan`` over ``source`` on a database of ``dialect``."""
    cols = _Columns(source, dialect)
    where: list[ColumnElement[bool]] = [*cols.fixed()]
    if plan.start is not None:
        where.append(cols.timestamp >= _moment(cols, plan.start))
    if plan.end is not None:
        where.append(cols.timestamp < _moment(cols, plan.end))
    where.append(_condition(cols, plan.where))
    if plan.supersede and source.dedupe_key is not None:
        where.append(_last_received(cols, dialect))
    keys = [_key(cols, k).label(f"k{i}") for i, k in enumerate(plan.group_by)]
    measures = [_measure(cols, m).label(f"m{i}") for i, m in enumerate(plan.measures)]
    statement = sa.select(*keys, *measures).select_from(cols.table).where(*where)
    if dialect in _MYSQL and source.customer_index is not None and _reads_given_customers(plan):
        statement = statement.with_hint(cols.table, f"FORCE INDEX ({source.customer_index})")
    if keys:
        # By output name: the same expression twice would carry two sets of bound parameters.
        statement = statement.group_by(*(sa.literal_column(f"k{i}") for i in range(len(keys))))
    return statement


# -- results -----------------------------------------------------------------------------------


def _as_decimal(value: Any) -> Decimal | None:
    if type(value) is str:  # ClickHouse's quoted decimals
        return Decimal(value)
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def _as_date(value: Any) -> dt.date | None:
    if type(value) is str:
        return dt.date.fromisoformat(value[:10])
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value  # type: ignore[no-any-return]
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "count": int,
    "numbers": int,
    "unique": int,
    "sum": _as_decimal,
    "max": _as_decimal,
    "min": _as_decimal,
    "latest": _as_decimal,
    "min_text": lambda v: None if v is None else str(v),
    "max_text": lambda v: None if v is None else str(v),
}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _after(value: Any) -> bool:
    return bool(int(value))


def _key_converter(key: Key) -> Callable[[Any], object]:
    if isinstance(key, DayKey):
        return _as_date
    if isinstance(key, AfterKey):
        return _after
    return _text


def _measure_converter(kind: str) -> Callable[[Any], Any]:
    convert = _CONVERT[kind]
    empty = 0 if kind in ("count", "numbers", "unique") else None  # an empty group's value

    def read(value: Any) -> Any:
        return empty if value is None else convert(value)

    return read


def normalize_rows(plan: Plan, rows: Sequence[Sequence[Any]]) -> list[Row]:
    """Database values as the reference evaluator gives them, sorted by group (absent last)."""
    n = len(plan.group_by)
    converters = [*map(_key_converter, plan.group_by), *(_measure_converter(m.kind) for m in plan.measures)]
    out: list[Row] = [tuple([read(v) for read, v in zip(converters, row, strict=True)]) for row in rows]
    if any(v is None for row in out for v in row[:n]):
        out.sort(key=lambda r: tuple((1, "") if v is None else (0, v) for v in r[:n]))
    else:  # the same order, without a key tuple per value
        out.sort(key=lambda r: r[:n])
    return out


# -- running -----------------------------------------------------------------------------------


#: URL scheme -> the extra installing its SQLAlchemy dialect and driver.
_EXTRA_OF_DATABASE = {"duckdb": "duckdb", "postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}


class SQLEvents:
    """Evaluates plans on an events table reached through a SQLAlchemy engine (or URL).

    For ClickHouse use :class:`metricscore.backends.sql.clickhouse.ClickHouseEvents`.
    """

    def __init__(self, engine: Engine | str, source: EventsSource) -> None:
        if isinstance(engine, str):
            url = engine
            try:
                engine = sa.create_engine(url)
            except (ImportError, sa.exc.NoSuchModuleError) as error:  # a driver or dialect not installed
                extra = _EXTRA_OF_DATABASE.get(url.partition(":")[0].partition("+")[0].lower())
                hint = f": pip install 'metricscore[{extra}]'" if extra else ""
                raise ConfigurationError(f"Cannot open {url!r}: {error}{hint}") from error
            except Exception as error:
                raise ConfigurationError(f"Cannot open {url!r}: {error}") from error
        elif not isinstance(engine, Engine):
            message = f"sql_events takes a SQLAlchemy engine or URL, not {type(engine).__name__}."
            raise ConfigurationError(message)
        self.engine: Engine = engine
        self.source = source
        self.dialect = self.engine.dialect.name

    def run(self, plan: Plan, connection: Connection | None = None) -> list[Row]:
        statement = compile_plan(plan, self.source, self.dialect)
        try:
            if connection is not None:
                rows = self._execute(connection, statement)
            else:
                with self.engine.connect() as conn:
                    rows = self._execute(conn, statement)
        except sa.exc.SQLAlchemyError as error:
            raise StorageError(f"Evaluation failed: {type(error).__name__}: {error}") from error
        return normalize_rows(plan, [tuple(r) for r in rows])

    def _execute(self, connection: Connection, statement: sa.Select[Any]) -> list[Any]:
        if self.dialect == "sqlite":
            _install_on(connection)
        if self.dialect == "duckdb":
            # Inline values: DuckDB prunes row groups by constants, not by prepared parameters.
            sql = str(statement.compile(self.engine, compile_kwargs={"literal_binds": True}))
            return list(connection.exec_driver_sql(sql).all())
        return list(connection.execute(statement).all())

    def sql(self, plan: Plan) -> str:
        """The statement for ``plan`` as text (for inspection and docs)."""
        return str(
            compile_plan(plan, self.source, self.dialect).compile(self.engine, compile_kwargs={"literal_binds": True})
        )


def run_on_builtin(backend: Any, dataset: str, plan: Plan) -> list[Row]:
    """``plan`` over the store's built-in events table of ``dataset``, in one read-only unit of work."""
    from dataclasses import replace

    from metricscore.evaluation.events import BUILTIN_SOURCE, EVENTS

    from .schema import short_name

    # The index sql_table (and migration 0005) give the ordering (name, customer, timestamp).
    index = short_name(f"ix_{EVENTS.name}_name_customer_timestamp")
    source = replace(BUILTIN_SOURCE, filters={"dataset": dataset}, customer_index=index)
    with backend.unit_of_work(write=False) as uow:
        uow.repository(EVENTS)  # creates the table when the schema is not managed by migrations
        runner = SQLEvents(backend.engine, source)
        return runner.run(plan, uow.connection)


# -- listing the built-in events -----------------------------------------------------------------


def _selection(table: sa.Table, dataset: str, query: EventQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [table.c.dataset == dataset]
    if query.customers is not None:
        where.append(table.c.customer.in_(query.customers) if query.customers else sa.false())
    if query.name is not None:
        where.append(table.c.name == query.name)
    if query.id is not None:
        where.append(table.c.id == query.id)
    if query.since is not None:
        where.append(table.c.timestamp >= query.since)
    if query.until is not None:
        where.append(table.c.timestamp < query.until)
    return where


def find_builtin_events(backend: Any, dataset: str, query: EventQuery) -> list[Event]:
    """The built-in events of ``dataset`` that ``query`` selects, in its order, read by keyset: on
    the ingestion order (the ``(dataset, seq)`` unique index), or on (timestamp, seq). Only the
    page leaves the database."""
    from metricscore.backends.sql.schema import short_name, sql_table
    from metricscore.evaluation.events import EVENTS, event_from_record

    from .statements import keyset_after

    table = sql_table(EVENTS).main
    where = _selection(table, dataset, query)
    keys = [table.c.timestamp, table.c.seq] if query.by_timestamp else [table.c.seq]
    if query.after is not None:
        values = [sa.literal(value, key.type) for key, value in zip(keys, query.after, strict=True)]
        where.append(keyset_after(keys, values, [query.descending] * len(keys)))
    order = [key.desc() if query.descending else key.asc() for key in keys]
    names = [c.name for c in EVENTS.columns]
    statement = sa.select(*(table.c[name] for name in names)).where(*where).order_by(*order).limit(query.limit)
    if backend.engine.dialect.name in _MYSQL and query.by_timestamp and query.name is None and query.id is None:
        # MariaDB reads a whole dataset and sorts it rather than walk the (dataset, timestamp, seq)
        # index (migration 0006) for a page of it; an event type or id has an index of its own.
        statement = statement.with_hint(table, f"FORCE INDEX ({short_name(f'ix_{EVENTS.name}_timestamp_seq')})")
    with backend.unit_of_work(write=False) as uow:
        uow.repository(EVENTS)  # creates the table when the schema is not managed by migrations
        rows = uow.connection.execute(statement).all()
    return [event_from_record(dict(zip(names, row, strict=True))) for row in rows]


def count_builtin_events(backend: Any, dataset: str, query: EventQuery) -> int:
    """How many built-in events of ``dataset`` pass ``query``'s filters."""
    from metricscore.backends.sql.schema import sql_table
    from metricscore.evaluation.events import EVENTS

    table = sql_table(EVENTS).main
    statement = sa.select(sa.func.count()).select_from(table).where(*_selection(table, dataset, query))
    with backend.unit_of_work(write=False) as uow:
        uow.repository(EVENTS)
        return int(uow.connection.execute(statement).scalar_one())
