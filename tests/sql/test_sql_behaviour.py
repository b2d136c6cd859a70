"""SQL-specific behaviour, on every database kind: error translation, search, ordering,
timestamps, statement counts, query plans. Results are compared with the memory backend."""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

import metricscore as mc
from metricscore.backends.memory import MemoryBackend
from metricscore.backends.sql import SQLBackend
from metricscore.dialects.posthog.accounts import ACCOUNTS
from metricscore.errors import ConfigurationError, Conflict, StorageError
from metricscore.query import Contains, Eq, HasAny, In, OrderBy, Query
from metricscore.repository import Backend, Record
from metricscore.table import Column, ColumnType, TableSpec, UniqueKey

TABLE = ACCOUNTS.table
SCOPE = {"project_id": 1}
T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def row(
    id: str, name: str, *, external_id: str | None = None, tags: list[str] | None = None, at: datetime = T0
) -> Record:
    return {
        "project_id": 1,
        "id": id,
        "name": name,
        "external_id": external_id,
        "properties": {"z": 1, "a": [1, {"b": None}]},
        "tags": sorted(set(tags or [])),
        "created_at": at,
        "created_by": 7,
        "updated_at": at,
        "csm_id": None,
        "account_executive_id": None,
        "account_owner_id": None,
    }


def insert_all(backend: Backend, rows: list[Record]) -> None:
    with backend.unit_of_work() as uow:
        repo = uow.repository(TABLE)
        for r in rows:
            repo.insert(SCOPE, r)


def find(backend: Backend, query: Query) -> list[Record]:
    with backend.unit_of_work(write=False) as uow:
        return uow.repository(TABLE).find(SCOPE, query)


def both(backend: SQLBackend, rows: list[Record]) -> tuple[SQLBackend, MemoryBackend]:
    reference = MemoryBackend()
    insert_all(backend, rows)
    insert_all(reference, rows)
    return backend, reference


ORDER = (OrderBy("name"), OrderBy("id"))


# -- errors --------------------------------------------------------------------------------------


def test_unique_violations_name_the_key_and_chain_the_original(backend: SQLBackend) -> None:
    insert_all(backend, [row("a", "A", external_id="E")])
    with pytest.raises(Conflict) as error, backend.unit_of_work() as uow:
        uow.repository(TABLE).insert(SCOPE, row("b", "B", external_id="E"))
    assert error.value.fields == ("external_id",)
    with pytest.raises(Conflict) as error, backend.unit_of_work() as uow:
        uow.repository(TABLE).insert(SCOPE, row("a", "again"))
    assert error.value.fields == ("id",)
    insert_all(backend, [row("c", "C")])
    with pytest.raises(Conflict) as error, backend.unit_of_work() as uow:
        uow.repository(TABLE).update(SCOPE, row("c", "C", external_id="E"))
    assert error.value.fields == ("external_id",)
    if backend.dialect != "postgresql":  # PostgreSQL reports insert conflicts without an error
        assert isinstance(error.value.__cause__, sa.exc.IntegrityError)


def test_a_unit_of_work_stays_usable_after_a_conflict(backend: SQLBackend) -> None:
    insert_all(backend, [row("a", "A", external_id="E")])
    with backend.unit_of_work() as uow:
        repo = uow.repository(TABLE)
        with pytest.raises(Conflict):
            repo.insert(SCOPE, row("b", "B", external_id="E"))
        repo.insert(SCOPE, row("c", "C"))
        with pytest.raises(Conflict):
            repo.update(SCOPE, row("c", "C", external_id="E"))
        repo.insert(SCOPE, row("d", "D"))
    assert [r["id"] for r in find(backend, Query(order=ORDER))] == ["a", "c", "d"]


def test_a_lost_connection_is_a_storage_error(backend: SQLBackend) -> None:
    insert_all(backend, [row("a", "A")])
    with pytest.raises(StorageError) as error, backend.unit_of_work() as uow:
        uow.repository(TABLE).get(SCOPE, "a")
        uow.connection.invalidate()  # the driver connection is closed under the unit of work
        uow.repository(TABLE).get(SCOPE, "a")
    assert isinstance(error.value.__cause__, sa.exc.SQLAlchemyError)
    with backend.unit_of_work(write=False) as uow:  # the pool recovers
        assert uow.repository(TABLE).get(SCOPE, "a") is not None


