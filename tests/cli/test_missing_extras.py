"""A user who installed fewer extras: each command and package that needs a missing one says which
extra to install (the command in one line, an import in the last line of its error)."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

MIGRATE = (
    "import sys; sys.argv = ['metricscore-migrate', *{args!r}]\n"
    "from metricscore.cli import migrate_main; migrate_main()"
)


def test_the_migrate_console_script_is_the_guarded_entry_point() -> None:
    (script,) = entry_points(group="console_scripts", name="metricscore-migrate")
    assert script.value == "metricscore.cli:migrate_main"


def test_metricscore_migrate_without_sqlalchemy_is_one_line_naming_the_extra(
    tmp_path: Path, without_modules: Callable[..., dict[str, str]], python: Callable[..., Any]
) -> None:
    code = MIGRATE.format(args=["current", "sqlite:///x.db"])
    done = python("-c", code, cwd=tmp_path, env=without_modules("sqlalchemy"))
    assert done.returncode == 2
    assert done.stderr == "error: metricscore-migrate needs sqlalchemy: pip install 'metricscore[sql]'\n"
    assert list(tmp_path.iterdir()) == [tmp_path / "block"]


def test_metricscore_migrate_names_itself_and_current_creates_no_file(
    tmp_path: Path, python: Callable[..., Any]
) -> None:
    pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")
    done = python("-c", MIGRATE.format(args=["sqlite:///x.db"]), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: metricscore-migrate ")
    done = python("-c", MIGRATE.format(args=["current", f"sqlite:///{tmp_path / 'x.db'}"]), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "(empty)\n")
    assert done.stderr == f"note: no SQLite database exists at {tmp_path / 'x.db'} (nothing created)\n"
    assert not (tmp_path / "x.db").exists()  # reading the revision creates no file


@pytest.mark.parametrize(
    ("module", "missing", "extra"),
    [
        ("metricscore.backends.sql", "sqlalchemy", "sql"),
        ("metricscore.backends.tinydb", "tinydb", "tinydb"),
        ("metricscore.testing.conformance", "pytest", "testing"),
        ("metricscore.testing.conformance", "hypothesis", "testing"),
    ],
)
def test_importing_a_package_whose_extra_is_missing_names_the_extra(
    module: str,
    missing: str,
    extra: str,
    tmp_path: Path,
    without_modules: Callable[..., dict[str, str]],
    python: Callable[..., Any],
) -> None:
    done = python("-c", f"import {module}", cwd=tmp_path, env=without_modules(missing))
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"ModuleNotFoundError: No module named {missing!r}: ")
    assert last.endswith(f"needs it: pip install 'metricscore[{extra}]'")


def test_python_m_of_the_sql_backend_without_sqlalchemy_names_the_extra(
    tmp_path: Path, without_modules: Callable[..., dict[str, str]], python: Callable[..., Any]
) -> None:
    argv = ["-m", "metricscore.backends.sql", "current", "sqlite:///x.db"]
    done = python(*argv, cwd=tmp_path, env=without_modules("sqlalchemy"))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].endswith("pip install 'metricscore[sql]'")


def test_a_store_url_whose_extra_is_missing_still_names_the_schemes_extra(
    tmp_path: Path, without_modules: Callable[..., dict[str, str]], python: Callable[..., Any]
) -> None:
    code = (
        "import metricscore as mc\n"
        "try:\n    mc.open_store('postgresql+psycopg://u@h/db')\n"
        "except mc.ConfigurationError as error:\n    print(error)"
    )
    done = python("-c", code, cwd=tmp_path, env=without_modules("sqlalchemy"))
    assert done.stdout == "This backend needs the package 'sqlalchemy': pip install 'metricscore[postgresql]'\n"


@pytest.mark.parametrize(
    ("target", "blocked", "says"),
    [
        ("sqlite://", ("sqlalchemy",), "SQL evaluation needs sqlalchemy: pip install 'metricscore[sql]'"),
        ("duckdb:///:memory:", ("duckdb", "duckdb_engine"), "pip install 'metricscore[duckdb]'"),
        ("postgresql+psycopg://u@h/db", ("psycopg",), "pip install 'metricscore[postgresql]'"),
        ("mysql+pymysql://u@h/db", ("pymysql",), "pip install 'metricscore[mysql]'"),
    ],
)
def test_evaluating_on_a_database_whose_extra_is_missing_names_the_extra(
    target: str,
    blocked: tuple[str, ...],
    says: str,
    tmp_path: Path,
    without_modules: Callable[..., dict[str, str]],
    python: Callable[..., Any],
) -> None:
    code = (
        "import metricscore as mc\n"
        "from metricscore.evaluation import BUILTIN_SOURCE, sql_events\n"
        f"try:\n    sql_events({target!r}, BUILTIN_SOURCE)\n"
        "except mc.ConfigurationError as error:\n    print(error)"
    )
    done = python("-c", code, cwd=tmp_path, env=without_modules(*blocked))
    assert done.returncode == 0 and done.stdout.strip().endswith(says), done.stdout + done.stderr


def test_loading_yaml_definitions_without_the_cli_extra_is_a_configuration_error(
    tmp_path: Path, without_modules: Callable[..., dict[str, str]], python: Callable[..., Any]
) -> None:
    (tmp_path / "m.yaml").write_text("resource: posthog.accounts\nscope: {project_id: 1}\ndefinitions: []\n")
    code = (
        "import metricscore as mc, metricscore.definitions as defs\n"
        "try:\n    defs.load(['m.yaml'])\n"
        "except mc.ConfigurationError as error:\n    print(error)"
    )
    done = python("-c", code, cwd=tmp_path, env=without_modules("ruamel", "yaml"))
    assert done.returncode == 0 and done.stdout.strip().endswith("pip install 'metricscore[cli]'"), done.stderr


@pytest.mark.parametrize("command", ["metricscore-migrate", "metricscore migrate"])
def test_migrating_a_missing_sqlite_file_to_base_creates_no_file(
    command: str, tmp_path: Path, python: Callable[..., Any]
) -> None:
    """A file that does not exist is at base already: neither command creates it to say so."""
    pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")
    url = f"sqlite:///{tmp_path / 'x.db'}"
    if command == "metricscore-migrate":
        code = MIGRATE.format(args=["migrate", url, "--revision", "base"])
    else:
        args = ["migrate", "--url", url, "--revision", "base"]
        code = f"import sys; from metricscore.cli import main; sys.exit(main({args!r}))"
    done = python("-c", code, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, f"{url}: at revision base\n"), done.stderr
    assert not (tmp_path / "x.db").exists()
