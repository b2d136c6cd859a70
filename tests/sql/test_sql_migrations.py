"""Migrations: open_store upgrades empty and older schemas, the command works, the catalogue and
the revisions agree (a table added without a revision fails here)."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

import metricscore as mc
from metricscore.backends.sql import SQLBackend
from metricscore.backends.sql.catalog import all_tables
from metricscore.backends.sql.migrate import VERSION_TABLE, current_revision, head_revision, upgrade
from metricscore.backends.sql.schema import sql_table
from metricscore.backends.sql.testing import TEST_DATABASE, dedicated_database, server_url, skip_reason
from metricscore.errors import StorageError
from metricscore.query import Contains, OrderBy, Query

ACCOUNTS_TABLE = next(t for t in all_tables() if t.name == "posthog_accounts")


def _fresh_url(kind: str, tmp_path: Path, name: str) -> str:
    """An empty database (no tables at all) of ``kind``."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/{name}.db"
    url = server_url(kind)
    if url is None:
        pytest.skip(skip_reason(kind))
    dedicated = dedicated_database(url, f"{TEST_DATABASE}_{name}")
    engine = sa.create_engine(dedicated)
    with engine.connect() as connection:
        names = sa.inspect(connection).get_table_names()
        for table in names:
            quoted = f"`{table}`" if engine.dialect.name in ("mysql", "mariadb") else f'"{table}"'
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {quoted}" + (" CASCADE" if kind == "postgresql" else ""))
        connection.commit()
    engine.dispose()
    return dedicated


KINDS = ["sqlite", "postgresql", "mysql"]


@pytest.mark.parametrize("kind", KINDS)
def test_upgrade_from_the_first_revision_keeps_data(kind: str, tmp_path: Path) -> None:
    url = _fresh_url(kind, tmp_path, "upgrade")
    backend = SQLBackend.from_url(url, create_schema=False)
    try:
        assert upgrade(backend.engine, "0001") == "0001"
        with backend.engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
        assert "posthog_accounts" in tables and "statsig_metrics" not in tables
        at = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
        record = {
            "project_id": 1,
            "id": "a1",
            "name": "Kept Through Upgrade",
            "external_id": None,
            "properties": {},
            "tags": ["t"],
            "created_at": at,
            "created_by": None,
            "updated_at": at,
            "csm_id": None,
            "account_executive_id": None,
            "account_owner_id": None,
        }
        with backend.unit_of_work() as uow:
            uow.repository(ACCOUNTS_TABLE).insert({"project_id": 1}, record)
    finally:
        backend.close()

    store = mc.open_store(url)  # upgrades to the newest revision by default
    try:
        with store.backend.engine.connect() as connection:  # type: ignore[attr-defined]
            assert current_revision(connection) == head_revision()
        page = store.posthog.accounts(project_id=1).list(search="through")
        assert [r["id"] for r in page.results] == ["a1"]
        # The newer tables work too.
        metric = store.statsig.metrics(project_id="p1")
        assert metric.list().count == 0
    finally:
        store.close()


@pytest.mark.parametrize("kind", KINDS)
def test_head_schema_matches_the_catalogue(kind: str, tmp_path: Path) -> None:
    """Every catalogue table exists with the columns, keys and indexes its spec asks for."""
    url = _fresh_url(kind, tmp_path, "catalogue")
    backend = SQLBackend.from_url(url)
    try:
        with backend.engine.connect() as connection:
            inspector = sa.inspect(connection)
            for spec in all_tables():
                tables = sql_table(spec)
                for expected in tables.metadata.sorted_tables:
                    assert inspector.has_table(expected.name), (
                        f"{expected.name} is in the catalogue but no migration creates it: add a revision "
                        "(docs/databases.md)"
                    )
                    columns = {c["name"] for c in inspector.get_columns(expected.name)}
                    assert columns == {c.name for c in expected.columns}, expected.name
                    indexes = {i["name"] for i in inspector.get_indexes(expected.name)}
                    uniques = {u["name"] for u in inspector.get_unique_constraints(expected.name)}
                    for index in expected.indexes:
                        assert index.name in indexes, index.name
                    for constraint in expected.constraints:
                        if isinstance(constraint, sa.UniqueConstraint):
                            assert constraint.name in uniques | indexes, constraint.name
    finally:
        backend.close()


def test_create_schema_false_leaves_an_empty_database_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/empty.db"
    store = mc.open_store(url, create_schema=False)
    try:
        with pytest.raises(StorageError, match="migrate"):
            store.posthog.accounts(project_id=1).create({"name": "x"})
    finally:
        store.close()
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        assert sa.inspect(connection).get_table_names() == []
    engine.dispose()


