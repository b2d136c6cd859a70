"""Fixtures for the SQL backend's own tests: one URL per database kind.

``sqlite`` always runs; ``postgresql`` and ``mysql`` run when METRICSCORE_TEST_POSTGRESQL_URL /
METRICSCORE_TEST_MYSQL_URL are set (in a dedicated ``metricscore_test`` database) and skip otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")

from metricscore.backends.sql import SQLBackend
from metricscore.backends.sql.testing import clear, database_url

KINDS = ["sqlite", "postgresql", "mysql"]


@pytest.fixture(params=KINDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty-of-rows, migrated database of each kind."""
    found = database_url(request.param, tmp_path)
    if request.param != "sqlite":
        backend = SQLBackend.from_url(found)
        clear(backend.engine)
        backend.close()
    yield found


@pytest.fixture
def backend(url: str) -> Iterator[SQLBackend]:
    opened = SQLBackend.from_url(url)
    yield opened
    opened.close()


@contextmanager
def _selects(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    executed: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            executed.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield executed
    finally:
        event.remove(engine, "before_cursor_execute", capture)


@pytest.fixture
def selects() -> Callable[[Engine], AbstractContextManager[list[tuple[str, Any]]]]:
    """``with selects(engine) as executed:`` collects the (statement, parameters) of the SELECTs
    run inside (to EXPLAIN them)."""
    return _selects
