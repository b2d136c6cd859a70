"""The driver-level read path and the skipped tag rewrite: same answers as the SQLAlchemy path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.dialects import sqlite
from test_sql_behaviour import SCOPE, T0, TABLE, insert_all, row

import metricscore as mc
from metricscore import wire
from metricscore.backends.sql import SQLBackend
from metricscore.backends.sql.schema import UTCDateTime
from metricscore.backends.sql.statements import _datetime_writer
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


def _statements(store: mc.Store) -> list[str]:
    """Every statement the store's engine runs from now on (a listener: SQLAlchemy runs all)."""
    seen: list[str] = []
    backend = store.backend
    assert isinstance(backend, SQLBackend)

    def capture(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()).upper())

    event.listen(backend.engine, "before_cursor_execute", capture)
    return seen


def test_an_update_sets_only_what_changed_on_a_row_it_holds_locked(url: str) -> None:
    store = mc.open_store(url)
    accounts = store.posthog.accounts(project_id=1)
    created = accounts.create({"name": "Acme", "external_id": "e1", "tags": ["x", "y"]})
    seen = _statements(store)
    updated = accounts.update(created["id"], {"name": "Acme Inc"})
    assert accounts.get(created["id"]) == updated and updated["tags"] == ["x", "y"]
    assert [r["name"] for r in accounts.list(tags='["y"]').results] == ["Acme Inc"]
    update = next(s for s in seen if s.startswith("UPDATE POSTHOG_ACCOUNTS "))
    tag_writes = [
        s for s in seen if s.startswith(("DELETE FROM POSTHOG_ACCOUNTS__TAGS", "INSERT INTO POSTHOG_ACCOUNTS__TAGS"))
    ]
    if store.backend.dialect in ("sqlite", "postgresql"):  # the read held the row (SQLite: the database)
        assert "EXTERNAL_ID" not in update.split(" WHERE ")[0] and "TAGS" not in update.split(" WHERE ")[0]
        assert not tag_writes and not [s for s in seen if s.startswith("SAVEPOINT")]
        if store.backend.dialect == "postgresql":
            assert any(s.startswith("SELECT") and s.endswith("FOR UPDATE") for s in seen)
    else:  # MySQL reads without a lock: every column and the tag rows are written, as always
        assert "EXTERNAL_ID" in update and tag_writes
    store.close()


def test_updates_in_one_batch_keep_the_tag_rows_right(url: str) -> None:
    store = mc.open_store(url)
    accounts = store.posthog.accounts(project_id=1)
    first = accounts.create({"name": "A", "tags": ["a"]})
    second = accounts.create({"name": "B", "tags": ["a"]})
    with accounts.batch() as batched:
        batched.update(first["id"], {"tags": ["b"]})
        batched.update(first["id"], {"tags": ["a"]})  # back as it was read: the rows must follow
        batched.update(second["id"], {"tags": ["c"]})  # not the unit's first read
        batched.update(first["id"], {"name": "A2"})
    assert sorted(r["name"] for r in accounts.list(tags='["a"]').results) == ["A2"]
    assert accounts.list(tags='["b"]').count == 0
    assert [r["name"] for r in accounts.list(tags='["c"]').results] == ["B"]
    store.close()


def test_an_equal_value_stored_differently_is_written(url: str) -> None:
    store = mc.open_store(url)
    if store.backend.dialect not in ("sqlite", "postgresql"):  # MySQL's JSON type reorders keys itself
        store.close()
        return
    metrics = store.posthog.group_usage_metrics(project_id=1, group_type_index=0)
    created = metrics.create({"name": "m", "filters": {"events": [], "a": 1, "b": 0.0}})
    for i, filters in enumerate(
        (
            {"events": [], "a": 1.0, "b": 0.0},  # 1 == 1.0
            {"events": [], "a": 1.0, "b": -0.0},  # 0.0 == -0.0
            {"a": 1.0, "events": [], "b": -0.0},  # equal dicts, keys in another order
        )
    ):  # each with a new name: the update sets the columns that differ, and only those
        updated = metrics.update(created["id"], {"name": f"m{i}", "filters": filters})
        assert (
            wire.dumps(metrics.get(created["id"])["filters"]) == wire.dumps(updated["filters"]) == wire.dumps(filters)
        )
    store.close()