def test_the_migrate_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    done = subprocess.run(
        [sys.executable, "-m", "metricscore.backends.sql", "migrate", url], capture_output=True, text=True, check=True
    )
    assert head_revision() in done.stdout
    current = subprocess.run(
        [sys.executable, "-m", "metricscore.backends.sql", "current", url], capture_output=True, text=True, check=True
    )
    assert current.stdout.strip() == head_revision()
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        names = set(sa.inspect(connection).get_table_names())
    engine.dispose()
    assert {t.name for t in all_tables()} | {VERSION_TABLE} <= names


@pytest.mark.parametrize("command", ["migrate", "current"])
def test_the_migrate_command_on_a_database_it_cannot_open_is_one_line(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from metricscore.backends.sql.migrate import main

    missing = tmp_path / "no" / "such"
    assert main([command, f"sqlite:///{missing / 'x.db'}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: Cannot use the SQLite database {missing / 'x.db'}: the directory {missing} does not")
    assert len(err.splitlines()) == 1


def test_the_migrate_command_goes_back_only_with_downgrade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from metricscore.backends.sql.migrate import main

    url = f"sqlite:///{tmp_path}/back.db"
    assert main(["migrate", url]) == 0
    assert main(["migrate", url, "--revision", "0001"]) == 2
    assert "pass --downgrade" in capsys.readouterr().err
    assert main(["migrate", url, "--revision", "0001", "--downgrade"]) == 0
    assert capsys.readouterr().out.strip() == f"{url}: at revision 0001"


def _open_and_write(url: str, n: int) -> None:
    store = mc.open_store(url)
    try:
        store.posthog.accounts(project_id=1).create({"name": f"from {n}"})
    finally:
        store.close()


def test_processes_opening_an_empty_database_at_once_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/race.db"
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_open_and_write, args=(url, n)) for n in range(4)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(120)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    store = mc.open_store(url)
    try:
        assert store.posthog.accounts(project_id=1).list().count == 4
    finally:
        store.close()


def test_fts_index_covers_rows_written_before_it(tmp_path: Path) -> None:
    """Search finds rows whatever the term length (trigram index or scan)."""
    store = mc.open_store(f"sqlite:///{tmp_path}/fts.db")
    try:
        accounts = store.posthog.accounts(project_id=1)
        accounts.create({"name": "Findable Corp", "external_id": "EXT-42"})
        for term in ("findable", "ext-4", "co", "x"):
            assert accounts.list(search=term).count == 1, term
        backend = store.backend
        assert isinstance(backend, SQLBackend)
        with backend.unit_of_work(write=False) as uow:
            repo = uow.repository(ACCOUNTS_TABLE)
            assert repo._statements.fts  # the trigram index is in use on SQLite
            found = repo.find({"project_id": 1}, Query((Contains(("external_id",), "t-42"),), (OrderBy("id"),)))
        assert len(found) == 1
    finally:
        store.close()


@pytest.mark.parametrize("kind", KINDS)
def test_the_event_time_index_comes_and_goes_with_its_revision(kind: str, tmp_path: Path) -> None:
    """0006 adds the (dataset, timestamp, seq) index to an events table that has rows, and going
    back to 0005 drops only that index."""
    from metricscore.backends.sql.migrate import migrate_url
    from metricscore.evaluation.events import EVENTS, EventLog

    url = _fresh_url(kind, tmp_path, "events_ts")
    assert migrate_url(url, "0005_events_customer_index") == "0005_events_customer_index"

    def indexes() -> dict[str, list[str]]:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                return {i["name"]: i["column_names"] for i in sa.inspect(connection).get_indexes("events")}
        finally:
            engine.dispose()

    before = indexes()
    assert "ix_events_timestamp_seq" not in before
    backend = SQLBackend.from_url(url, create_schema=False)
    try:
        at = datetime(2024, 1, 2, tzinfo=UTC)
        record = {"id": "e1", "seq": 1, "name": "sent", "timestamp": at, "customer": None, "dedupe_key": None}
        with backend.unit_of_work() as uow:
            uow.repository(EVENTS).insert({"dataset": "kept"}, {**record, "value": None, "properties": {}})
    finally:
        backend.close()
    assert migrate_url(url) == head_revision()
    assert indexes() == {**before, "ix_events_timestamp_seq": ["dataset", "timestamp", "seq"]}
    assert migrate_url(url, "0005_events_customer_index", allow_downgrade=True) == "0005_events_customer_index"
    assert indexes() == before
    store = mc.open_store(url)  # upgrades to the newest revision again
    try:
        assert [e.id for e in EventLog(store, "kept").read()] == ["e1"]
    finally:
        store.close()
    assert indexes() == {**before, "ix_events_timestamp_seq": ["dataset", "timestamp", "seq"]}
