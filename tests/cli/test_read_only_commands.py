"""Commands that only read a store (``keys list``, ``keys revoke``, ``plan``, ``validate --target``,
``export``) never create its schema: on a database without metricscore's tables (an empty
PostgreSQL or MariaDB database, an empty SQLite file) they say so in one line and leave it empty."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("click", reason="needs the cli extra: pip install 'metricscore[cli]'")
pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")

import sqlalchemy as sa

from metricscore.backends.sql.testing import TEST_DATABASE, dedicated_database, server_url, skip_reason
from metricscore.cli import main

DEFINITIONS = """\
resource: posthog.accounts
scope: {project_id: 1}
definitions:
  - {name: Acme, external_id: acme}
"""


def _tables(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return sorted(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database that exists but holds no table at all."""
    if request.param == "sqlite":
        (tmp_path / "empty.db").touch()
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = server_url(request.param)
    if server is None:
        pytest.skip(skip_reason(request.param))
    name = f"{TEST_DATABASE}_noschema"
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    quoted = f'"{name}"' if request.param == "postgresql" else f"`{name}`"
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}")
    finally:
        engine.dispose()
    yield dedicated_database(server, name)


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_keys_list_and_revoke_on_a_database_without_the_schema_create_no_table(
    empty_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "list", "--url", empty_database]) == 1
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("error: no keys: ") and line.endswith("has no metricscore schema (no tables yet)")
    assert main(["keys", "revoke", "k1", "--url", empty_database]) == 1
    assert _one_line(capsys.readouterr().err).startswith("error: no live key 'k1': ")
    assert _tables(empty_database) == []
    # keys create makes the schema; list then reads it.
    assert main(["keys", "create", "statsig", "--project", "p", "--url", empty_database]) == 0
    assert main(["keys", "list", "--url", empty_database]) == 0
    assert '"kind": "statsig"' in capsys.readouterr().out


def test_plan_and_validate_read_a_database_without_the_schema_as_empty_and_create_nothing(
    empty_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "metrics.yaml").write_text(DEFINITIONS)
    files = str(tmp_path / "metrics.yaml")
    export = ["export", "--target", empty_database, "--resource", "posthog.accounts", "--scope", "project_id=1"]
    assert main(["plan", files, "--target", empty_database]) == 2  # 2: changes to make
    captured = capsys.readouterr()
    assert "Plan: 1 to create" in captured.out
    assert "has no metricscore schema (no tables yet); reading it as empty" in _one_line(captured.err)
    assert main(["validate", files, "--target", empty_database]) == 0
    capsys.readouterr()
    assert main(export) == 1
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("error: nothing to read: ") and "has no metricscore schema" in line
    assert _tables(empty_database) == []
    # apply creates the schema; plan and export then read the store.
    assert main(["apply", files, "--target", empty_database, "--yes"]) == 0
    assert main(["plan", files, "--target", empty_database]) == 0
    assert main(export) == 0
    assert "external_id: acme" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["metrics.db", "metrics.json"])
def test_plan_where_no_store_file_exists_creates_none(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "metrics.yaml").write_text(DEFINITIONS)
    url = f"sqlite:///{tmp_path / name}" if name.endswith(".db") else f"tinydb:///{tmp_path / name}"
    assert main(["plan", str(tmp_path / "metrics.yaml"), "--target", url]) == 2
    note = f"note: no store exists at {url}; reading it as empty, as apply would find it"
    assert _one_line(capsys.readouterr().err) == note
    argv = ["export", "--target", url, "--resource", "posthog.accounts", "--scope", "project_id=1"]
    assert main(argv) == 1
    assert _one_line(capsys.readouterr().err) == f"error: nothing to read: no store exists at {url}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.yaml"]


def test_keys_list_on_a_schema_older_than_the_keys_table_says_to_migrate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    assert main(["migrate", "--url", url, "--revision", "0002"]) == 0  # before the HTTP tables
    capsys.readouterr()
    assert main(["keys", "list", "--url", url]) == 1
    assert "upgrade it with `metricscore migrate --url URL`" in _one_line(capsys.readouterr().err)
    assert "http_api_keys" not in _tables(url)
