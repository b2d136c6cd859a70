"""The shipped HttpContract, in-process, on the memory backend, SQLite, PostgreSQL and MariaDB.

Server runs need METRICSCORE_TEST_POSTGRESQL_URL / METRICSCORE_TEST_MYSQL_URL and use the dedicated
test database (METRICSCORE_TEST_DATABASE), as the backend contracts do.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import metricscore as mc
from metricscore.http import App
from metricscore.http.testing import HttpContract


class TestHttpOnMemory(HttpContract):
    @pytest.fixture
    def app(self) -> Iterator[App]:
        store = mc.open_store("memory://")
        yield App(store)
        store.close()


class TestHttpOnSQLite(HttpContract):
    @pytest.fixture
    def app(self, tmp_path: Path) -> Iterator[App]:
        pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")
        store = mc.open_store(f"sqlite:///{tmp_path / 'http.db'}")
        yield App(store)
        store.close()


def _server_app(kind: str) -> Iterator[App]:
    pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")
    from metricscore.backends.sql.testing import dedicated_database, server_url, skip_reason

    url = server_url(kind)
    if url is None:
        pytest.skip(skip_reason(kind))
    # Every contract test works in fresh projects and accounts, so rows left by others do not matter.
    store = mc.open_store(dedicated_database(url))
    yield App(store)
    store.close()


@pytest.mark.server
class TestHttpOnPostgreSQL(HttpContract):
    @pytest.fixture
    def app(self) -> Iterator[App]:
        yield from _server_app("postgresql")


@pytest.mark.server
class TestHttpOnMariaDB(HttpContract):
    @pytest.fixture
    def app(self) -> Iterator[App]:
        yield from _server_app("mysql")
