"""ClickHouse: plans compiled by :mod:`.evaluation` with a compile-only SQLAlchemy dialect.

The dialect renders every value inline (ClickHouse quoting: backslash and quote escaped) so the
statement can be sent as text to chDB (``pip install 'metricscore[clickhouse]'``, ClickHouse's
embedded engine) or to any ClickHouse server through a caller-supplied ``query`` function.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import default
from sqlalchemy.sql import compiler

from metricscore.errors import ConfigurationError, StorageError
from metricscore.evaluation.events import EventsSource
from metricscore.evaluation.plan import Plan, Row

from .evaluation import clickhouse_moment, compile_plan, normalize_rows

__all__ = ["ClickHouseDialect", "ClickHouseEvents", "literal", "to_sql"]

SETTINGS = "SETTINGS aggregate_functions_null_for_empty = 1, output_format_json_quote_decimals = 1"


def literal(value: Any) -> str:
    """``value`` as a ClickHouse literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return f"toDecimal128('{value}', 12)"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return clickhouse_moment(value)
    if isinstance(value, dt.date):
        return f"toDate32('{value.isoformat()}')"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    raise TypeError(f"no ClickHouse literal for {type(value).__name__}")


class _Compiler(compiler.SQLCompiler):
    def render_literal_value(self, value: Any, type_: Any) -> str:
        return literal(value)

    def visit_true(self, expr: Any, **kw: Any) -> str:
        return "true"

    def visit_false(self, expr: Any, **kw: Any) -> str:
        return "false"


class ClickHouseDialect(default.DefaultDialect):
    """Enough of ClickHouse for the statements the evaluation compiler builds."""

    name = "clickhouse"
    statement_compiler = _Compiler
    supports_native_boolean = True
    supports_statement_cache = False
    paramstyle = "named"


def to_sql(plan: Plan, source: EventsSource) -> str:
    statement = compile_plan(plan, source, "clickhouse")
    text = str(statement.compile(dialect=ClickHouseDialect(), compile_kwargs={"literal_binds": True}))
    return f"{text} {SETTINGS}"


class ClickHouseEvents:
    """Evaluates plans on a ClickHouse table.

    ``query(sql) -> JSON text`` runs a statement and returns its ``JSONCompact`` output; by
    default an in-process chDB session (``session`` may be an existing ``chdb.session.Session``).
    """

    def __init__(self, source: EventsSource, *, session: Any = None, query: Callable[[str], str] | None = None) -> None:
        self.source = source
        if query is None:
            if session is None:
                try:
                    from chdb import session as chdb_session
                except ImportError as error:
                    raise ConfigurationError(
                        "ClickHouse evaluation needs chDB: pip install 'metricscore[clickhouse]'"
                    ) from error
                session = chdb_session.Session()  # type: ignore[no-untyped-call]
            self.session = session

            def run(sql: str) -> str:
                return str(session.query(sql, "JSONCompact"))

            query = run
        self.query = query

    def run(self, plan: Plan) -> list[Row]:
        sql = to_sql(plan, self.source)
        try:
            output = self.query(sql)
        except Exception as error:
            raise StorageError(f"Evaluation failed on ClickHouse: {type(error).__name__}: {error}") from error
        rows = json.loads(output)["data"] if output.strip() else []
        return normalize_rows(plan, rows)

    def sql(self, plan: Plan) -> str:
        return to_sql(plan, self.source)
