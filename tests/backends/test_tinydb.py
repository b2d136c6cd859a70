"""TinyDB backend specifics: the file format, corrupt files, caching, atomic writes, threads.

The shared semantics (filters, ordering, paging, conflicts, rollback) are in the contract suite
(test_tinydb_contract.py); process kills and parallel processes are in test_tinydb_processes.py.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import tinydb

from metricscore.backends.memory import MemoryBackend
from metricscore.backends.tinydb import AtomicJSONStorage, TinyDBBackend
from metricscore.dialects.posthog.accounts import ACCOUNTS
from metricscore.errors import ConfigurationError, Conflict, StorageError
from metricscore.query import Contains, OrderBy, Query
from metricscore.repository import Backend, Record
from metricscore.table import Column, ColumnType, TableSpec, UniqueKey

TABLE = ACCOUNTS.table
SCOPE = {"project_id": 1}
T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)

#: A table with one column of every type, to check the round trip through JSON.
EVERYTHING = TableSpec(
    name="everything",
    scope=("tenant",),
    columns=(
        Column("tenant", ColumnType.STRING),
        Column("id", ColumnType.STRING),
        Column("s", ColumnType.STRING, length=20),
        Column("text", ColumnType.TEXT),
        Column("i", ColumnType.INTEGER),
        Column("f", ColumnType.FLOAT),
        Column("b", ColumnType.BOOLEAN),
        Column("at", ColumnType.DATETIME),
        Column("j", ColumnType.JSON),
        Column("tags", ColumnType.TAGS),
    ),
    unique_keys=(UniqueKey("everything_s", ("s",)),),
)


def row(id: str, name: str | None = None, *, project_id: int = 1, **values: Any) -> Record:
    record: Record = dict.fromkeys(TABLE.column_names)
    record.update(
        project_id=project_id,
        id=id,
        name=name or id,
        properties={},
        tags=[],
        created_at=T0,
        updated_at=T0,
    )
    record.update(values)
    return record


def insert(backend: Backend, *records: Record) -> None:
    with backend.unit_of_work() as uow:
        repository = uow.repository(TABLE)
        for record in records:
            repository.insert({"project_id": record["project_id"]}, record)


def all_rows(backend: Backend, scope: dict[str, Any] = SCOPE) -> list[Record]:
    with backend.unit_of_work(write=False) as uow:
        return uow.repository(TABLE).find(scope, Query(order=(OrderBy("id"),)))


def ids(backend: Backend, scope: dict[str, Any] = SCOPE) -> list[str]:
    return [r["id"] for r in all_rows(backend, scope)]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "db.json"


@pytest.fixture
def backend(path: Path) -> Iterator[TinyDBBackend]:
    backend = TinyDBBackend(path)
    yield backend
    backend.close()


def reopen(path: Path) -> TinyDBBackend:
    return TinyDBBackend(path)


# -- opening -------------------------------------------------------------------------------------------


def test_url_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    absolute = TinyDBBackend.from_url(f"tinydb://{tmp_path}/a.json")
    assert absolute.path == str(tmp_path / "a.json")
    escaped = TinyDBBackend.from_url(f"tinydb://{tmp_path}/with%20space.json")
    assert escaped.path == str(tmp_path / "with space.json")
    monkeypatch.chdir(tmp_path)
    relative = TinyDBBackend.from_url("tinydb://sub.json")
    assert relative.path == str(tmp_path / "sub.json")
    for backend in (absolute, escaped, relative):
        insert(backend, row("x"))
        backend.close()
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["a.json", "sub.json", "with space.json"]


@pytest.mark.parametrize("url", ["tinydb://", "tinydb:///", "tinydb:///tmp/", "memory://x.json", "tinydb:x.json"])
def test_a_bad_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError):
        TinyDBBackend.from_url(url)


def test_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no options"):
        TinyDBBackend.from_url(f"tinydb://{tmp_path}/db.json", cache=False)


def test_a_missing_folder_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist") as error:
        TinyDBBackend.from_url(f"tinydb://{tmp_path}/nope/db.json")
    assert str(tmp_path / "nope" / "db.json") in str(error.value)


def test_the_registry_opens_it_and_a_missing_tinydb_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from metricscore.registry import backend_class

    assert backend_class("tinydb") is TinyDBBackend
    for name in [m for m in sys.modules if m == "tinydb" or m.startswith("tinydb.")]:
        monkeypatch.setitem(sys.modules, name, None)  # makes `import tinydb...` fail as if not installed
    for name in [m for m in sys.modules if m.startswith("metricscore.backends.tinydb")]:
        monkeypatch.delitem(sys.modules, name)  # the package and its modules import afresh
    with pytest.raises(ConfigurationError, match=r"metricscore\[tinydb\]"):
        backend_class("tinydb")


def test_a_missing_file_is_an_empty_database_and_is_created_on_the_first_write(
    path: Path, backend: TinyDBBackend
) -> None:
    assert not path.exists()
    assert ids(backend) == []
    assert not path.exists(), "reads never create the file"
    insert(backend, row("a"))
    assert path.exists()


def test_an_empty_file_is_an_empty_database(path: Path) -> None:
    path.write_bytes(b"")
    backend = reopen(path)
    assert ids(backend) == []
    insert(backend, row("a"))
    assert ids(reopen(path)) == ["a"]


# -- the file ------------------------------------------------------------------------------------------


def test_the_file_is_a_readable_tinydb_database(path: Path, backend: TinyDBBackend) -> None:
    insert(backend, row("a", "Ärger"), row("b"), row("c", project_id=2))
    text = path.read_text("utf-8")
    lines = text.splitlines()
    assert lines[0] == "{" and lines[1] == '  "posthog_accounts": {' and lines[-1] == "}"
    assert sum('"id": ' in line for line in lines) == 3, "one document per line"
    assert "Ärger" in text, "non-ASCII text stays readable"
    assert '"created_at": "2024-05-06T07:08:09.123456+00:00"' in text
    plain = tinydb.TinyDB(str(path), access_mode="r")
    try:
        docs = plain.table("posthog_accounts").all()
        assert sorted(d["id"] for d in docs) == ["a", "b", "c"]
        assert sorted(d.doc_id for d in docs) == [1, 2, 3]
    finally:
        plain.close()


def test_every_column_type_round_trips_exactly(path: Path, backend: TinyDBBackend) -> None:
    record: Record = {
        "tenant": "t",
        "id": "x",
        "s": "lone \ud800 surrogate",
        "text": 'multi\nline "quoted" \\ 😀 ß',
        "i": 2**63 - 1,
        "f": 0.1,
        "b": False,
        "at": datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
        "j": {"nested": [1, 2.5, None, True, {"k": "v"}], "empty": {}},
        "tags": ["a", "b"],
    }
    other = {**record, "id": "y", "s": None, "at": datetime(2024, 1, 1, tzinfo=UTC), "f": 3, "j": []}
    with backend.unit_of_work() as uow:
        uow.repository(EVERYTHING).insert({"tenant": "t"}, record)
        uow.repository(EVERYTHING).insert({"tenant": "t"}, other)
    fresh = reopen(path)
    with fresh.unit_of_work(write=False) as uow:
        repository = uow.repository(EVERYTHING)
        got, got_other = repository.get({"tenant": "t"}, "x"), repository.get({"tenant": "t"}, "y")
    assert got == record and got_other == other
    assert got is not None and got_other is not None
    assert got["at"].tzinfo is not None and got["at"].utcoffset() == timedelta(0)
    assert type(got_other["f"]) is int and type(got["f"]) is float


def test_a_non_utc_datetime_round_trips_as_an_equal_instant(path: Path, backend: TinyDBBackend) -> None:
    at = datetime(2024, 1, 1, 12, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    with backend.unit_of_work() as uow:
        uow.repository(EVERYTHING).insert({"tenant": "t"}, {"tenant": "t", "id": "x", "at": at})
    with reopen(path).unit_of_work(write=False) as uow:
        got = uow.repository(EVERYTHING).get({"tenant": "t"}, "x")
    assert got is not None and got["at"] == at


def test_tables_it_does_not_know_are_kept(path: Path) -> None:
    path.write_text('{"_default": {"7": {"anything": [1, {"x": null}]}}, "posthog_accounts": {}}')
    backend = reopen(path)
    insert(backend, row("a"))
    data = json.loads(path.read_text())
    assert data["_default"] == {"7": {"anything": [1, {"x": None}]}}
    assert [d["id"] for d in data["posthog_accounts"].values()] == ["a"]


def test_document_ids_continue_after_the_highest(path: Path) -> None:
    path.write_text(json.dumps({"posthog_accounts": {"41": json.loads(json.dumps(row("a"), default=str))}}))
    backend = reopen(path)
    insert(backend, row("b"))
    assert list(json.loads(path.read_text())["posthog_accounts"]) == ["41", "42"]


def test_the_storage_serves_plain_tinydb(path: Path) -> None:
    db = tinydb.TinyDB(str(path), storage=AtomicJSONStorage)
    try:
        db.table("things").insert({"n": 1})
        db.table("things").insert({"n": 2})
        assert [d["n"] for d in db.table("things").all()] == [1, 2]
    finally:
        db.close()
    assert json.loads(path.read_text()) == {"things": {"1": {"n": 1}, "2": {"n": 2}}}
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_the_file_mode_is_kept(path: Path, backend: TinyDBBackend) -> None:
    insert(backend, row("a"))
    path.chmod(0o600)
    insert(backend, row("b"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- corrupt and foreign files -------------------------------------------------------------------------

FOREIGN = {
    "not JSON": (b"hello, world", "not a JSON document"),
    "truncated JSON": (b'{\n  "posthog_accounts": {\n    "1": {"id": "a"', "not a JSON document"),
    "not UTF-8": (b'{"t": {"1": {"x": "\xff\xfe"}}}', "not a JSON document"),
    "a list": (b"[1, 2, 3]", "top level is a JSON array"),
    "a string": (b'"db"', "top level is a JSON string"),
    "a table that is a list": (b'{"posthog_accounts": []}', "table 'posthog_accounts' is a JSON array"),
    "a document id that is not a number": (b'{"t": {"x": {}}}', "document id 'x'"),
    "a document that is a number": (b'{"t": {"1": 5}}', "document 1 of table 't' is a JSON number"),
    "a record without an id": (b'{"posthog_accounts": {"1": {"project_id": 1}}}', "missing column 'id'"),
    "a record with a number id": (b'{"posthog_accounts": {"1": {"project_id": 1, "id": 5}}}', "not a string"),
    "a bad datetime": (
        b'{"posthog_accounts": {"1": {"project_id": 1, "id": "a", "created_at": "yesterday"}}}',
        "Invalid isoformat",
    ),
    "a duplicate id": (
        b'{"posthog_accounts": {"1": {"project_id": 1, "id": "a"}, "2": {"project_id": 1, "id": "a"}}}',
        "used twice",
    ),
    "a duplicate unique key": (
        b'{"posthog_accounts": {"1": {"project_id": 1, "id": "a", "external_id": "E"},'
        b' "2": {"project_id": 1, "id": "b", "external_id": "E"}}}',
        "already taken",
    ),
}


@pytest.mark.parametrize("content,reason", FOREIGN.values(), ids=list(FOREIGN))
def test_a_corrupt_or_foreign_file_is_a_storage_error_and_is_left_untouched(
    path: Path, content: bytes, reason: str
) -> None:
    path.write_bytes(content)
    before = path.stat()

    def use() -> None:
        backend = TinyDBBackend.from_url(f"tinydb://{path}")
        try:
            insert(backend, row("new"))
        finally:
            backend.close()

    for _ in range(2):  # opening, or the first use of the damaged table, fails; never a write
        with pytest.raises(StorageError) as error:
            use()
        assert str(path) in str(error.value)
        assert reason in str(error.value)
    assert path.read_bytes() == content
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_an_unreadable_file_is_a_storage_error(path: Path) -> None:
    path.mkdir()  # a folder where the file should be: cannot be read, whoever we are
    with pytest.raises(StorageError, match="cannot read it") as error:
        TinyDBBackend(path)
    assert str(path) in str(error.value)
    assert path.is_dir()


def test_a_file_damaged_by_someone_else_while_open_fails_reads_and_writes_but_is_not_overwritten(
    path: Path, backend: TinyDBBackend
) -> None:
    insert(backend, row("a"))
    path.write_bytes(b"{oops")
    with pytest.raises(StorageError, match="not a JSON document"):
        all_rows(backend)
    with pytest.raises(StorageError, match="not a JSON document"):
        insert(backend, row("b"))
    assert path.read_bytes() == b"{oops"
    insert_plain = json.loads(json.dumps({"posthog_accounts": {"1": row("a")}}, default=lambda d: d.isoformat()))
    path.write_text(json.dumps(insert_plain))  # repaired: the backend recovers
    assert ids(backend) == ["a"]


# -- transactions, one write per unit of work ----------------------------------------------------------


class WriteCounter:
    def __init__(self, backend: TinyDBBackend, monkeypatch: pytest.MonkeyPatch) -> None:
        self.writes = 0
        self.loads = 0
        storage = backend._storage
        replace, load = storage.replace, storage.load

        def counting_replace(content: bytes) -> Any:
            self.writes += 1
            return replace(content)

        def counting_load() -> Any:
            self.loads += 1
            return load()

        monkeypatch.setattr(storage, "replace", counting_replace)
        monkeypatch.setattr(storage, "load", counting_load)


def test_one_write_per_unit_of_work_and_none_for_reads(backend: TinyDBBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = WriteCounter(backend, monkeypatch)
    insert(backend, *(row(f"r{i:03}") for i in range(100)))
    assert counter.writes == 1
    for _ in range(10):
        assert len(all_rows(backend)) == 100
    with backend.unit_of_work() as uow:  # a write unit of work that only reads writes nothing
        uow.repository(TABLE).get(SCOPE, "r001")
    with backend.unit_of_work() as uow:  # nor does one whose only delete found nothing
        assert uow.repository(TABLE).delete(SCOPE, "missing") is False
    assert counter.writes == 1
    assert counter.loads == 0, "our own write does not make us re-read the file"


def test_a_raising_unit_of_work_leaves_the_file_untouched(path: Path, backend: TinyDBBackend) -> None:
    insert(backend, row("a"), row("b", external_id="E"))
    before = path.read_bytes()
    with pytest.raises(Conflict), backend.unit_of_work() as uow:
        repository = uow.repository(TABLE)
        repository.insert(SCOPE, row("c"))
        repository.delete(SCOPE, "a")
        repository.insert(SCOPE, row("d", external_id="E"))
    assert path.read_bytes() == before
    assert ids(backend) == ids(reopen(path)) == ["a", "b"]


def test_a_failed_write_raises_storage_error_and_changes_nothing(
    path: Path, backend: TinyDBBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert(backend, row("a"))
    before = path.read_bytes()

    def disk_full(source: Any, target: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(StorageError, match="No space left") as error:
        insert(backend, row("b"))
    assert str(path) in str(error.value)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert ids(backend) == ["a"], "memory forgot the write that did not reach the file"
    assert sorted(p.name for p in path.parent.iterdir()) == ["db.json", "db.json.lock"], "no temp file left"


def test_a_value_that_is_not_json_is_refused_at_the_write(path: Path, backend: TinyDBBackend) -> None:
    insert(backend, row("a"))
    with pytest.raises(StorageError, match="as JSON"), backend.unit_of_work() as uow:
        uow.repository(TABLE).insert(SCOPE, row("b", properties={"x": object()}))
    assert ids(backend) == ids(reopen(path)) == ["a"]


def test_stale_temporary_files_of_killed_writers_are_removed_on_open(path: Path) -> None:
    stale = path.parent / f".{path.name}.12345.deadbeef.tmp"
    stale.write_bytes(b'{"half": ')
    unrelated = path.parent / "notes.tmp"
    unrelated.write_bytes(b"keep")
    reopen(path).close()
    assert not stale.exists() and unrelated.exists()


def nested_scenario(backend: Backend) -> list[str]:
    """Nested units of work, a write in a read unit of work: the same outcome on every backend."""
    with pytest.raises(RuntimeError), backend.unit_of_work(write=False) as outer:
        outer.repository(TABLE).insert(SCOPE, row("written-in-a-read-unit"))
        with backend.unit_of_work() as inner:
            inner.repository(TABLE).insert(SCOPE, row("inner-committed"))
        with pytest.raises(Conflict), backend.unit_of_work() as inner:
            inner.repository(TABLE).insert(SCOPE, row("inner-rolled-back"))
            inner.repository(TABLE).insert(SCOPE, row("inner-committed"))
        outer.repository(TABLE).insert(SCOPE, row("outer-rolled-back"))
        raise RuntimeError
    with backend.unit_of_work(write=False) as uow:
        uow.repository(TABLE).insert(SCOPE, row("read-unit-write"))
    return ids(backend)


def test_nested_units_of_work_behave_as_in_memory(path: Path, backend: TinyDBBackend) -> None:
    expected = nested_scenario(MemoryBackend())
    assert nested_scenario(backend) == expected
    assert ids(reopen(path)) == expected


# -- cache -----------------------------------------------------------------------------------------------


def test_reads_come_from_memory_until_another_writer_changes_the_file(
    path: Path, backend: TinyDBBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert(backend, row("a"))
    counter = WriteCounter(backend, monkeypatch)
    for _ in range(5):
        assert ids(backend) == ["a"]
    assert counter.loads == 0
    other = reopen(path)
    insert(other, row("b"))
    assert ids(backend) == ["a", "b"]
    assert ids(backend) == ["a", "b"]
    assert counter.loads == 1
    with other.unit_of_work() as uow:
        uow.repository(TABLE).delete(SCOPE, "a")
    insert(backend, row("c"))  # a write starts from the other writer's state: "a" stays deleted
    assert ids(other) == ids(backend) == ids(reopen(path)) == ["b", "c"]


def test_same_size_rewrites_within_one_clock_tick_are_seen(path: Path, backend: TinyDBBackend) -> None:
    insert(backend, row("a", "n-000"))
    other = reopen(path)
    for i in range(1, 40):  # each write has the same size; inodes and mtimes may repeat
        with other.unit_of_work() as uow:
            uow.repository(TABLE).update(SCOPE, row("a", f"n-{i:03}"))
        with backend.unit_of_work(write=False) as uow:
            got = uow.repository(TABLE).get(SCOPE, "a")
        assert got is not None and got["name"] == f"n-{i:03}"


def test_a_change_made_by_plain_tinydb_is_seen(path: Path, backend: TinyDBBackend) -> None:
    insert(backend, row("a"))
    assert ids(backend) == ["a"]
    plain = tinydb.TinyDB(str(path))
    try:
        doc = plain.table("posthog_accounts").all()[0]
        plain.table("posthog_accounts").insert({**doc, "id": "from-plain-tinydb-with-another-size"})
    finally:
        plain.close()
    assert ids(backend) == ["a", "from-plain-tinydb-with-another-size"]


def test_returned_records_are_the_callers(backend: TinyDBBackend) -> None:
    record = row("a", properties={"k": [1]}, tags=["x"])
    insert(backend, record)
    record["properties"]["k"].append(2)
    with backend.unit_of_work(write=False) as uow:
        got = uow.repository(TABLE).get(SCOPE, "a")
        assert got is not None and got["properties"] == {"k": [1]}
        got["properties"]["k"].append(3)
        found = uow.repository(TABLE).find(SCOPE, Query((Contains(("name",), "A"),), (OrderBy("id"),)))
        assert found[0]["properties"] == {"k": [1]}


# -- threads ---------------------------------------------------------------------------------------------


def test_threads_sharing_a_backend_and_threads_with_their_own_lose_nothing(path: Path, backend: TinyDBBackend) -> None:
    others = [reopen(path) for _ in range(2)]
    errors: list[BaseException] = []

    def work(target: TinyDBBackend, prefix: str) -> None:
        try:
            for i in range(25):
                insert(target, row(f"{prefix}-{i:02}"))
                with target.unit_of_work(write=False) as uow:
                    assert uow.repository(TABLE).get(SCOPE, f"{prefix}-{i:02}") is not None
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    targets = [backend, backend, backend, *others]
    threads = [threading.Thread(target=work, args=(t, f"t{n}")) for n, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    expected = sorted(f"t{n}-{i:02}" for n in range(len(targets)) for i in range(25))
    assert ids(backend) == ids(reopen(path)) == expected
