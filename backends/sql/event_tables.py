"""An events table in DuckDB, ClickHouse or any SQLAlchemy database, laid out like the built-in one.

For users who keep events outside the store (and for the differential tests and benchmarks):
:func:`create_events_table` creates it, :func:`insert_events` appends normalized events, and
:data:`metricscore.evaluation.events.BUILTIN_SOURCE` (with a ``dataset`` filter) declares it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metricscore.evaluation.events import Event, normalize_event

from .clickhouse import literal
from .schema import UTCDateTime, _string

__all__ = [
    "CLICKHOUSE_ORDER",
    "clickhouse_ddl",
    "create_events_table",
    "customer_index",
    "event_rows",
    "events_table",
    "insert_events",
]


def customer_index(name: str = "events") -> str:
    """The name of the (dataset, name, customer, timestamp) index of the table ``name``, for
    ``EventsSource(customer_index=...)`` on MariaDB/MySQL."""
    return f"ix_{name}_dataset_name_customer_ts"


def events_table(name: str = "events", metadata: sa.MetaData | None = None) -> sa.Table:
    """The table for a SQLAlchemy database (binary collations, as the store's tables)."""
    return sa.Table(
        name,
        metadata or sa.MetaData(),
        sa.Column("dataset", _string(200), nullable=False),
        sa.Column("id", _string(200), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("name", _string(255), nullable=False),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.Column("customer", _string(255)),
        sa.Column("dedupe_key", _string(255)),
        sa.Column("value", _string(None)),
        sa.Column("properties", _string(None), nullable=False),
        sa.Index(f"ix_{name}_dataset_name_ts", "dataset", "name", "timestamp"),
        sa.Index(customer_index(name), "dataset", "name", "customer", "timestamp"),
        sa.Index(f"ix_{name}_dataset_dedupe_seq", "dataset", "dedupe_key", "seq"),
        sa.Index(f"ix_{name}_dataset_ts_seq", "dataset", "timestamp", "seq"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )


#: The MergeTree sorting key: a read of one event type for a few customers (Sequence) skips the
#: other customers' granules; within a customer rows are in time order, and the ``timestamp``
#: minmax index skips granules outside a window for reads of every customer (Statsig, PostHog).
#: A MergeTree has one sorting key, so the built-in table's (dataset, timestamp, seq) index has no
#: counterpart here: reads by event time rely on that minmax index.
CLICKHOUSE_ORDER = "ORDER BY (dataset, name, customer, timestamp)"


def clickhouse_ddl(name: str = "events") -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {name} (dataset String, id String, seq Int64, name String, "
        "timestamp DateTime64(6, 'UTC'), customer Nullable(String), dedupe_key Nullable(String), "
        "value Nullable(String), properties String, INDEX timestamp_minmax timestamp TYPE minmax GRANULARITY 1) "
        f"ENGINE = MergeTree {CLICKHOUSE_ORDER} SETTINGS allow_nullable_key = 1"
    )


def create_events_table(target: Engine | Any, name: str = "events") -> None:
    """Create the table (if missing) on a SQLAlchemy engine or a chDB session."""
    if isinstance(target, Engine):
        table = events_table(name)
        if target.dialect.name == "duckdb":
            # duckdb-engine does not reflect the TypeDecorator's variants: plain types.
            with target.begin() as connection:
                connection.exec_driver_sql(
                    f'CREATE TABLE IF NOT EXISTS "{name}" (dataset TEXT NOT NULL, id TEXT NOT NULL, '
                    "seq BIGINT NOT NULL, "
                    'name TEXT NOT NULL, "timestamp" TIMESTAMP NOT NULL, customer TEXT, dedupe_key TEXT, '
                    "value TEXT, properties TEXT NOT NULL)"
                )
            return
        table.metadata.create_all(target, checkfirst=True)
    else:
        target.query(clickhouse_ddl(name))


def event_rows(events: Iterable[Event | Any], dataset: str) -> list[dict[str, Any]]:
    rows = []
    for position, raw in enumerate(events, start=1):
        event = normalize_event(raw)
        rows.append(
            {
                "dataset": dataset,
                "id": event.id,
                "seq": event.seq or position,
                "name": event.name,
                "timestamp": event.timestamp,
                "customer": event.customer,
                "dedupe_key": event.dedupe_key,
                "value": event.value,
                "properties": json.dumps(dict(event.properties), separators=(",", ":"), ensure_ascii=False),
            }
        )
    return rows


def insert_events(target: Engine | Any, events: Iterable[Event | Any], dataset: str, name: str = "events") -> int:
    """Append ``events`` (in ingestion order) to the table of ``name``; returns how many."""
    rows = event_rows(events, dataset)
    if not rows:
        return 0
    if isinstance(target, Engine):
        if target.dialect.name == "duckdb":
            for row in rows:
                row["timestamp"] = row["timestamp"].replace(tzinfo=None)
            table = sa.table(name, *(sa.column(c) for c in rows[0]))
        else:
            table = events_table(name)
        with target.begin() as connection:
            connection.execute(table.insert(), rows)
        return len(rows)
    columns = list(rows[0])
    values = ",".join("(" + ",".join(literal(row[c]) for c in columns) + ")" for row in rows)
    target.query(f"INSERT INTO {name} ({', '.join(columns)}) VALUES {values}")
    return len(rows)
