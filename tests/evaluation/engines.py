"""The five SQL engines of the differential tests, each with an events table laid out like the
built-in one; one connection (session) per engine, shared by a whole test module."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from metricscore.backends.sql.clickhouse import ClickHouseEvents
from metricscore.backends.sql.evaluation import SQLEvents
from metricscore.backends.sql.event_tables import create_events_table, customer_index, insert_events
from metricscore.backends.sql.testing import dedicated_database, server_url, skip_reason
from metricscore.evaluation.events import BUILTIN_SOURCE
from metricscore.evaluation.plan import Plan, Row

TABLE = "differential_events"
ENGINE_NAMES = ("sqlite", "duckdb", "clickhouse", "postgresql", "mysql")
_datasets = itertools.count()


@dataclass
class Engine:
    name: str
    load: Callable[[list[Any], str], None]
    runner: Callable[[str], Any]

    def run(self, plan: Plan, dataset: str) -> list[Row]:
        rows: list[Row] = self.runner(dataset).run(plan)
        return rows


def new_dataset() -> str:
    return f"d{next(_datasets)}"


def _source(dataset: str) -> Any:
    return replace(BUILTIN_SOURCE, table=TABLE, filters={"dataset": dataset}, customer_index=customer_index(TABLE))


def _sqlalchemy(engine: sa.Engine, name: str) -> Engine:
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")
    create_events_table(engine, TABLE)
    return Engine(
        name,
        lambda events, dataset: insert_events(engine, events, dataset, TABLE) and None,
        lambda dataset: SQLEvents(engine, _source(dataset)),
    )


def open_engine(name: str) -> tuple[Engine, Callable[[], None]]:
    """The engine, and how to close it; skips when a server is not configured."""
    if name == "sqlite":
        engine = sa.create_engine("sqlite://", poolclass=StaticPool)
        return _sqlalchemy(engine, name), engine.dispose
    if name == "duckdb":
        engine = sa.create_engine("duckdb:///:memory:", poolclass=StaticPool)
        return _sqlalchemy(engine, name), engine.dispose
    if name == "clickhouse":
        from chdb import session as chdb_session

        session = chdb_session.Session()
        session.query(f"DROP TABLE IF EXISTS {TABLE}")
        create_events_table(session, TABLE)
        runner = Engine(
            name,
            lambda events, dataset: insert_events(session, events, dataset, TABLE) and None,
            lambda dataset: ClickHouseEvents(_source(dataset), session=session),
        )
        return runner, session.close
    url = server_url(name)
    if url is None:
        pytest.skip(skip_reason(name))
    engine = sa.create_engine(dedicated_database(url))
    return _sqlalchemy(engine, name), engine.dispose
