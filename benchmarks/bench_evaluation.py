"""Evaluation benchmark: compiled plans against hand-written SQL, and against the reference evaluator.

Not a test (nothing asserts a time). N generated events (1,000,000 by default, 20,000 with
``--quick``) go into an events table in each engine (SQLite, DuckDB, ClickHouse via chDB, and
PostgreSQL / MariaDB when a server URL is set), in two layouts: ``json``, the built-in events
table, whose properties are one JSON text column every engine parses per row; and ``flat``, the
same events in a table with the two properties the metrics read (``bytes``, ``region``) as their
own text columns, declared with ``EventsSource(property_columns=...)`` as a production events
table usually is. Two evaluations run on each layout:

- ``sequence``: a Sequence SUM usage metric with a property filter, for 10 customers over January
  (supersession by customer event id, exact decimal sum, min/max event id), as ``calculate`` runs it;
- ``statsig``: a Statsig ``sum`` metric per unit per day (days at UTC-8) over 31 days.

Each compiled statement is timed against the same aggregate written by hand in that engine's SQL
over the same table (target: at most 1.2x), and the reference evaluator's time (measured on a
20,000-event subset and scaled linearly, as it is linear; the same for both layouts) against the
engine's (target: engine at least 50x faster, i.e. ratio <= 0.02); the reference is also timed
as it would run without pushdown, decoding the rows a table returns (JSON text, ISO timestamps)
first (no target, for context). Python memory is
measured with tracemalloc while the database evaluates N events: the rows stay in the database,
so the peak is the same at 20,000 (``--quick``) and at 1,000,000 events.

    .venv/bin/python -m benchmarks.bench_evaluation [--quick] [--events N] [--no-servers] [--engines sqlite,...]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from metricscore.backends.sql.clickhouse import ClickHouseEvents
from metricscore.backends.sql.evaluation import SQLEvents
from metricscore.backends.sql.event_tables import CLICKHOUSE_ORDER, create_events_table, customer_index, events_table
from metricscore.backends.sql.schema import _string
from metricscore.backends.sql.testing import dedicated_database
from metricscore.evaluation.compile import daily_plan, period_plan
from metricscore.evaluation.events import BUILTIN_SOURCE, Event
from metricscore.evaluation.plan import Field, Measure, Plan
from metricscore.evaluation.reference import evaluate_plan
from metricscore.meaning import meaning_of

from .common import Result, paired, print_table

__all__ = ["main"]

TABLE = "bench_events"
DATASET = "bench"
SPAN = 40 * 86400  # events spread over 40 days from 2026-01-01
BASE = datetime(2026, 1, 1, tzinfo=UTC)
CUSTOMERS = tuple(f"c{i}" for i in range(10))
NUMBER = r"[-+]?[0-9]{1,18}(\.[0-9]{1,12})?"
SOURCE = replace(BUILTIN_SOURCE, table=TABLE, filters={"dataset": DATASET}, customer_index=customer_index(TABLE))
#: The same events in a table with the two properties the metrics read as their own text columns
#: (as production events tables are usually laid out), declared through ``property_columns``.
FLAT_TABLE = "bench_events_flat"
FLAT_SOURCE = replace(
    SOURCE,
    table=FLAT_TABLE,
    properties=None,
    property_columns={"bytes": "bytes", "region": "region"},
    customer_index=customer_index(FLAT_TABLE),
)
SEQUENCE_METRIC = {
    "name": "bytes",
    "metricType": "SIMPLE",
    "eventType": "sent",
    "aggregationType": "SUM",
    "aggregationProperty": "bytes",
    "propertyFilters": {"region": ["eu"]},
}
STATSIG_METRIC = {
    "name": "bytes",
    "type": "sum",
    "unitTypes": ["userID"],
    "metricEvents": [{"name": "sent", "type": "metadata", "metadataKey": "bytes"}],
}
_IDS = (Measure("min_text", Field("id")), Measure("max_text", Field("id")))


def sequence_plan() -> Plan:
    meaning = meaning_of("sequence.usage_metrics", SEQUENCE_METRIC)
    return period_plan(meaning, date(2026, 1, 1), date(2026, 1, 31), customers=CUSTOMERS, extra=_IDS)


def statsig_plan() -> Plan:
    meaning = meaning_of("statsig.metrics", STATSIG_METRIC)
    return daily_plan(meaning, date(2026, 1, 1), date(2026, 1, 31), -8 * 3600, "userID")


# -- generated events: the same formula in Python and in each engine's SQL ------------------------


def python_events(n: int) -> list[Event]:
    out = []
    for i in range(1, n + 1):
        props = {"bytes": f"{i * 7919 % 1000}.{i % 10}", "region": "us" if i % 3 == 0 else "eu"}
        out.append(
            Event(
                id=f"e{i}",
                name="other" if i % 4 == 0 else "sent",
                timestamp=BASE + timedelta(seconds=i * 37 % SPAN),
                customer=f"c{i % 100}",
                dedupe_key=f"k{i % 5000}" if i % 50 == 0 else None,
                properties=props,
                seq=i,
            )
        )
    return out


_COLUMNS = "dataset, id, seq, name, timestamp, customer, dedupe_key, value, properties"


def _generate_sql(dialect: str, n: int) -> str:
    if dialect == "sqlite":
        return (
            f'INSERT INTO {TABLE} (dataset, id, seq, name, "timestamp", customer, dedupe_key, value, properties) '
            f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "
            f"SELECT '{DATASET}', 'e' || i, i, CASE WHEN i % 4 = 0 THEN 'other' ELSE 'sent' END, "
            f"strftime('%Y-%m-%d %H:%M:%S', '2026-01-01', '+' || (i * 37 % {SPAN}) || ' seconds') || '.000000', "
            "'c' || (i % 100), CASE WHEN i % 50 = 0 THEN 'k' || (i % 5000) END, NULL, "
            '\'{"bytes":"\' || (i * 7919 % 1000) || \'.\' || (i % 10) || \'","region":"\' || '
            "CASE WHEN i % 3 = 0 THEN 'us' ELSE 'eu' END || '\"}' FROM s"
        )
    if dialect == "postgresql":
        return (
            f'INSERT INTO {TABLE} (dataset, id, seq, name, "timestamp", customer, dedupe_key, value, properties) '
            f"SELECT '{DATASET}', 'e' || i, i, CASE WHEN i % 4 = 0 THEN 'other' ELSE 'sent' END, "
            f"TIMESTAMPTZ '2026-01-01 00:00:00+00' + make_interval(secs => i * 37 % {SPAN}), "
            "'c' || (i % 100), CASE WHEN i % 50 = 0 THEN 'k' || (i % 5000) END, NULL, "
            '\'{"bytes":"\' || (i * 7919 % 1000) || \'.\' || (i % 10) || \'","region":"\' || '
            f"CASE WHEN i % 3 = 0 THEN 'us' ELSE 'eu' END || '\"}}' "
            f"FROM generate_series(CAST(1 AS BIGINT), {n}) AS g(i)"
        )
    if dialect in ("mysql", "mariadb"):
        return (
            f"INSERT INTO {TABLE} ({_COLUMNS.replace('timestamp', '`timestamp`')}) "
            f"SELECT '{DATASET}', CONCAT('e', seq), seq, IF(seq % 4 = 0, 'other', 'sent'), "
            f"TIMESTAMP '2026-01-01 00:00:00' + INTERVAL (seq * 37 % {SPAN}) SECOND, "
            "CONCAT('c', seq % 100), IF(seq % 50 = 0, CONCAT('k', seq % 5000), NULL), NULL, "
            'CONCAT(\'{"bytes":"\', seq * 7919 % 1000, \'.\', seq % 10, \'","region":"\', '
            f"IF(seq % 3 = 0, 'us', 'eu'), '\"}}') FROM seq_1_to_{n}"
        )
    if dialect == "duckdb":
        return (
            f'INSERT INTO {TABLE} (dataset, id, seq, name, "timestamp", customer, dedupe_key, value, properties) '
            f"SELECT '{DATASET}', 'e' || i, i, CASE WHEN i % 4 = 0 THEN 'other' ELSE 'sent' END, "
            f"TIMESTAMP '2026-01-01 00:00:00' + to_seconds(i * 37 % {SPAN}), "
            "'c' || (i % 100), CASE WHEN i % 50 = 0 THEN 'k' || (i % 5000) END, NULL, "
            '\'{"bytes":"\' || (i * 7919 % 1000) || \'.\' || (i % 10) || \'","region":"\' || '
            f"CASE WHEN i % 3 = 0 THEN 'us' ELSE 'eu' END || '\"}}' FROM range(1, {n + 1}) AS t(i)"
        )
    # clickhouse
    return (
        f"INSERT INTO {TABLE} ({_COLUMNS}) "
        f"SELECT '{DATASET}', concat('e', toString(number)), number, if(number % 4 = 0, 'other', 'sent'), "
        f"toDateTime64('2026-01-01 00:00:00', 6, 'UTC') + toIntervalSecond(number * 37 % {SPAN}), "
        "concat('c', toString(number % 100)), if(number % 50 = 0, concat('k', toString(number % 5000)), NULL), NULL, "
        'concat(\'{"bytes":"\', toString(number * 7919 % 1000), \'.\', toString(number % 10), \'","region":"\', '
        f"if(number % 3 = 0, 'us', 'eu'), '\"}}') FROM numbers(1, {n})"
    )


# -- the same aggregates, written by hand in each engine's SQL ------------------------------------

_IN = ", ".join(f"'{c}'" for c in CUSTOMERS)


_ESCAPED = NUMBER.replace("\\", "\\\\")


def _guarded_sum(dialect: str, text: str) -> str:
    """The exact sum of the numeric texts, written by hand for ``dialect``."""
    if dialect == "sqlite":
        return f"metricscore_text_sum({text})"
    if dialect == "postgresql":
        return f"sum(CASE WHEN {text} ~ '^{NUMBER}$' THEN CAST({text} AS NUMERIC) END)"
    if dialect == "mysql":
        return f"sum(CASE WHEN {text} REGEXP '^{_ESCAPED}\\\\z' THEN CAST({text} AS DECIMAL(38, 12)) END)"
    if dialect == "duckdb":
        return f"sum(CASE WHEN regexp_full_match({text}, '{NUMBER}') THEN CAST({text} AS DECIMAL(38, 12)) END)"
    return f"sum(if(match({text}, '^{_ESCAPED}$'), toDecimal128OrNull({text}, 12), NULL))"


_JSON_TEXT = {
    "sqlite": "CAST(json_extract(properties, '$.{k}') AS TEXT)",
    "postgresql": "(CAST(properties AS JSON) ->> '{k}')",
    "mysql": "(CONVERT(JSON_VALUE(properties, '$.{k}') USING utf8mb4) COLLATE utf8mb4_nopad_bin)",
    "duckdb": "json_extract_string(CAST(properties AS JSON), '$.{k}')",
    "clickhouse": "JSONExtract(properties, '{k}', 'Nullable(String)')",
}


def _property(dialect: str, key: str, flat: bool) -> str:
    """A property's text, by hand: its own column in the flat table, else parsed from the JSON."""
    return key if flat else _JSON_TEXT[dialect].format(k=key)


