"""A SQLite database that cannot be used fails at once, saying why: a ConfigurationError for a path
that cannot work (missing directory, a directory, read-only), a StorageError for a corrupt file.

Only SQLITE_BUSY is retried (for up to the busy timeout); a read-only, missing or unopenable
database is refused on the first try.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")

import metricscore as mc
from metricscore.errors import ConfigurationError, MetricscoreError, StorageError

#: Far below the 30 s busy timeout: the refusal must not wait for it.
FAST = 5.0


def _refused(url: str, match: str, kind: type[MetricscoreError] = ConfigurationError) -> MetricscoreError:
    started = time.monotonic()
    with pytest.raises(kind, match=match) as error:
        mc.open_store(url)
    assert time.monotonic() - started < FAST
    return error.value


def _database(path: Path) -> Path:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE unrelated (x)")
    connection.commit()
    connection.close()
    return path


def test_a_missing_directory(tmp_path: Path) -> None:
    error = _refused(f"sqlite:///{tmp_path}/missing/metrics.db", "the directory .*missing does not exist")
    assert str(tmp_path / "missing" / "metrics.db") in str(error)
    assert not (tmp_path / "missing").exists()


def test_a_directory_instead_of_a_file(tmp_path: Path) -> None:
    (tmp_path / "metrics.db").mkdir()
    _refused(f"sqlite:///{tmp_path}/metrics.db", "it is a directory")


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "metrics.db").write_bytes(b"this is not a database, " * 200)
    _refused(f"sqlite:///{tmp_path}/metrics.db", "not a SQLite database", StorageError)
    assert (tmp_path / "metrics.db").read_bytes().startswith(b"this is not a database")


def test_a_database_opened_read_only(tmp_path: Path) -> None:
    path = _database(tmp_path / "metrics.db")
    _refused(f"sqlite:///file:{path}?mode=ro&uri=true", "read-only")


@pytest.fixture
def read_only_directory(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() == 0:
        pytest.skip(
            "running as root, which may write into read-only directories: run the tests as another user to check this"
        )
    directory = tmp_path / "ro"
    directory.mkdir()
    _database(directory / "metrics.db")
    directory.chmod(stat.S_IRUSR | stat.S_IXUSR)
    yield directory
    directory.chmod(stat.S_IRWXU)


def test_an_existing_database_in_a_read_only_directory(read_only_directory: Path) -> None:
    _refused(f"sqlite:///{read_only_directory}/metrics.db", "Cannot use the SQLite database")


def test_a_new_database_in_a_read_only_directory(read_only_directory: Path) -> None:
    _refused(f"sqlite:///{read_only_directory}/new.db", "Cannot use the SQLite database")


def test_a_busy_database_is_still_waited_for(tmp_path: Path) -> None:
    """The one failure that is retried: another connection holds the write lock for a moment."""
    path = tmp_path / "metrics.db"
    mc.open_store(f"sqlite:///{path}").close()
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    store = mc.open_store(f"sqlite:///{path}")
    accounts = store.posthog.accounts(project_id=1)
    release = threading.Timer(0.5, blocker.rollback)
    release.start()
    try:
        assert accounts.create({"name": "after the lock"})["name"] == "after the lock"
    finally:
        release.join()
        blocker.close()
        store.close()
