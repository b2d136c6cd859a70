"""Pre-built statements for one table, and the translation of a :class:`~metricscore.query.Query`.

Statements are built once per table (get, insert, update, delete) or once per query *shape*
(which filters on which columns, which order, keyset or offset), with every value a bound
parameter, so SQLAlchemy's compiled cache serves repeated calls and Python builds nothing per call.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from metricscore.query import Contains, Eq, Filter, HasAny, In, OrderBy, Query, fold_case
from metricscore.repository import FreshRecord
from metricscore.table import ColumnType

from .schema import PK, TAG, SQLTable, UTCDateTime

_orjson: Any
try:  # the optional ``fast`` extra
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None
_json_loads = json.JSONDecoder().decode

__all__ = ["NO_PREPARE", "KeyRead", "RawStatement", "Statements", "json_text", "keyset_after", "like_pattern"]

#: Execution option: run without a server-side prepared statement (psycopg). A prepared
#: ``LIKE $1`` may get a generic plan that cannot use the trigram index.
NO_PREPARE = "metricscore_no_prepare"
_INT64 = (-(2**63), 2**63 - 1)
_NO_MATCH = object()
TRIGRAM_MIN = 3
MAX_SHAPES = 512
MAX_ROWS = 2**63 - 1


def like_pattern(term: str) -> str:
    """``%term%`` matching ``term`` literally (backslash escapes ``\\``, ``%`` and ``_``)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def keyset_after(
    cols: Sequence[sa.ColumnElement[Any]], values: Sequence[Any], descending: Sequence[bool]
) -> sa.ColumnElement[bool]:
    """Rows strictly after the keyset position ``values`` of the columns ``cols`` (each ascending
    unless ``descending`` says otherwise).

    ``c1 >= a1 AND (c1 > a1 OR (c1 = a1 AND c2 > a2) OR ...)``: the first conjunct is a plain
    range on the leading column, so the ordering index starts at the position.
    """
    alternatives = []
    for k, col in enumerate(cols):
        equal = [cols[j] == values[j] for j in range(k)]
        step = col < values[k] if descending[k] else col > values[k]
        alternatives.append(sa.and_(*equal, step))
    lead = cols[0] <= values[0] if descending[0] else cols[0] >= values[0]
    return sa.and_(lead, sa.or_(*alternatives))


def fts_query(columns: Sequence[str], term: str) -> str:
    """An FTS5 query for ``term`` as one phrase (a substring, with the trigram tokenizer)."""
    phrase = '"' + term.replace('"', '""') + '"'
    return "{" + " ".join(columns) + "} : " + phrase


def coerce(kind: ColumnType, value: Any) -> Any:
    """``value`` as the column stores it, or ``_NO_MATCH`` when no stored value can equal it.

    Mirrors Python equality as the memory backend applies it (``1 == 1.0 == True``), and keeps
    values the database could not even compare (a string against an integer column) out of SQL.
    """
    if kind in (ColumnType.STRING, ColumnType.TEXT):
        return value if isinstance(value, str) else _NO_MATCH
    if kind is ColumnType.INTEGER:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int):
            number = int(value)
            return number if _INT64[0] <= number <= _INT64[1] else _NO_MATCH
        return _NO_MATCH
    if kind is ColumnType.FLOAT:
        if isinstance(value, int | float) and not (isinstance(value, float) and not math.isfinite(value)):
            return float(value)
        return _NO_MATCH
    if kind is ColumnType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        return _NO_MATCH
    if kind is ColumnType.DATETIME:
        return value if isinstance(value, datetime) and value.tzinfo is not None else _NO_MATCH
    return _NO_MATCH  # JSON and TAGS values are not compared with Eq/In


def _json_reader(processor: Any) -> Any:
    """SQLite's JSON text read as SQLAlchemy's processor reads it (``json.loads``), by orjson
    when installed; anything else (or anything orjson refuses) goes to the processor."""
    fast = _orjson.loads if _orjson is not None else _json_loads

    def read(value: Any) -> Any:
        if type(value) is str:
            try:
                return fast(value)
            except Exception:  # e.g. an integer past 64 bits: the standard library reads it
                pass
        return processor(value)

    return read


