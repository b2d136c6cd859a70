"""The listing of the built-in events by event time reads its page through the (dataset,
timestamp, seq) index (migration 0006): in both orders, on the first page and past a keyset
position, with and without an event type filter, and never sorts the dataset's events."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import metricscore as mc
from metricscore.backends.sql import SQLBackend
from metricscore.backends.sql.event_tables import events_table
from metricscore.backends.sql.schema import sql_table
from metricscore.evaluation.events import EVENTS as BUILTIN
from metricscore.evaluation.events import EventLog, EventQuery

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EVENTS = 2_000
INDEX = "ix_events_timestamp_seq"


def _events() -> list[dict[str, Any]]:
    # Event times out of ingestion order, with ties, and two event types.
    return [
        {
            "id": f"e{i}",
            "name": ("sent", "opened")[i % 2],
            "timestamp": T0 + timedelta(minutes=(i * 7919) % 997),
            "customer": f"c{i % 10}",
        }
        for i in range(EVENTS)
    ]


@pytest.fixture
def log(url: str) -> Any:
    store = mc.open_store(url)
    events = EventLog(store, "listing")
    events.append(_events())
    yield events
    store.close()


def _plan(backend: SQLBackend, statement: str, parameters: Any) -> tuple[str, str]:
    """The index the database reads ``statement`` through (as its plan names it), and the plan."""
    explain = "EXPLAIN QUERY PLAN " if backend.dialect == "sqlite" else "EXPLAIN "
    with backend.engine.connect() as connection:
        if backend.dialect == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")  # a small table is read whole otherwise
        rows = connection.exec_driver_sql(explain + statement, parameters).mappings().all()
    plan = " ".join(str(dict(row)) for row in rows)
    if backend.dialect in ("mysql", "mariadb"):
        return str(rows[0]["key"]), plan
    sqlite = backend.dialect == "sqlite"
    pattern = r"USING (?:COVERING )?INDEX (\w+)" if sqlite else r"Index Scan (?:Backward )?using (\w+)"
    found = re.search(pattern, plan)
    return (found.group(1) if found else "(none)"), plan


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("name", [None, "sent"])
@pytest.mark.parametrize("deep", [False, True])
def test_pages_by_event_time_read_the_timestamp_index(
    log: EventLog, selects: Any, descending: bool, name: str | None, deep: bool
) -> None:
    backend = log.store.backend
    assert isinstance(backend, SQLBackend)
    # The event time, then the ingestion order (the position in the appended list).
    order = sorted(
        ((e["timestamp"], position, e["id"]) for position, e in enumerate(_events()) if name in (None, e["name"])),
        reverse=descending,
    )
    expected = [id for _, _, id in order]
    after = None
    if deep:
        at = next(e for e in log.find(EventQuery(id=expected[700])))
        after, expected = (at.timestamp, at.seq), expected[701:]
    query = EventQuery(name=name, descending=descending, by_timestamp=True, after=after, limit=100)
    with selects(backend.engine) as executed:
        page = log.find(query)
    assert [e.id for e in page] == expected[:100]
    index, plan = _plan(backend, *executed[-1])
    assert index == INDEX, plan
    assert "TEMP B-TREE" not in plan and "Sort " not in plan and "filesort" not in plan, plan


def test_the_declared_events_table_is_indexed_as_the_built_in_one() -> None:
    """create_events_table's table (for events kept outside the store) has the built-in table's
    orderings, the event time one included."""
    declared = {tuple(c.name for c in index.columns) for index in events_table().indexes}
    builtin = {tuple(c.name for c in index.columns) for index in sql_table(BUILTIN).main.indexes if not index.unique}
    assert declared == builtin
    assert ("dataset", "timestamp", "seq") in declared