USAGE = {"name": "m", "metricType": "SIMPLE", "eventType": "e", "aggregationType": "COUNT"}
#: ids no record has: unknown, empty, too long for the column, NUL, a lone surrogate, SQL, not strings
ODD_IDS: list[Any] = ["missing", "", "x" * 5000, "a\x00b", "\ud800", "' OR '1'='1", "é✓", 42, None, ["id"], b"id"]


def _outcome(call: Any, id: Any) -> tuple[Any, ...]:
    try:
        return ("found", call(id))
    except mc.MetricscoreError as error:
        return (type(error).__name__, str(error))


def test_a_get_outside_a_unit_of_work_answers_as_one_inside(url: str, monkeypatch: Any) -> None:
    """``get`` runs one statement through the backend's ``get_one`` (no unit of work): the same
    records, the same NotFound for missing, hostile, other-scope and soft-deleted ids."""
    store = mc.open_store(url)
    try:
        accounts, elsewhere = store.posthog.accounts(project_id=1), store.posthog.accounts(project_id=2)
        usage = store.sequence.usage_metrics(account_id="a")
        made = [accounts.create({"name": f"a{i}", "tags": ["t"], "properties": {"sfdc_id": f"s{i}"}}) for i in range(3)]
        ids = [record["id"] for record in made]
        theirs = elsewhere.create({"name": "theirs"})["id"]
        kept, deleted = usage.create(USAGE)["id"], usage.create({**USAGE, "name": "gone"})["id"]
        usage.delete(deleted)
        cases = [(accounts, id) for id in [*ids, theirs, *ODD_IDS]] + [(elsewhere, theirs), (elsewhere, ids[0])]
        cases += [(usage, id) for id in (kept, deleted, *ODD_IDS)]
        fast = [_outcome(service.get, id) for service, id in cases]
        with accounts.batch() as batched:  # inside a batch: the batch's unit of work
            assert [_outcome(batched.get, id) for id in ids] == fast[:3]
        monkeypatch.setattr(store.backend, "get_one", None)  # as a backend without the capability
        assert [_outcome(service.get, id) for service, id in cases] == fast
        # found: this project's records, the other project's through its own service, the kept metric
        assert [outcome[0] for outcome in fast].count("found") == len(ids) + 2
        assert fast[len(ids)][0] == "NotFound"  # another project's record
        assert [outcome[1] for outcome in fast[: len(ids)]] == made
    finally:
        store.close()


def test_a_get_inside_an_open_unit_of_work_on_the_thread_still_answers(url: str) -> None:
    """While this thread's connection is held by a unit of work, ``get`` reads on another one."""
    store = mc.open_store(url)
    try:
        accounts = store.posthog.accounts(project_id=1)
        id = accounts.create({"name": "a"})["id"]
        with store.backend.unit_of_work(write=False):
            assert accounts.get(id)["name"] == "a"
        assert accounts.get(id)["name"] == "a"
    finally:
        store.close()


#: values whose stored text a careless encoder would change: non-ASCII and escaped characters,
#: the sign of zero, integers past 64 bits, exponents, empty containers, key order
ODD_JSON: list[Any] = [
    {"é": '中文 😀 "q" \\ \n\t\x7f', "z": -0.0, "a": 12345678901234567890, "e": [1e16, 1e-7, 2.5e-308]},
    {"b": [], "a": {}, "n": None, "t": True, "f": False, "nested": [[{"k": [0.1, -1]}]]},
    {},
]


def _stored_text(path: Any) -> list[tuple[Any, ...]]:
    import sqlite3

    with sqlite3.connect(path) as raw:
        query = "SELECT id, properties, tags, created_at, updated_at FROM posthog_accounts ORDER BY id"
        return list(raw.execute(query))