def _datetime_reader(processor: Any) -> Any:
    """SQLAlchemy's stored ``YYYY-MM-DD HH:MM:SS.ffffff`` text as the aware UTC datetime its
    processor returns, by ``datetime.fromisoformat``; any other value goes to the processor."""
    parse = datetime.fromisoformat

    def read(value: Any) -> Any:
        if type(value) is str and len(value) == 26 and value[10] == " " and value[19] == "." and value[20:].isdigit():
            try:
                return parse(value + "+00:00")  # aware at once: cheaper than .replace(tzinfo=UTC)
            except ValueError:
                pass
        return processor(value)

    return read


def _make_json_text() -> Any:
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - a Python built without the json accelerator
        return None
    default = json.JSONEncoder().default
    return make(None, default, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True)


_JSON_ENCODE = _make_json_text()


def json_text(value: Any) -> str | None:
    """The text ``json.dumps(value)`` writes (SQLAlchemy's JSON bind processor on SQLite, with no
    ``json_serializer`` set), for a plain object or array, without ``json.dumps``'s per-call
    set-up: the standard library's own C encoder, made once with the same settings (but no
    circular-reference check). ``None`` for anything else, or anything the encoder refuses."""
    kind = type(value)
    if (kind is dict or kind is list) and _JSON_ENCODE is not None:
        try:
            return "".join(_JSON_ENCODE(value, 0))
        except Exception:  # e.g. a value the encoder cannot write
            pass
    return None


def _json_writer(processor: Any) -> Any:
    """SQLAlchemy's JSON bind processor for SQLite, by :func:`json_text` where it answers; any
    other value goes to the processor, which answers (or fails) as before."""

    def write(value: Any) -> Any:
        text = json_text(value)
        return processor(value) if text is None else text

    return write


