"""The backends the HTTP tests run on, as a store URL per kind (a test helper)."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Every backend: the server databases run with the ``server`` mark (skipped without their URL).
BACKENDS = [
    "memory",
    "tinydb",
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.server),
    pytest.param("mysql", marks=pytest.mark.server),
]


def store_url(kind: str, tmp_path: Path) -> str:
    """A fresh store of ``kind`` for one test (skipped without the extra or the server it needs)."""
    if kind == "memory":
        return "memory://"
    if kind == "tinydb":
        return f"tinydb://{tmp_path}/db.json"
    pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")
    from metricscore.backends.sql.testing import database_url

    return database_url(kind, tmp_path)
