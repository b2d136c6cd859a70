"""Per-thread connections: reuse within a thread, isolation between threads and nested units of
work, recovery from a lost connection, fork safety, and PostgreSQL's autocommit reads."""

from __future__ import annotations

import gc
import multiprocessing
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from metricscore.backends.sql import SQLBackend
from metricscore.dialects.posthog.accounts import ACCOUNTS
from metricscore.errors import StorageError
from metricscore.query import Query
from metricscore.repository import Record

TABLE = ACCOUNTS.table
SCOPE = {"project_id": 1}
T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def row(id: str, name: str) -> Record:
    return {
        "project_id": 1,
        "id": id,
        "name": name,
        "external_id": None,
        "properties": {"z": 1},
        "tags": ["t"],
        "created_at": T0,
        "created_by": 7,
        "updated_at": T0,
        "csm_id": None,
        "account_executive_id": None,
        "account_owner_id": None,
    }


def insert_all(backend: SQLBackend, rows: list[Record]) -> None:
    with backend.unit_of_work() as uow:
        repo = uow.repository(TABLE)
        for r in rows:
            repo.insert(SCOPE, r)


def _driver_connection(backend: SQLBackend) -> Any:
    with backend.unit_of_work(write=False) as uow:
        uow.repository(TABLE).get(SCOPE, "none")
        return uow.connection.connection.dbapi_connection


def _ids(backend: SQLBackend) -> list[str]:
    with backend.unit_of_work(write=False) as uow:
        return sorted(r["id"] for r in uow.repository(TABLE).find(SCOPE, Query()))


def _kill(backend: SQLBackend, driver_connection: Any) -> None:
    """End ``driver_connection``'s session from the server side (as a restart or a proxy would)."""
    with backend.engine.connect() as other:
        if backend.dialect == "postgresql":
            pid = driver_connection.info.backend_pid
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        else:
            other.exec_driver_sql(f"KILL {int(driver_connection.thread_id())}")
        other.commit()


def test_a_thread_reuses_its_connection(backend: SQLBackend) -> None:
    first = _driver_connection(backend)
    for _ in range(3):
        assert _driver_connection(backend) is first
    assert backend.engine.pool.checkedout() <= 1  # type: ignore[attr-defined]


def test_threads_do_not_share_connections(backend: SQLBackend) -> None:
    mine = _driver_connection(backend)
    seen: dict[int, list[Any]] = {0: [], 1: []}
    barrier = threading.Barrier(3)

    def work(index: int) -> None:
        barrier.wait()  # all alive at once: no connection can be handed from one to another
        seen[index].append(_driver_connection(backend))
        seen[index].append(_driver_connection(backend))
        barrier.wait()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    barrier.wait()
    barrier.wait()
    for thread in threads:
        thread.join()
    assert seen[0][0] is seen[0][1] and seen[1][0] is seen[1][1]  # each thread keeps its own
    assert len({id(mine), id(seen[0][0]), id(seen[1][0])}) == 3
    seen.clear()
    gc.collect()
    # finished threads gave their connections back to the pool
    assert backend.engine.pool.checkedout() == 1  # type: ignore[attr-defined]


def test_a_nested_unit_of_work_has_its_own_transaction(backend: SQLBackend) -> None:
    # SQLite has one writer at a time: a nested write would wait for the outer one (as it always did)
    nested_write = backend.dialect != "sqlite"
    with pytest.raises(RuntimeError), backend.unit_of_work() as outer:
        outer.repository(TABLE).insert(SCOPE, row("outer", "Outer"))
        with backend.unit_of_work(write=nested_write) as inner:
            assert inner.connection is not outer.connection
            assert inner.repository(TABLE).get(SCOPE, "outer") is None  # not committed yet
            if nested_write:
                inner.repository(TABLE).insert(SCOPE, row("inner", "Inner"))
        raise RuntimeError("undo the outer unit")
    expected = ["inner"] if nested_write else []
    assert _ids(backend) == expected
    insert_all(backend, [row("after", "After")])  # the thread's connection is still fine
    assert _ids(backend) == sorted(["after", *expected])


def test_a_failed_unit_leaves_the_connection_usable(backend: SQLBackend) -> None:
    with pytest.raises(ValueError), backend.unit_of_work() as uow:
        uow.repository(TABLE).insert(SCOPE, row("a", "A"))
        raise ValueError("boom")
    assert _ids(backend) == []
    insert_all(backend, [row("b", "B")])
    assert _ids(backend) == ["b"]


def test_an_invalidated_connection_is_replaced(backend: SQLBackend) -> None:
    insert_all(backend, [row("a", "A")])
    first = _driver_connection(backend)
    with pytest.raises(StorageError), backend.unit_of_work() as uow:
        uow.repository(TABLE).get(SCOPE, "a")
        uow.connection.invalidate()  # the driver connection is closed under the unit of work
        uow.repository(TABLE).get(SCOPE, "a")
    assert _driver_connection(backend) is not first
    assert _ids(backend) == ["a"]


@pytest.mark.parametrize("write", [False, True])
def test_a_connection_lost_while_idle_is_a_storage_error_once(backend: SQLBackend, write: bool) -> None:
    if backend.dialect == "sqlite":
        pytest.skip("not for SQLite: it has no server connection to lose (the PostgreSQL and MariaDB runs check it)")
    insert_all(backend, [row("a", "A")])
    _kill(backend, _driver_connection(backend))
    with pytest.raises(StorageError) as error, backend.unit_of_work(write=write) as uow:
        uow.repository(TABLE).get(SCOPE, "a")
    assert isinstance(error.value.__cause__, sa.exc.SQLAlchemyError)
    # the next unit of work reconnects
    assert _ids(backend) == ["a"]
    insert_all(backend, [row("b", "B")])
    assert _ids(backend) == ["a", "b"]