def _datetime_writer(processor: Any) -> Any:
    """The bind processor of :class:`~.schema.UTCDateTime` on SQLite (an aware datetime stored
    as naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff`` text) for a datetime already in UTC, by
    ``isoformat``; any other value goes to the processor."""

    def write(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is UTC:
            if value.microsecond and _orjson is not None:
                # orjson writes "YYYY-MM-DDTHH:MM:SS.ffffff+00:00" (the fraction only when it is
                # not zero): the same digits, in under half the time isoformat takes
                return _orjson.dumps(value)[1:27].decode().replace("T", " ")
            return value.isoformat(" ", "microseconds")[:-6]  # without its "+00:00"
        return processor(value)

    return write


def _fast_writer(kind: Any, processor: Any, dialect: Any) -> Any:
    """``processor`` (SQLAlchemy's bind processor of a column type) or a faster equivalent that
    binds exactly the same value; checked on sample values when made, and left out if it differs."""
    if dialect.name != "sqlite":
        return processor
    if isinstance(kind, sa.JSON) and dialect._json_serializer is None:
        fast, samples = _json_writer(processor), _JSON_SAMPLES
    elif isinstance(kind, UTCDateTime):
        fast, samples = _datetime_writer(processor), _DATETIME_SAMPLES
    else:
        return processor
    try:
        same = all(fast(sample) == processor(sample) for sample in samples)
    except Exception:  # pragma: no cover - a processor that refuses the samples
        same = False
    return fast if same else processor


_JSON_SAMPLES: tuple[Any, ...] = (
    {"a": [1, 2.5, -0.0, None, True, '\u00e9\u4e2d\U0001f600\n"x"'], "b": {}, "": []},
    [1e16, 1e-7, 12345678901234567890, {"k": "v"}],
    [],
)
_DATETIME_SAMPLES = (
    datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    datetime(987, 6, 5, 4, 3, 2, 999999, tzinfo=UTC),
)


class RawStatement:
    """A SELECT (or a write) compiled once to the driver's SQL, run on the driver's own cursor.

    The library's hot reads (get, pages, counts) skip SQLAlchemy's per-call execution machinery:
    parameters are bound in the compiled order with SQLAlchemy's own bind processors, and each
    result column is converted by SQLAlchemy's own result processor, except where a faster
    equivalent reads exactly the same value (SQLite's JSON text and datetime text).
    """

    __slots__ = (
        "_dialect",
        "_positional_processors",
        "_types",
        "convert",
        "defaults",
        "no_prepare",
        "positional",
        "processors",
        "sql",
    )

    def __init__(self, statement: Any, dialect: Any, keys: Sequence[str] | None = None) -> None:
        # ``keys``: an INSERT or UPDATE's parameter names, which pick its columns (as
        # SQLAlchemy compiles one per set of keys when it executes it)
        compiled = statement.compile(dialect=dialect, column_keys=None if keys is None else list(keys))
        self.sql = compiled.string
        self.positional: list[str] | None = list(compiled.positiontup or ()) if compiled.positional else None
        self.defaults = {name: bind.effective_value for name, bind in compiled.binds.items()}
        self.processors: dict[str, Any] = {
            name: _fast_writer(compiled.binds[name].type, processor, dialect) if name in compiled.binds else processor
            for name, processor in compiled._bind_processors.items()
        }
        psycopg = dialect.name == "postgresql" and dialect.driver == "psycopg"
        self.no_prepare = psycopg and bool(statement.get_execution_options().get(NO_PREPARE))
        #: (position, processor) of the positional parameters that have one
        self._positional_processors = [
            (index, self.processors[name])
            for index, name in enumerate(self.positional or ())
            if self.processors.get(name) is not None
        ]
        self._types = [column[3] for column in compiled._result_columns]
        self._dialect = dialect
        #: (column index, converter) for the columns that need one; set at the first execution,
        #: when the driver's type codes are known (SQLAlchemy's processors may depend on them)
        self.convert: list[tuple[int, Any]] | None = None

    def converters(self, description: Any) -> list[tuple[int, Any]]:
        dialect = self._dialect
        convert: list[tuple[int, Any]] = []
        for index, kind in enumerate(self._types):
            coltype = description[index][1] if description is not None and index < len(description) else None
            processor = kind._cached_result_processor(dialect, coltype)
            if processor is None:
                continue
            if dialect.name == "sqlite" and isinstance(kind, sa.JSON) and dialect._json_deserializer is None:
                processor = _json_reader(processor)
            elif dialect.name == "sqlite" and isinstance(kind, sa.TypeDecorator) and isinstance(kind.impl, sa.DateTime):
                processor = _datetime_reader(processor)
            convert.append((index, processor))
        self.convert = convert
        return convert

    @staticmethod
    def usable(statement: sa.Select[Any], dialect: Any) -> bool:
        """Plain binds only (an expanding ``IN`` list is left to SQLAlchemy)."""
        compiled = statement.compile(dialect=dialect)
        return not any(bind.expanding or bind.literal_execute for bind in compiled.binds.values())

    def arguments(self, params: dict[str, Any]) -> Any:
        defaults, processors = self.defaults, self.processors
        if self.positional is not None:
            values = [params[name] if name in params else defaults[name] for name in self.positional]
            for i, processor in self._positional_processors:
                values[i] = processor(values[i])
            return values
        merged = {**defaults, **params}
        for name, processor in processors.items():
            merged[name] = processor(merged[name])
        return merged

    def rows(self, rows: Sequence[Any], description: Any) -> Sequence[Any]:
        convert = self.convert
        if convert is None:
            convert = self.converters(description)
        if not convert:
            return rows
        out = []
        for row in rows:
            values = list(row)
            for index, processor in convert:
                value = values[index]
                if value is not None:
                    values[index] = processor(value)
            out.append(values)
        return out


class KeyRead:
    """The get-by-key SELECT on the driver, as a ``get`` outside a unit of work runs it: the
    arguments built straight from the scope and the id, the one row converted into a record."""

    __slots__ = ("_scope_columns", "_scope_params", "names", "raw")

    def __init__(self, raw: RawStatement, scope_params: dict[str, str], names: list[str]) -> None:
        self.raw = raw
        self.names = names
        by_param = {param: column for column, param in scope_params.items()}
        order = raw.positional
        plain = order is not None and not raw.processors and order[-1:] == ["_id"]
        plain = plain and order is not None and all(param in by_param for param in order[:-1])
        #: the scope's columns in the statement's parameter order, when the driver takes the
        #: values as they are (``None``: bind them as :meth:`RawStatement.arguments` does)
        self._scope_columns = [by_param[param] for param in order[:-1]] if plain and order is not None else None
        self._scope_params = scope_params

    def arguments(self, scope: Any, id: str) -> Any:
        columns = self._scope_columns
        if columns is not None:
            values = [scope[column] for column in columns]
            values.append(id)
            return values
        params = {param: scope[column] for column, param in self._scope_params.items()}
        params["_id"] = id
        return self.raw.arguments(params)

    def record(self, row: Sequence[Any], description: Any) -> FreshRecord:
        raw = self.raw
        convert = raw.convert
        if convert is None:
            convert = raw.converters(description)
        values = list(row)
        for index, processor in convert:
            value = values[index]
            if value is not None:
                values[index] = processor(value)
        return FreshRecord(zip(self.names, values))  # noqa: B905 - one compiled statement: as many values as names


class Statements:
    """Every statement one table needs, for one database dialect."""

    def __init__(self, sql_table: SQLTable, dialect: str, fts: bool) -> None:
        self.sql_table = sql_table
        self.dialect = dialect
        #: SQLite FTS5 index present
        self.fts = fts
        spec = sql_table.spec
        main = sql_table.main
        self.names = [c.name for c in sql_table.columns]
        self.scope_params = {c: f"_s_{c}" for c in spec.scope}
        self.id_name = spec.id_column
        self.kinds = {c.name: c.type for c in spec.columns}
        #: the key's columns (scope and id), which an UPDATE never sets
        self.key_columns = frozenset((*spec.scope, spec.id_column))
        #: the columns an update compares with what it read, and (column, its folded copy)
        self.compared = [name for name in self.names if name not in self.key_columns]
        self.folded_pairs = [(name, folded.name) for name, folded in sql_table.folded.items()]
        #: (index in :attr:`names`, name) of the columns stored as JSON
        self.json_columns = [
            (index, name)
            for index, name in enumerate(self.names)
            if self.kinds.get(name) in (ColumnType.JSON, ColumnType.TAGS)
        ]
        self._lock = threading.Lock()
        self._finds: dict[tuple[Any, ...], sa.Select[Any]] = {}
        self._counts: dict[tuple[Any, ...], sa.Select[Any]] = {}
        #: statement -> its driver-level form (``None``: run it through SQLAlchemy)
        self._raw: dict[int, tuple[sa.Select[Any], RawStatement | None]] = {}
        #: (write statement, its parameter names) -> its driver-level form
        self._raw_writes: dict[tuple[int, frozenset[str]], tuple[Any, RawStatement]] = {}
        self._key_read: tuple[Any, KeyRead | None] | None = None

        key = self._key_where(main)
        self.get = sa.select(*sql_table.columns).where(*key)
        #: the read of a record a write unit is about to change: its row stays locked until commit
        self.get_for_update = self.get.with_for_update() if dialect == "postgresql" else self.get
        if dialect == "postgresql":
            # No error, so the transaction stays usable; a refused row returns no row.
            self.insert: sa.Executable = postgresql.insert(main).on_conflict_do_nothing().returning(main.c[PK])
        else:
            self.insert = sa.insert(main)
        self.update = sa.update(main).where(*key)
        self.delete = sa.delete(main).where(*key)
        self.exists = sa.select(sa.literal(1)).select_from(main).where(*key)
        self.tag_insert = {name: sa.insert(t) for name, t in sql_table.tags.items()}
        self.tag_delete = {name: sa.delete(t).where(*self._key_where(t)) for name, t in sql_table.tags.items()}
        self.key_exists: dict[str, sa.Select[Any]] = {}
        #: every column of a unique key
        self.unique_columns = frozenset(column for key in spec.unique_keys for column in key.columns)
        for unique in spec.unique_keys:
            where = [*self._scope_where(main)]
            where += [main.c[c] == sa.bindparam(f"_k_{c}", type_=main.c[c].type) for c in unique.columns]
            self.key_exists[unique.name] = sa.select(sa.literal(1)).select_from(main).where(*where).limit(1)

    def _scope_where(self, table: sa.Table) -> list[sa.ColumnElement[bool]]:
        return [table.c[c] == sa.bindparam(p, type_=table.c[c].type) for c, p in self.scope_params.items()]

    def _key_where(self, table: sa.Table) -> list[sa.ColumnElement[bool]]:
        id_col = table.c[self.id_name]
        return [*self._scope_where(table), id_col == sa.bindparam("_id", type_=id_col.type)]

    def raw(self, statement: sa.Select[Any], dialect: Any) -> RawStatement | None:
        """``statement`` compiled for the driver, or ``None`` when SQLAlchemy must run it."""
        found = self._raw.get(id(statement))
        if found is not None and found[0] is statement:
            return found[1]
        raw = RawStatement(statement, dialect) if RawStatement.usable(statement, dialect) else None
        with self._lock:
            if len(self._raw) >= 2 * MAX_SHAPES + 8:
                self._raw.clear()
            self._raw[id(statement)] = (statement, raw)
        return raw

    def key_read(self, dialect: Any) -> KeyRead | None:
        """:attr:`get` as a :class:`KeyRead` for ``dialect``, or ``None`` when SQLAlchemy must run it."""
        found = self._key_read
        if found is not None and found[0] is dialect:
            return found[1]
        raw = self.raw(self.get, dialect)
        reader = None if raw is None else KeyRead(raw, self.scope_params, self.names)
        self._key_read = (dialect, reader)
        return reader

    def raw_write(self, statement: Any, dialect: Any, keys: Any) -> RawStatement:
        """The write ``statement`` (one of this table's INSERT, UPDATE or DELETE statements, with
        plain binds) compiled for the driver with the parameter names ``keys``."""
        key = (id(statement), frozenset(keys))
        found = self._raw_writes.get(key)
        if found is not None and found[0] is statement:
            return found[1]
        raw = RawStatement(statement, dialect, list(keys))
        with self._lock:
            if len(self._raw_writes) >= MAX_SHAPES:
                self._raw_writes.clear()
            self._raw_writes[key] = (statement, raw)
        return raw

    def key_params(self, scope: Any, id: Any) -> dict[str, Any]:
        params = {p: scope[c] for c, p in self.scope_params.items()}
        params["_id"] = id
        return params

    # -- queries ---------------------------------------------------------------------------------

    def find(self, scope: Any, query: Query, *, counted: bool = False) -> tuple[sa.Select[Any], dict[str, Any]] | None:
        """The SELECT for ``query`` and its parameters; ``None`` when nothing can match.

        ``counted`` adds a last column holding the number of rows matching the filters (before
        keyset, offset and limit), so a page and its total cost one round trip.
        """
        shape, params = self._filters(scope, query.filters)
        if shape is None:
            return None
        order = tuple((o.column, o.descending) for o in query.order)
        has_after = query.after is not None
        if has_after:
            assert query.after is not None
            for i, (_o, value) in enumerate(zip(query.order, query.after, strict=True)):
                params[f"_a{i}"] = value
        has_offset = query.offset > 0
        has_limit = query.limit is not None
        # Clamped to 64 bits (no table has more rows), so any Python int a caller sends is valid SQL.
        if has_offset:
            params["_offset"] = min(query.offset, MAX_ROWS)
        if has_limit:
            assert query.limit is not None
            params["_limit"] = min(query.limit, MAX_ROWS)
        key = (shape, order, has_after, has_offset, has_limit, counted)
        stmt = self._finds.get(key)
        if stmt is None:
            stmt = self._build_find(shape, query.order, has_after, has_offset, has_limit, counted)
            with self._lock:
                if len(self._finds) >= MAX_SHAPES:  # bounded: shapes come from callers' queries
                    self._finds.clear()
                self._finds[key] = stmt
        return stmt, params

    def count(self, scope: Any, filters: tuple[Filter, ...]) -> tuple[sa.Select[Any], dict[str, Any]] | None:
        shape, params = self._filters(scope, filters)
        if shape is None:
            return None
        stmt = self._counts.get(shape)
        if stmt is None:
            main = self.sql_table.main
            stmt = sa.select(sa.func.count()).select_from(main).where(*self._where(shape))
            if any(part[0] == "contains" for part in shape):
                stmt = stmt.execution_options(**{NO_PREPARE: True})
            with self._lock:
                if len(self._counts) >= MAX_SHAPES:
                    self._counts.clear()
                self._counts[shape] = stmt
        return stmt, params

    def _filters(self, scope: Any, filters: tuple[Filter, ...]) -> tuple[tuple[Any, ...] | None, dict[str, Any]]:
        """The shape of ``filters`` (what the statement depends on) and the bound values."""
        params: dict[str, Any] = {p: scope[c] for c, p in self.scope_params.items()}
        shape: list[tuple[Any, ...]] = []
        for i, f in enumerate(filters):
            if isinstance(f, Eq):
                if f.value is None:
                    shape.append(("null", f.column))
                    continue
                value = coerce(self.kinds[f.column], f.value)
                if value is _NO_MATCH:
                    return None, params
                shape.append(("eq", f.column))
                params[f"_f{i}"] = value
            elif isinstance(f, In):
                values = [coerce(self.kinds[f.column], v) for v in f.values if v is not None]
                values = list(dict.fromkeys(v for v in values if v is not _NO_MATCH))
                if not values:
                    return None, params
                shape.append(("in", f.column))
                params[f"_f{i}"] = values
            elif isinstance(f, HasAny):
                tags = [t for t in dict.fromkeys(f.values) if isinstance(t, str)]
                if not tags:
                    return None, params
                shape.append(("has", f.column))
                params[f"_f{i}"] = tags
            elif isinstance(f, Contains):
                term = fold_case(f.term)
                columns = tuple(f.columns)
                use_fts = self.fts and len(term) >= TRIGRAM_MIN and all(c in self.sql_table.folded for c in columns)
                shape.append(("contains", columns, use_fts))
                params[f"_f{i}"] = like_pattern(term)
                if use_fts:
                    params[f"_t{i}"] = fts_query([self.sql_table.folded[c].name for c in columns], term)
            else:  # pragma: no cover - a new filter kind must be taught to every backend
                raise TypeError(f"unknown filter {f!r}")
        return tuple(shape), params

    def _where(self, shape: tuple[Any, ...]) -> list[sa.ColumnElement[bool]]:
        sql_table = self.sql_table
        main = sql_table.main
        where = self._scope_where(main)
        for i, part in enumerate(shape):
            kind = part[0]
            if kind == "null":
                where.append(main.c[part[1]].is_(None))
            elif kind == "eq":
                col = main.c[part[1]]
                where.append(col == sa.bindparam(f"_f{i}", type_=col.type))
            elif kind == "in":
                col = main.c[part[1]]
                where.append(col.in_(sa.bindparam(f"_f{i}", expanding=True, type_=col.type)))
            elif kind == "has":
                tags = sql_table.tags[part[1]]
                sub = sa.select(tags.c[self.id_name]).where(
                    *self._scope_where(tags),
                    tags.c[TAG].in_(sa.bindparam(f"_f{i}", expanding=True, type_=tags.c[TAG].type)),
                )
                where.append(main.c[self.id_name].in_(sub))
            elif kind == "contains":
                _, columns, use_fts = part
                pattern = sa.bindparam(f"_f{i}", type_=sa.String())
                escape = "\\" if self.dialect == "sqlite" else None
                matches = []
                for name in columns:
                    folded = sql_table.folded.get(name)
                    target = folded if folded is not None else sa.func.lower(main.c[name])
                    matches.append(target.like(pattern, escape=escape))
                if use_fts:
                    fts = sql_table.fts_name
                    candidates = sa.text(f'SELECT rowid FROM "{fts}" WHERE "{fts}" MATCH :_t{i}').columns(
                        sa.column("rowid", sa.Integer)
                    )
                    where.append(main.c[PK].in_(candidates))
                where.append(sa.or_(*matches))
        return where

    def _build_find(
        self,
        shape: tuple[Any, ...],
        order: tuple[OrderBy, ...],
        has_after: bool,
        has_offset: bool,
        has_limit: bool,
        counted: bool = False,
    ) -> sa.Select[Any]:
        main = self.sql_table.main
        columns: list[Any] = list(self.sql_table.columns)
        if counted:
            # Not correlated: the subquery counts its own FROM, with the same filters.
            total = sa.select(sa.func.count()).select_from(main).where(*self._where(shape)).correlate(None)
            columns.append(total.scalar_subquery().label("_total"))
        stmt = sa.select(*columns).where(*self._where(shape))
        if has_after:
            stmt = stmt.where(self._after(order))
        if order:
            stmt = stmt.order_by(*(main.c[o.column].desc() if o.descending else main.c[o.column].asc() for o in order))
        else:  # no order asked: insertion order, as the memory backend keeps it
            stmt = stmt.order_by(main.c[PK])
        if has_limit:
            stmt = stmt.limit(sa.bindparam("_limit", type_=sa.BigInteger()))
        if has_offset:
            stmt = stmt.offset(sa.bindparam("_offset", type_=sa.BigInteger()))
        if any(part[0] == "contains" for part in shape):
            stmt = stmt.execution_options(**{NO_PREPARE: True})
        return stmt

    def _after(self, order: tuple[OrderBy, ...]) -> sa.ColumnElement[bool]:
        """Rows strictly after the keyset position ``_a0, _a1, ...`` in ``order``.

        ``c1 >= a1 AND (c1 > a1 OR (c1 = a1 AND c2 > a2) OR ...)``: the first conjunct is a plain
        range on the leading column, so the ordering index starts at the position.
        """
        main = self.sql_table.main
        cols = [main.c[o.column] for o in order]
        values = [sa.bindparam(f"_a{i}", type_=c.type) for i, c in enumerate(cols)]
        return keyset_after(cols, values, [o.descending for o in order])