def test_driver_writes_store_the_text_sqlalchemy_writes(tmp_path: Any) -> None:
    """SQLite writes on the driver bind JSON and datetimes with faster equivalents of
    SQLAlchemy's processors: the stored text is exactly what SQLAlchemy's own would store."""
    stored = []
    for name in ("fast", "sqlalchemy"):
        backend = SQLBackend.from_url(f"sqlite:///{tmp_path}/{name}.db")
        if name == "sqlalchemy":  # a listener: SQLAlchemy runs every statement with its processors
            event.listen(backend.engine, "before_cursor_execute", lambda *args: None)
        rows = []
        for i, properties in enumerate(ODD_JSON):
            at = T0 - timedelta(microseconds=T0.microsecond * i)  # the second with no microseconds
            r = row(f"{i:03d}", f"n{i}", tags=["é", "b"] if i else [], at=at)
            r["properties"] = properties
            rows.append(r)
        rows[0]["created_at"] = T0.replace(year=987, microsecond=0)
        insert_all(backend, rows)
        with backend.unit_of_work() as uow:
            repo = uow.repository(TABLE)
            for r in rows:
                assert repo.get(SCOPE, r["id"]) is not None
                repo.update(SCOPE, {**r, "properties": {**r["properties"], "x": ["ü", -0.0]}, "updated_at": T0})
        backend.close()
        stored.append(_stored_text(f"{tmp_path}/{name}.db"))
    assert stored[0] == stored[1]
    assert stored[0][0][3] == "0987-05-06 07:08:09.000000" and "\\u00e9" in stored[0][0][1]


def test_a_driver_update_writes_the_json_columns_only_when_their_text_changes(tmp_path: Any) -> None:
    """On SQLite's driver path (no listener), a locked read keeps the JSON columns' stored text:
    an update leaves them out of its SET when the text it would store is the same, and writes
    them when it differs, even for equal values (``1`` and ``1.0``, ``0.0`` and ``-0.0``)."""
    store = mc.open_store(f"sqlite:///{tmp_path}/t.db")
    metrics = store.posthog.group_usage_metrics(project_id=1, group_type_index=0)
    created = metrics.create({"name": "m", "filters": {"events": [], "a": 1.0, "b": [-0.0]}})
    backend = store.backend
    assert isinstance(backend, SQLBackend)
    pinned = backend.connections.of_this_thread()
    assert pinned is not None
    seen: list[str] = []
    pinned.connection.connection.dbapi_connection.set_trace_callback(  # type: ignore[union-attr]
        lambda sql: seen.append(" ".join(sql.split()).upper())
    )

    def set_clause() -> str:
        update = [s for s in seen if s.startswith("UPDATE POSTHOG_GROUP_USAGE_METRICS ")]
        assert len(update) == 1
        seen.clear()
        return update[0].split(" WHERE ")[0]

    metrics.update(created["id"], {"name": "m2"})
    assert "FILTERS" not in set_clause()
    # each with a new name: an update that would change nothing writes every column
    metrics.update(created["id"], {"filters": {"events": [], "a": 1, "b": [0.0]}, "name": "m3"})
    assert "FILTERS" in set_clause()
    metrics.update(created["id"], {"filters": {"events": [], "a": 1, "b": [0.0]}, "name": "m4"})
    assert "FILTERS" not in set_clause()
    metrics.update(created["id"], {"filters": {"a": 1, "events": [], "b": [0.0]}, "name": "m5"})  # keys reordered
    assert "FILTERS" in set_clause()
    found = metrics.get(created["id"])
    assert wire.dumps(found["filters"]) == wire.dumps({"a": 1, "events": [], "b": [0.0]}) and found["name"] == "m5"
    store.close()


@settings(max_examples=50, deadline=None)
@given(st.datetimes(timezones=st.just(UTC)))
def test_sqlite_binds_a_utc_datetime_as_sqlalchemy_does(value: datetime) -> None:
    """The driver path's datetime binding (isoformat, or orjson when there is a fraction of a
    second) stores the very text SQLAlchemy's processor stores, for any UTC datetime."""
    processor = UTCDateTime()._cached_bind_processor(sqlite.dialect())
    assert processor is not None
    for each in (value, value.replace(microsecond=0), value.replace(microsecond=1)):
        assert _datetime_writer(processor)(each) == processor(each)