def _hand_sequence(dialect: str, flat: bool = False) -> str:
    table = FLAT_TABLE if flat else TABLE
    bytes_, region = _property(dialect, "bytes", flat), _property(dialect, "region", flat)
    total = _guarded_sum(dialect, bytes_)
    ts = "`timestamp`" if dialect == "mysql" else '"timestamp"'
    start, end = "'2026-01-01 00:00:00.000000'", "'2026-02-01 00:00:00.000000'"
    if dialect == "postgresql":
        start, end = "TIMESTAMPTZ '2026-01-01 00:00:00+00'", "TIMESTAMPTZ '2026-02-01 00:00:00+00'"
    if dialect == "clickhouse":
        start, end = "toDateTime64('2026-01-01 00:00:00', 6, 'UTC')", "toDateTime64('2026-02-01 00:00:00', 6, 'UTC')"
    if dialect == "duckdb":
        start, end = "TIMESTAMP '2026-01-01 00:00:00'", "TIMESTAMP '2026-02-01 00:00:00'"
    ids = 'min(id COLLATE "C"), max(id COLLATE "C")' if dialect == "postgresql" else "min(id), max(id)"
    # MariaDB's cost model prefers the (name, timestamp) index whatever the customers select.
    hint = f" FORCE INDEX ({customer_index(table)})" if dialect == "mysql" else ""
    last = (
        f"(dedupe_key, seq) IN (SELECT dedupe_key, max(seq) FROM {table} "
        f"WHERE dataset = '{DATASET}' AND dedupe_key IS NOT NULL GROUP BY dedupe_key)"
        if dialect == "clickhouse"
        else f"NOT EXISTS (SELECT 1 FROM {table} later WHERE later.dataset = '{DATASET}' "
        f"AND later.dedupe_key = {table}.dedupe_key AND later.seq > {table}.seq)"
    )
    sql = (
        f"SELECT count(*), {total}, {ids} FROM {table}{hint} "
        f"WHERE dataset = '{DATASET}' AND {ts} >= {start} AND {ts} < {end} AND customer IN ({_IN}) "
        f"AND name = 'sent' AND {region} = 'eu' AND (dedupe_key IS NULL OR {last})"
    )
    if dialect == "clickhouse":
        sql += " SETTINGS aggregate_functions_null_for_empty = 1"
    return sql


