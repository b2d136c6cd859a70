"""The shipped HttpContract, in-process, on the memory backend and on SQLite."""

from __future__ import annotations

import os
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
        pytest.importorskip("sqlalchemy")
        store = mc.open_store(f"sqlite:///{tmp_path / 'http.db'}")
        yield App(store)
        store.close()


@pytest.mark.server
class TestHttpOnPostgreSQL(HttpContract):
    @pytest.fixture
    def app(self) -> Iterator[App]:
        url = os.environ.get("METRICSCORE_TEST_POSTGRESQL_URL")
        if not url:
            pytest.skip("postgresql server tests are off: set METRICSCORE_TEST_POSTGRESQL_URL to run them")
        store = mc.open_store(url)
        yield App(store)
        store.close()