def test_a_file_that_is_no_database_is_a_storage_error(tmp_path: Any) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError) as error:
        mc.open_store(f"sqlite:///{path}")
    assert error.value.__cause__ is not None


def test_a_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(ConfigurationError, match=r"metricscore\[postgresql\]"):
        SQLBackend.from_url("postgresql+psycopg://nobody@127.0.0.1:1/none")
    monkeypatch.setitem(sys.modules, "pymysql", None)
    with pytest.raises(ConfigurationError, match=r"metricscore\[mysql\]"):
        mc.open_store("mysql+pymysql://nobody@127.0.0.1:1/none")


def test_an_unreachable_server_is_a_storage_error() -> None:
    with pytest.raises(StorageError):
        SQLBackend.from_url(
            "postgresql+psycopg://nobody@127.0.0.1:1/none", engine_options={"connect_args": {"connect_timeout": 2}}
        )


# -- values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "at",
    [
        T0,
        datetime(2000, 1, 1, tzinfo=UTC),
        datetime(2038, 1, 19, 3, 14, 8, 999999, tzinfo=UTC),
        datetime(2024, 2, 29, 23, 59, 59, 1, tzinfo=UTC),
    ],
)
def test_utc_microsecond_timestamps_round_trip(backend: SQLBackend, at: datetime) -> None:
    insert_all(backend, [row("a", "A", at=at)])
    with backend.unit_of_work(write=False) as uow:
        got = uow.repository(TABLE).get(SCOPE, "a")
    assert got is not None
    assert got["created_at"] == at
    assert got["created_at"].tzinfo is not None and got["created_at"].utcoffset() == timedelta(0)
    assert got["created_at"].microsecond == at.microsecond


def test_records_round_trip_exactly(backend: SQLBackend) -> None:
    record = row("a", "Ünïcødé 🎉 '\"\\", external_id="x" * 400, tags=["b", "a"])
    record["properties"] = {"zeta": 1.5, "alpha": [True, None, "s"], "big": 2**62}
    insert_all(backend, [record])
    with backend.unit_of_work(write=False) as uow:
        got = uow.repository(TABLE).get(SCOPE, "a")
    assert got == record
    assert got is not None and list(got["properties"]) == ["zeta", "alpha", "big"]  # key order kept


# -- search, order -------------------------------------------------------------------------------

NAMES = [
    "Acme",
    "ACME corp",
    "acme_inc",
    "100% Acme",
    "a%c",
    "a_c",
    "abc",
    "ÄBC",
    "äbc",
    "straße",
    "STRASSE",
    "İstanbul",
    "istanbul",
    "ΣΊΣΥΦΟΣ",
    "σίσυφος",
    "Ωmega",
    "emoji 🎉 party",
    "trailing ",
    "trailing",
    "back\\slash",
    "quo'te",
    "x",
    "Z",
    "~",
    "é",
    "e\u0301",
]


@pytest.mark.parametrize(
    "term",
    [
        "acme",
        "ACME",
        "%",
        "_",
        "a%c",
        "a_c",
        "\\",
        "bc",
        "äbc",
        "ÄB",
        "ss",
        "straße",
        "İ",
        "i̇",
        "σ",  # noqa: RUF001
        "ΣΊΣ",
        "🎉",
        " ",
        "ing ",
        "'",
        "e\u0301",
        "zzz",
        "c",
    ],
)
def test_search_matches_the_memory_backend(backend: SQLBackend, term: str) -> None:
    rows = [row(f"{i:03d}", name, external_id=name.upper() if i % 3 == 0 else None) for i, name in enumerate(NAMES)]
    sql, memory = both(backend, rows)
    for columns in (("name",), ("name", "external_id"), ("external_id",)):
        query = Query((Contains(columns, term),), ORDER)
        assert find(sql, query) == find(memory, query), (columns, term)
        with sql.unit_of_work(write=False) as uow:
            count = uow.repository(TABLE).count(SCOPE, query.filters)
        assert count == len(find(memory, query))