def _hand_statsig(dialect: str, flat: bool = False) -> str:
    table = FLAT_TABLE if flat else TABLE
    bytes_ = (
        "JSON_VALUE(properties, '$.bytes')" if dialect == "mysql" and not flat else _property(dialect, "bytes", flat)
    )
    day = {
        "sqlite": "date(\"timestamp\", '-28800 seconds')",
        "postgresql": "CAST(timezone('UTC', \"timestamp\") - INTERVAL '8 hours' AS DATE)",
        "mysql": "DATE(`timestamp` - INTERVAL 8 HOUR)",
        "duckdb": 'CAST("timestamp" - INTERVAL 8 HOUR AS DATE)',
        "clickhouse": "toDate(timestamp - toIntervalHour(8), 'UTC')",
    }[dialect]
    total = _guarded_sum(dialect, bytes_)
    ts = "`timestamp`" if dialect == "mysql" else '"timestamp"'
    start, end = "'2026-01-01 08:00:00.000000'", "'2026-02-01 08:00:00.000000'"
    if dialect == "postgresql":
        start, end = "TIMESTAMPTZ '2026-01-01 08:00:00+00'", "TIMESTAMPTZ '2026-02-01 08:00:00+00'"
    if dialect == "clickhouse":
        start, end = "toDateTime64('2026-01-01 08:00:00', 6, 'UTC')", "toDateTime64('2026-02-01 08:00:00', 6, 'UTC')"
    if dialect == "duckdb":
        start, end = "TIMESTAMP '2026-01-01 08:00:00'", "TIMESTAMP '2026-02-01 08:00:00'"
    sql = (
        f"SELECT {day} AS d, customer, count(*), {total} FROM {table} "
        f"WHERE dataset = '{DATASET}' AND {ts} >= {start} AND {ts} < {end} "
        "AND customer IS NOT NULL AND name = 'sent' "
        "GROUP BY 1, 2"
    )
    if dialect == "clickhouse":
        sql += " SETTINGS aggregate_functions_null_for_empty = 1"
    return sql