def test_a_connection_lost_while_idle_fails_one_get_one_read(backend: SQLBackend) -> None:
    """The read-only ``get_one`` (a service's ``get``) on a lost connection: one StorageError, as a
    unit of work's read, and the next read reconnects."""
    if backend.dialect == "sqlite":
        pytest.skip("not for SQLite: it has no server connection to lose (the PostgreSQL and MariaDB runs check it)")
    insert_all(backend, [row("a", "A")])
    _kill(backend, _driver_connection(backend))
    with pytest.raises(StorageError) as error:
        backend.get_one(TABLE, SCOPE, "a")
    assert isinstance(error.value.__cause__, sa.exc.SQLAlchemyError)
    found = backend.get_one(TABLE, SCOPE, "a")
    assert found is not None and found["name"] == "A"
    assert backend.get_one(TABLE, SCOPE, "b") is None


def test_a_lost_connection_replaces_every_threads_connection(backend: SQLBackend) -> None:
    if backend.dialect == "sqlite":
        pytest.skip("not for SQLite: it has no server connection to lose (the PostgreSQL and MariaDB runs check it)")
    insert_all(backend, [row("a", "A")])
    go, done = threading.Event(), threading.Event()
    before: list[Any] = []
    after: list[Any] = []

    def other_thread() -> None:
        before.append(_driver_connection(backend))
        go.wait(30)
        after.append(_driver_connection(backend))
        done.set()

    thread = threading.Thread(target=other_thread)
    thread.start()
    while not before:
        threading.Event().wait(0.01)
    mine = _driver_connection(backend)
    _kill(backend, mine)
    with pytest.raises(StorageError), backend.unit_of_work(write=False) as uow:
        uow.repository(TABLE).get(SCOPE, "a")
    go.set()
    done.wait(30)
    thread.join()
    assert after[0] is not before[0]  # replaced before it was used again


def test_close_returns_idle_thread_connections(url: str) -> None:
    backend = SQLBackend.from_url(url)
    connection = _driver_connection(backend)
    pinned = backend.connections._thread_local.pinned
    backend.close()
    assert pinned.connection.closed
    with pytest.raises(StorageError):
        _driver_connection(backend)
    del connection


def _child(backend: SQLBackend, queue: Any) -> None:
    try:
        queue.put(_ids(backend))
    except BaseException as error:  # pragma: no cover - reported to the parent
        queue.put(repr(error))


def test_a_forked_child_does_not_use_the_parents_connection(backend: SQLBackend) -> None:
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    insert_all(backend, [row("a", "A")])
    parent = _driver_connection(backend)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_child, args=(backend, queue))
    process.start()
    result = queue.get(timeout=60)
    process.join(60)
    assert result == ["a"]
    # the parent's connection was neither used nor closed by the child
    assert _driver_connection(backend) is parent
    insert_all(backend, [row("b", "B")])
    assert _ids(backend) == ["a", "b"]


# -- PostgreSQL: reads without BEGIN/COMMIT ----------------------------------------------------------


@pytest.fixture
def pg(backend: SQLBackend) -> SQLBackend:
    if backend.dialect != "postgresql":
        pytest.skip("a PostgreSQL behaviour: the postgresql run of this test checks it")
    return backend


def test_postgresql_reads_run_outside_a_transaction(pg: SQLBackend) -> None:
    insert_all(pg, [row("a", "A")])
    with pg.unit_of_work(write=False) as uow:
        assert uow.repository(TABLE).get(SCOPE, "a") is not None
        driver = uow.connection.connection.dbapi_connection
        assert driver.autocommit
        assert driver.info.transaction_status == 0  # IDLE: no BEGIN was sent
    with pg.unit_of_work() as uow:
        uow.repository(TABLE).get(SCOPE, "a")
        assert not driver.autocommit
        assert driver.info.transaction_status == 2  # INTRANS
    assert driver.info.transaction_status == 0


def test_postgresql_a_write_in_a_read_unit_is_still_atomic(pg: SQLBackend) -> None:
    with pytest.raises(RuntimeError), pg.unit_of_work(write=False) as uow:
        repo = uow.repository(TABLE)
        assert repo.get(SCOPE, "x") is None
        repo.insert(SCOPE, row("x", "X"))
        repo.insert(SCOPE, row("y", "Y"))
        raise RuntimeError("undo both")
    assert _ids(pg) == []
    with pg.unit_of_work(write=False) as uow:
        uow.repository(TABLE).insert(SCOPE, row("z", "Z"))
    assert _ids(pg) == ["z"]


def test_postgresql_reads_stay_transactional_above_read_committed(url: str) -> None:
    if not url.startswith("postgresql"):
        pytest.skip("a PostgreSQL behaviour: the postgresql run of this test checks it")
    backend = SQLBackend.from_url(url, engine_options={"isolation_level": "REPEATABLE READ"})
    try:
        with backend.unit_of_work(write=False) as uow:
            uow.repository(TABLE).get(SCOPE, "a")
            driver = uow.connection.connection.dbapi_connection
            assert not driver.autocommit
            assert driver.info.transaction_status == 2  # one snapshot for the whole unit
    finally:
        backend.close()