def test_trigram_search_equals_the_scan_on_random_text(backend: SQLBackend) -> None:
    rnd = random.Random(4)
    alphabet = "abcAB%_ \\äÄßσΣİ🎉"
    rows = [row(f"{i:04d}", "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12)))) for i in range(300)]
    sql, memory = both(backend, rows)
    for _ in range(60):
        term = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 5)))
        query = Query((Contains(("name",), term),), ORDER)
        assert find(sql, query) == find(memory, query), term


def test_name_order_is_code_point_order(backend: SQLBackend) -> None:
    rows = [row(f"{i:03d}", name) for i, name in enumerate(NAMES)]
    sql, memory = both(backend, rows)
    for descending in (False, True):
        order = (OrderBy("name", descending), OrderBy("id", descending))
        got = [r["name"] for r in find(sql, Query(order=order))]
        assert got == [r["name"] for r in find(memory, Query(order=order))]
        assert got == sorted(NAMES, reverse=descending)


def test_trailing_spaces_are_significant_for_unique_keys(backend: SQLBackend) -> None:
    insert_all(backend, [row("a", "A", external_id="key"), row("b", "B", external_id="key ")])
    with backend.unit_of_work(write=False) as uow:
        assert uow.repository(TABLE).count(SCOPE, (Eq("external_id", "key"),)) == 1


def test_filters_and_keyset_match_the_memory_backend(backend: SQLBackend) -> None:
    rnd = random.Random(7)
    rows = []
    for i in range(120):
        r = row(
            f"{i:03d}",
            rnd.choice(["a", "b", "B", "c", "é"]),
            tags=rnd.sample(["x", "y", "z", "w"], rnd.randint(0, 3)),
            at=T0 + timedelta(microseconds=rnd.randint(0, 5)),
        )
        r["csm_id"] = rnd.choice([None, 1, 2])
        rows.append(r)
    sql, memory = both(backend, rows)
    filter_sets: list[tuple[Any, ...]] = [
        (),
        (HasAny("tags", ("x", "nope")),),
        (Eq("csm_id", None),),
        (Eq("csm_id", 1), In("name", ("a", "é", 3))),
        (In("csm_id", (2, "x", 2.0, True)),),
        (Eq("csm_id", "1"),),
        (In("name", ()),),
        (HasAny("tags", ()),),
        (Contains(("name",), "B"), HasAny("tags", ("y",))),
    ]
    for filters in filter_sets:
        for order in (
            (OrderBy("name"), OrderBy("id")),
            (OrderBy("created_at", True), OrderBy("id", True)),
            (OrderBy("updated_at"), OrderBy("id")),
        ):
            expected = find(memory, Query(filters, order))
            assert find(sql, Query(filters, order)) == expected
            assert find(sql, Query(filters, order, offset=5, limit=7)) == expected[5:12]
            assert find(sql, Query(filters, order, offset=3)) == expected[3:]
            walked: list[Record] = []
            after = None
            while True:
                page = find(sql, Query(filters, order, limit=9, after=after))
                walked += page
                if len(page) < 9:
                    break
                after = tuple(page[-1][o.column] for o in order)
            assert walked == expected, filters
            with sql.unit_of_work(write=False) as uow:
                assert uow.repository(TABLE).count(SCOPE, filters) == len(expected)


def test_statement_count_does_not_grow_with_rows(backend: SQLBackend) -> None:
    insert_all(backend, [row(f"{i:03d}", f"n{i}", tags=["a", "b"]) for i in range(60)])
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(backend.engine, "before_cursor_execute", count)
    try:
        sizes = {}
        for limit in (1, 50):
            statements.clear()
            assert len(find(backend, Query((HasAny("tags", ("a",)),), ORDER, limit=limit))) == limit
            sizes[limit] = len(statements)
    finally:
        event.remove(backend.engine, "before_cursor_execute", count)
    assert sizes[1] == sizes[50] <= 2  # the SELECT (and a BEGIN on SQLite)