# -- engines ---------------------------------------------------------------------------------------


class Target:
    def __init__(
        self,
        name: str,
        run_plan: Callable[[Plan, bool], Any],
        run_sql: Callable[[str], Any],
        close: Callable[[], None],
    ) -> None:
        self.name, self.run_plan, self.run_sql, self.close = name, run_plan, run_sql, close


_FLAT_KEPT = "dataset, id, seq, name, timestamp, customer, dedupe_key, value"


def _flat_copy_sql(dialect: str) -> str:
    """Copy the generated events into the flat table, each property into its own column."""
    kept = _FLAT_KEPT.replace("timestamp", "`timestamp`" if dialect == "mysql" else '"timestamp"')
    if dialect == "clickhouse":
        kept = _FLAT_KEPT
    bytes_, region = _JSON_TEXT[dialect].format(k="bytes"), _JSON_TEXT[dialect].format(k="region")
    return f"INSERT INTO {FLAT_TABLE} ({kept}, bytes, region) SELECT {kept}, {bytes_}, {region} FROM {TABLE}"


def _flat_table() -> sa.Table:
    """The flat table: the events table's columns, with ``bytes`` and ``region`` instead of JSON."""
    return sa.Table(
        FLAT_TABLE,
        sa.MetaData(),
        *(
            sa.Column(c.name, c.type, nullable=c.nullable)
            for c in events_table(TABLE).columns
            if c.name != "properties"
        ),
        sa.Column("bytes", _string(64)),
        sa.Column("region", _string(64)),
        sa.Index(f"ix_{FLAT_TABLE}_dataset_name_ts", "dataset", "name", "timestamp"),
        sa.Index(customer_index(FLAT_TABLE), "dataset", "name", "customer", "timestamp"),
        sa.Index(f"ix_{FLAT_TABLE}_dataset_dedupe_seq", "dataset", "dedupe_key", "seq"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )


def _sqlalchemy_target(name: str, engine: sa.Engine, n: int) -> Target:
    from metricscore.backends.sql.evaluation import install_sqlite_functions

    dialect = engine.dialect.name
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {FLAT_TABLE}")
    create_events_table(engine, TABLE)
    with engine.begin() as connection:
        if dialect == "duckdb":
            connection.exec_driver_sql(
                f"CREATE TABLE {FLAT_TABLE} (dataset TEXT NOT NULL, id TEXT NOT NULL, seq BIGINT NOT NULL, "
                'name TEXT NOT NULL, "timestamp" TIMESTAMP NOT NULL, customer TEXT, dedupe_key TEXT, '
                "value TEXT, bytes TEXT, region TEXT)"
            )
        else:
            _flat_table().create(connection)
    with engine.begin() as connection:
        connection.execute(sa.text(_generate_sql(dialect, n)))
        connection.exec_driver_sql(_flat_copy_sql("mysql" if dialect == "mariadb" else dialect))
        for table in (TABLE, FLAT_TABLE):
            if dialect == "postgresql":
                connection.exec_driver_sql(f"ANALYZE {table}")
            if dialect in ("mysql", "mariadb"):
                connection.exec_driver_sql(f"ANALYZE TABLE {table}")
    connection = engine.connect()
    if dialect == "sqlite":
        install_sqlite_functions(connection.connection.dbapi_connection)
    runners = {False: SQLEvents(engine, SOURCE), True: SQLEvents(engine, FLAT_SOURCE)}
    return Target(
        name,
        lambda plan, flat: runners[flat].run(plan, connection),
        lambda sql: connection.execute(sa.text(sql)).all(),
        lambda: (connection.close(), engine.dispose()),
    )


def _clickhouse_target(n: int) -> Target:
    from chdb import session as chdb_session

    session = chdb_session.Session()
    for table in (TABLE, FLAT_TABLE):
        session.query(f"DROP TABLE IF EXISTS {table}")
    create_events_table(session, TABLE)
    session.query(
        f"CREATE TABLE {FLAT_TABLE} (dataset String, id String, seq Int64, name String, "
        "timestamp DateTime64(6, 'UTC'), customer Nullable(String), dedupe_key Nullable(String), "
        "value Nullable(String), bytes Nullable(String), region Nullable(String), "
        "INDEX timestamp_minmax timestamp TYPE minmax GRANULARITY 1) "
        f"ENGINE = MergeTree {CLICKHOUSE_ORDER} SETTINGS allow_nullable_key = 1"
    )
    session.query(_generate_sql("clickhouse", n))
    session.query(_flat_copy_sql("clickhouse"))
    runners = {False: ClickHouseEvents(SOURCE, session=session), True: ClickHouseEvents(FLAT_SOURCE, session=session)}
    return Target(
        "clickhouse",
        lambda plan, flat: runners[flat].run(plan),
        # the rows read into Python, as the SQLAlchemy targets' ``.all()`` reads them
        lambda sql: json.loads(str(session.query(sql, "JSONCompact")))["data"],
        session.close,
    )


ENGINES = ("sqlite", "duckdb", "clickhouse", "postgresql", "mariadb")


def targets(n: int, servers: bool, engines: tuple[str, ...] = ENGINES) -> list[Target]:
    out = []
    if "sqlite" in engines:
        out.append(_sqlalchemy_target("sqlite", sa.create_engine("sqlite://", poolclass=StaticPool), n))
    if "duckdb" in engines:
        out.append(_sqlalchemy_target("duckdb", sa.create_engine("duckdb:///:memory:", poolclass=StaticPool), n))
    if "clickhouse" in engines:
        out.append(_clickhouse_target(n))
    if servers:
        for name, variable in (
            ("postgresql", "METRICSCORE_TEST_POSTGRESQL_URL"),
            ("mariadb", "METRICSCORE_TEST_MYSQL_URL"),
        ):
            url = os.environ.get(variable)
            if url and name in engines:
                database = os.environ.get("METRICSCORE_TEST_DATABASE", "metricscore_bench")
                engine = sa.create_engine(dedicated_database(url, database))
                out.append(_sqlalchemy_target(name, engine, n))
    return out


def _reference_seconds(plan: Plan, events: list[Event], n: int) -> float:
    start = time.perf_counter()
    evaluate_plan(plan, events)
    return (time.perf_counter() - start) * n / len(events)


def _rows_of(events: list[Event]) -> list[dict[str, Any]]:
    """The events as a table hands them over: JSON text, timestamps as ISO strings."""
    return [
        {
            "id": e.id,
            "name": e.name,
            "timestamp": e.timestamp.isoformat(),
            "customer": e.customer,
            "dedupe_key": e.dedupe_key,
            "properties": json.dumps(dict(e.properties)),
        }
        for e in events
    ]


def _reference_from_rows_seconds(plan: Plan, rows: list[dict[str, Any]], n: int) -> float:
    """Without pushdown: decode the rows a table returns, then run the reference evaluator."""
    start = time.perf_counter()
    evaluate_plan(plan, ({**row, "properties": json.loads(row["properties"])} for row in rows))
    return (time.perf_counter() - start) * n / len(rows)


def _peak_python_bytes(run: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv: list[str]) -> list[Result]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_evaluation")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--no-servers", action="store_true")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset of " + ", ".join(ENGINES))
    args, _ = parser.parse_known_args(argv)
    n = args.events or (20_000 if args.quick else 1_000_000)
    rounds = args.rounds or (5 if args.quick else 3)
    # The targets are about 1,000,000 events; a smaller run (CI's --quick) reports ratios only.
    full = n >= 1_000_000
    hand_target, reference_target = (1.2, 0.02) if full else (None, None)
    subset = python_events(min(n, 20_000))
    subset_rows = _rows_of(subset)
    plans = {"sequence": (sequence_plan(), _hand_sequence), "statsig": (statsig_plan(), _hand_statsig)}
    results: list[Result] = []
    memory_rows: list[str] = []
    # The reference evaluator reads the events in memory: one time per plan, whatever the layout.
    reference = {case: _reference_seconds(plan, subset, n) for case, (plan, _) in plans.items()}
    decoded = {case: _reference_from_rows_seconds(plan, subset_rows, n) for case, (plan, _) in plans.items()}
    for target in targets(n, not args.no_servers, tuple(args.engines.split(","))):
        dialect = "mysql" if target.name == "mariadb" else target.name
        try:
            for layout, flat in (("json", False), ("flat", True)):
                for case, (plan, hand) in plans.items():
                    sql = hand(dialect, flat)
                    target.run_plan(plan, flat), target.run_sql(sql)  # warm caches
                    subject_s, baseline_s, ratio = paired(
                        rounds,
                        lambda t=target, p=plan, f=flat: t.run_plan(p, f),
                        lambda t=target, q=sql: t.run_sql(q),
                    )
                    label = f"{target.name} {case} {layout}"
                    results.append(
                        Result(
                            "evaluate",
                            f"{label} vs hand SQL ({n:,} ev)",
                            subject_s,
                            baseline_s,
                            hand_target,
                            paired_ratio=ratio,
                        )
                    )
                    results.append(
                        Result("evaluate", f"{label} vs reference", subject_s, reference[case], reference_target)
                    )
                    if not flat:
                        results.append(Result("evaluate", f"{label} vs reference + decoding", subject_s, decoded[case]))
            if target.name in ("sqlite", "duckdb"):
                peak = _peak_python_bytes(lambda t=target: t.run_plan(plans["sequence"][0], False))
                memory_rows.append(
                    f"{target.name}: peak Python memory while evaluating {n:,} events: {peak / 1024:.0f} KiB"
                )
        finally:
            target.close()
    print_table(results)
    for row in memory_rows:
        print(row)
    return results


if __name__ == "__main__":
    import sys

    sys.exit(1 if any(r.verdict == "MISSED" for r in main(sys.argv[1:])) else 0)
