"""The ``metricscore`` command: every mistake is one line on stderr with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("click", reason="needs the cli extra: pip install 'metricscore[cli]'")
pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")

from click.testing import CliRunner

from metricscore import __version__
from metricscore.cli import DEFAULT_URL, cli, main

BAD_ARGUMENTS = [
    (["serve", "--port", "99999"], "--port"),
    (["serve", "--port", "0"], "--port"),
    (["serve", "--port", "eighty"], "--port"),
    (["serve", "--workers", "0"], "--workers"),
    (["serve", "--threads", "0"], "--threads"),
    (["serve", "--url", "memory://"], "in-process store"),
    (["serve", "--url", "sqlite://"], "in-process store"),
    (["serve", "--statsig-limits", "100/ten"], "--statsig-limits"),
    (["keys", "create", "posthog", "--scopes", "*", "--projects", ""], "--projects"),
    (["keys", "create", "posthog", "--scopes", "*", "--projects", " , "], "--projects"),
    (["keys", "create", "posthog", "--scopes", "*", "--projects", "1,two"], "'two'"),
    (["keys", "create", "posthog", "--projects", "1"], "--scopes"),
    (["keys", "create", "posthog", "--scopes", "*", "--user-id", "x"], "--user-id"),
    (["keys", "create", "sequence"], "--account"),
    (["keys", "create", "statsig"], "--project"),
    (["keys", "create", "launchdarkly"], "launchdarkly"),
    (["keys", "revoke"], "KEY_ID"),
    (["migrate", "--url", "memory://"], "memory"),
    (["migrate", "--revision", "nonsense"], "unknown revision"),
    (["serve", "--no-such-option"], "--no-such-option"),
    (["serve", "--public-url", "ftp://example.com"], "--public-url"),
    (["serve", "--allowed-hosts", ""], "--allowed-hosts"),
    (["serve", "--allowed-hosts", "a/b"], "--allowed-hosts"),
    (["no-such-command"], "no-such-command"),
    (["keys", "list", "--url", "nosuchscheme://x"], "nosuchscheme"),
    (["keys", "create", "statsig", "--project", "p", "--scopes", "account:read"], "--scopes does not apply"),
    (["keys", "create", "sequence", "--account", "a", "--projects", "1"], "takes no projects"),
    (["keys", "create", "posthog", "--scopes", "account:raed"], "Unknown scope(s): 'account:raed'"),
]


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("METRICSCORE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return tmp_path


@pytest.mark.parametrize(("argv", "named"), BAD_ARGUMENTS)
def test_every_bad_argument_is_one_line_with_status_2(
    argv: list[str], named: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], captured.err
    assert "Traceback" not in captured.err and captured.out == ""


def test_empty_projects_never_widens_the_key(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "posthog", "--scopes", "*", "--projects", ""]) == 2
    capsys.readouterr()
    assert main(["keys", "list", "--all"]) == 0
    assert capsys.readouterr().out == ""  # nothing was created


def test_keys_create_list_revoke_with_click_runner(workdir: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["keys", "create", "posthog", "--scopes", "account:read", "--projects", "3,4", "--json"])
    assert made.exit_code == 0, made.output
    key = json.loads(made.stdout)
    assert key["token"].startswith("phx_") and key["header"] == f"Authorization: Bearer {key['token']}"
    listed = runner.invoke(cli, ["keys", "list"])
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["key_id"], r["projects"], r["scopes"]) for r in rows] == [(key["key_id"], [3, 4], ["account:read"])]
    every = runner.invoke(cli, ["keys", "create", "posthog", "--scopes", "*", "--projects", "*", "--json"])
    assert every.exit_code == 0
    assert runner.invoke(cli, ["keys", "revoke", key["key_id"]]).exit_code == 0
    assert [json.loads(line)["key_id"] for line in runner.invoke(cli, ["keys", "list"]).stdout.splitlines()] == [
        json.loads(every.stdout)["key_id"]
    ]
    assert main(["keys", "revoke", key["key_id"]]) == 1  # already revoked: a failure, not a usage error


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"metricscore {__version__}"


def test_migrate_upgrades_and_refuses_an_unasked_downgrade(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from metricscore.backends.sql.migrate import head_revision

    url = f"sqlite:///{workdir / 'migrated.db'}"
    assert main(["migrate", "--url", url, "--revision", "0002"]) == 0
    assert "at revision 0002" in capsys.readouterr().out
    assert main(["migrate", "--url", url]) == 0
    assert f"at revision {head_revision()}" in capsys.readouterr().out
    assert main(["migrate", "--url", url, "--revision", "0001"]) == 2
    assert "--downgrade" in capsys.readouterr().err
    assert main(["migrate", "--url", url, "--revision", "0001", "--downgrade"]) == 0
    assert "at revision 0001" in capsys.readouterr().out
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        assert "http_api_keys" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    assert main(["migrate", "--url", url]) == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--port", "99999"],
        ["serve", "--url", "memory://"],
        ["keys", "create", "posthog", "--scopes", "*", "--projects", ""],
        ["serve", "--url", "sqlite:////no/such/folder/x.db", "--port", "1"],
    ],
)
def test_a_real_process_never_prints_a_traceback(argv: list[str], tmp_path: Path, python: Callable[..., Any]) -> None:
    done = python("-m", "metricscore.cli", *argv, cwd=tmp_path)
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("error: "), done.stderr


def test_without_click_the_command_says_what_to_install(
    tmp_path: Path, without_modules: Callable[..., dict[str, str]], python: Callable[..., Any]
) -> None:
    done = python("-m", "metricscore.cli", "keys", "list", cwd=tmp_path, env=without_modules("click"))
    assert done.returncode == 2
    assert done.stderr.strip() == "error: the metricscore command needs click: pip install 'metricscore[cli]'"


def test_import_metricscore_does_not_load_click(tmp_path: Path) -> None:
    code = "import sys, metricscore; print('click' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("url", [None, "sqlite:///sub.db", "tinydb://keys.json"])
def test_reading_keys_where_no_store_exists_creates_none(
    url: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("METRICSCORE_URL", raising=False)
    given = ["--url", url] if url else []
    assert main(["keys", "list", *given]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"no keys: no store exists at {url or DEFAULT_URL}\n"
    assert main(["keys", "revoke", "k1", *given]) == 1
    assert capsys.readouterr().err == f"error: no live key 'k1': no store exists at {url or DEFAULT_URL}\n"
    assert list(tmp_path.iterdir()) == []
    # Once a key was made there, the same commands read and change that store.
    assert main(["keys", "create", "statsig", "--project", "p", *given]) == 0
    capsys.readouterr()
    assert main(["keys", "list", *given]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(listed) == 1
    assert main(["keys", "revoke", listed[0]["key_id"], *given]) == 0


def test_python_m_metricscore_is_the_command(tmp_path: Path, python: Callable[..., Any]) -> None:
    done = python("-m", "metricscore", "--version", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, f"metricscore {__version__}\n")
    done = python("-m", "metricscore", "keys", "create", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (2, "error: Missing argument 'KIND'.\n")