def test_keyset_pages_use_the_ordering_index(backend: SQLBackend, selects: Any) -> None:
    insert_all(backend, [row(f"{i:03d}", f"n{i}", at=T0 + timedelta(seconds=i)) for i in range(50)])
    order = (OrderBy("created_at", True), OrderBy("id", True))
    with selects(backend.engine) as executed:
        page = find(backend, Query((), order, limit=10, after=(T0 + timedelta(seconds=25), "025")))
    assert [r["id"] for r in page] == [f"{i:03d}" for i in range(24, 14, -1)]
    statement, parameters = executed[-1]
    explain = {"sqlite": "EXPLAIN QUERY PLAN ", "postgresql": "EXPLAIN "}.get(backend.dialect, "EXPLAIN ")
    with backend.engine.connect() as connection:
        if backend.dialect == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")
        plan = " ".join(str(r) for r in connection.exec_driver_sql(explain + statement, parameters))
    assert "ix_posthog_accounts_created_at_id" in plan
    assert "TEMP B-TREE" not in plan and "Sort " not in plan and "filesort" not in plan


def test_pattern_searches_are_never_prepared_on_postgresql(backend: SQLBackend) -> None:
    if backend.dialect != "postgresql":
        pytest.skip("psycopg prepares statements server-side on PostgreSQL only: the postgresql run checks it")
    insert_all(backend, [row(f"{i:03d}", f"name {i}") for i in range(20)])
    with backend.unit_of_work(write=False) as uow:
        repo = uow.repository(TABLE)
        for _ in range(12):
            repo.find(SCOPE, Query((Contains(("name",), "ame 1"),), ORDER))
            repo.get(SCOPE, "001")
        prepared = [r[0] for r in uow.connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements")]
    assert not any("LIKE" in s for s in prepared)
    assert any("posthog_accounts" in s for s in prepared)  # other hot statements still are


# -- tables outside the catalogue ----------------------------------------------------------------

EXTRA = TableSpec(
    name="sqltest_widgets",
    scope=("tenant", "group_no"),
    columns=(
        Column("tenant", ColumnType.STRING, nullable=False, length=40),
        Column("group_no", ColumnType.INTEGER, nullable=False),
        Column("id", ColumnType.STRING, nullable=False, length=40),
        Column("title", ColumnType.TEXT, searchable=True),
        Column("score", ColumnType.FLOAT),
        Column("active", ColumnType.BOOLEAN, nullable=False),
        Column("labels", ColumnType.TAGS, nullable=False),
        Column("code", ColumnType.STRING, length=20),
        Column("at", ColumnType.DATETIME, nullable=False),
    ),
    unique_keys=(UniqueKey("sqltest_widgets_code", ("code",)),),
    orderings=(("at", "id"), ("score", "id")),
)


def test_any_table_spec_works_like_the_memory_backend(backend: SQLBackend) -> None:
    scope = {"tenant": "t1", "group_no": 3}
    rows = [
        {
            "tenant": "t1",
            "group_no": 3,
            "id": f"w{i}",
            "title": ["Alpha", None, "beta ß"][i % 3],
            "score": i / 4,
            "active": i % 2 == 0,
            "labels": sorted({f"l{i % 3}", "all"}),
            "code": f"C{i}" if i % 4 else None,
            "at": T0 + timedelta(seconds=i),
        }
        for i in range(12)
    ]
    reference = MemoryBackend()
    for target in (backend, reference):
        with target.unit_of_work() as uow:
            repo = uow.repository(EXTRA)
            for r in rows:
                repo.insert(scope, r)
    with pytest.raises(Conflict) as error, backend.unit_of_work() as uow:
        uow.repository(EXTRA).insert(scope, {**rows[1], "id": "new"})
    assert error.value.fields == ("code",)
    for filters in [
        (),
        (Eq("active", True),),
        (Contains(("title",), "SS"),),
        (HasAny("labels", ("l1",)),),
        (Eq("score", 0.5),),
        (In("score", (1, 1.25)),),
    ]:
        for order in ((OrderBy("at", True), OrderBy("id", True)), (OrderBy("score"), OrderBy("id"))):
            results = []
            for target in (backend, reference):
                with target.unit_of_work(write=False) as uow:
                    results.append(uow.repository(EXTRA).find(scope, Query(filters, order, limit=5, offset=1)))
            assert results[0] == results[1], filters
    with backend.unit_of_work(write=False) as uow:
        assert uow.repository(EXTRA).find({"tenant": "t1", "group_no": 4}, Query()) == []
