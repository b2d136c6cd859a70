"""The driver-level read path and the skipped tag rewrite: same answers as the SQLAlchemy path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event
from test_sql_behaviour import SCOPE, T0, TABLE, insert_all, row

import metricscore as mc
from metricscore.backends.sql import SQLBackend
from metricscore.query import Contains, HasAny, OrderBy, Query

ORDER = (OrderBy("created_at", True), OrderBy("id", True))
QUERIES = [
    Query((), ORDER, limit=10),
    Query((), ORDER, offset=3, limit=5),
    Query((), ORDER, limit=4, after=(T0 + timedelta(seconds=6), "006")),
    Query((Contains(("name",), "name 1"),), ORDER, limit=50),
    Query((HasAny("tags", ("b",)),), ORDER, limit=50),  # expanding IN: SQLAlchemy runs it
]


def _reads(backend: SQLBackend) -> list[Any]:
    with backend.unit_of_work(write=False) as uow:
        repo = uow.repository(TABLE)
        found: list[Any] = [repo.get(SCOPE, "003"), repo.get(SCOPE, "missing")]
        for query in QUERIES:
            found.append(repo.find(SCOPE, query))
            found.append(repo.find_with_count(SCOPE, query))
            found.append(repo.count(SCOPE, query.filters))
    return found


def test_driver_reads_equal_sqlalchemy_reads(backend: SQLBackend) -> None:
    rows = [row(f"{i:03d}", f"name {i}", at=T0 + timedelta(seconds=i)) for i in range(12)]
    for i, r in enumerate(rows):
        r["tags"] = ["a", "b"] if i % 2 else ["c"]
        r["properties"] = {"sfdc_id": f"s{i}", "nested": {"n": [i, 1.5, None, True]}}
    insert_all(backend, rows)
    fast = _reads(backend)
    statements: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(backend.engine, "before_cursor_execute", capture)  # a listener: SQLAlchemy runs all
    try:
        slow = _reads(backend)
    finally:
        event.remove(backend.engine, "before_cursor_execute", capture)
    assert fast == slow
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) >= len(QUERIES) * 3
    assert fast[0]["created_at"].tzinfo is not None and fast[0]["properties"]["nested"]["n"][1] == 1.5


def test_an_update_that_keeps_the_tags_keeps_them_searchable(tmp_path: Any) -> None:
    store = mc.open_store(f"sqlite:///{tmp_path}/t.db")
    accounts = store.posthog.accounts(project_id=1)
    created = accounts.create({"name": "Acme", "tags": ["x", "y"]})
    accounts.update(created["id"], {"name": "Acme Inc"})
    assert [r["name"] for r in accounts.list(tags='["y"]').results] == ["Acme Inc"]
    accounts.update(created["id"], {"tags": ["z"]})
    assert accounts.list(tags='["y"]').count == 0
    assert [r["tags"] for r in accounts.list(tags='["z"]').results] == [["z"]]
    accounts.replace(created["id"], {"name": "Acme", "tags": ["z", "w"]})
    assert accounts.list(tags='["w"]').count == 1
    store.close()
