"""The SQL backend runs the whole contract suite on SQLite (file and in memory), PostgreSQL and
MariaDB. Server databases need METRICSCORE_TEST_POSTGRESQL_URL / METRICSCORE_TEST_MYSQL_URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")

from metricscore.backends.sql import SQLBackend
from metricscore.backends.sql.testing import clear, dedicated_database, server_url, skip_reason
from metricscore.testing.conformance import COUNTING, BackendContracts


class SQLContracts(BackendContracts):
    """The SQL backend promises the one-round-trip page count: its contract must run, not skip."""

    @pytest.fixture
    def capabilities(self) -> frozenset[str]:
        return frozenset({COUNTING})


def _server_backend(kind: str) -> Iterator[SQLBackend]:
    url = server_url(kind)
    if url is None:
        pytest.skip(skip_reason(kind))
    backend = SQLBackend.from_url(dedicated_database(url))
    clear(backend.engine)
    yield backend
    backend.close()


class TestSQLiteFile(SQLContracts):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[SQLBackend]:
        backend = SQLBackend.from_url(f"sqlite:///{tmp_path}/metrics.db")
        yield backend
        backend.close()


class TestSQLiteMemory(SQLContracts):
    @pytest.fixture
    def backend(self) -> Iterator[SQLBackend]:
        backend = SQLBackend.from_url("sqlite://")
        yield backend
        backend.close()


@pytest.mark.server
class TestPostgreSQL(SQLContracts):
    @pytest.fixture
    def backend(self) -> Iterator[SQLBackend]:
        yield from _server_backend("postgresql")


@pytest.mark.server
class TestMariaDB(SQLContracts):
    @pytest.fixture
    def backend(self) -> Iterator[SQLBackend]:
        yield from _server_backend("mysql")
