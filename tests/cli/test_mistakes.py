"""What a new user trips on with the ``metricscore`` command: each mistake is one line on stderr and
a non-zero status, Ctrl-C says so (status 130), and long work says what it is doing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("click", reason="needs the cli extra: pip install 'metricscore[cli]'")
pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")

import metricscore as mc
from metricscore.cli import main
from metricscore.definitions import cli as definitions_cli

ACCOUNTS = """\
resource: posthog.accounts
scope: {project_id: 1}
definitions:
  - {name: A, external_id: a}
  - {name: B, external_id: b}
  - {name: C, external_id: c}
"""


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_migrate_into_a_missing_directory_names_the_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no" / "such"
    assert main(["migrate", "--url", f"sqlite:///{missing / 'x.db'}"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"the directory {missing} does not exist" in line and "sqlalche.me" not in line


def test_migrate_against_a_server_that_is_down_is_a_database_error(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("psycopg", reason="needs the postgresql extra: pip install 'metricscore[postgresql]'")
    url = f"postgresql+psycopg://nobody@127.0.0.1:{_closed_port()}/nothing"
    assert main(["migrate", "--url", url]) == 1
    assert _one_error_line(capsys.readouterr().err).startswith("error: Database error: OperationalError")


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_directory_without_definition_files_is_a_problem_not_nothing_to_do(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "notes.txt").write_text("not a definition file")
    argv = [command, str(tmp_path / "metrics")]
    if command == "plan":
        argv += ["--target", f"sqlite:///{tmp_path / 'd.db'}"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "a directory without definition files (.yaml, .yml, .json) [unreadable]" in out


def test_ctrl_c_is_status_130_and_says_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.yaml").write_text(ACCOUNTS)

    def interrupted(paths: object, **options: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(definitions_cli, "load", interrupted)
    assert main(["validate", str(tmp_path / "m.yaml")]) == 130
    assert _one_error_line(capsys.readouterr().err) == "error: interrupted"


def test_ctrl_c_of_a_real_process(tmp_path: Path) -> None:
    """SIGINT from the terminal, mid-run: one line, status 130, no traceback."""
    (tmp_path / "m.yaml").write_text(ACCOUNTS)
    script = textwrap.dedent(
        """
        import sys, time
        from metricscore.cli import main
        from metricscore.definitions import cli

        def slow(paths, **options):
            print("ready", file=sys.stderr, flush=True)
            time.sleep(60)

        cli.load = slow
        sys.exit(main(["validate", "m.yaml"]))
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    assert process.stderr.readline().strip() == "ready"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert _one_error_line(err) == "error: interrupted"


def test_ctrl_c_during_apply_says_how_far_it_got(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.yaml").write_text(ACCOUNTS)
    real_apply = definitions_cli.apply

    def interrupted_after_two(planned: Any, target: Any, *, progress: Callable[[Any], None]) -> Any:
        calls = iter(range(1, 100))

        def stop_after_second(change: Any) -> None:
            progress(change)
            if next(calls) == 2:
                raise KeyboardInterrupt

        return real_apply(planned, target, progress=stop_after_second)

    monkeypatch.setattr(definitions_cli, "apply", interrupted_after_two)
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert main(["apply", str(tmp_path / "m.yaml"), "--target", url, "--yes"]) == 130
    line = _one_error_line(capsys.readouterr().err)
    assert line == "error: interrupted after 2 of 3 change(s); run plan to see what is left"


def test_long_work_without_a_terminal_prints_progress_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.yaml").write_text(ACCOUNTS)
    monkeypatch.setattr(definitions_cli, "TICK_SECONDS", 0.0)
    monkeypatch.setattr(definitions_cli, "PLAN_NOTICE", 3)
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert main(["apply", str(tmp_path / "m.yaml"), "--target", url, "--yes"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"planning 3 definition(s) against {url} ...",
        "applying: 1 of 3 done",
        "applying: 2 of 3 done",
        "applying: 3 of 3 done",
    ]


def test_quick_work_prints_no_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "m.yaml").write_text(ACCOUNTS)
    assert main(["apply", str(tmp_path / "m.yaml"), "--target", f"sqlite:///{tmp_path / 'd.db'}", "--yes"]) == 0
    assert capsys.readouterr().err == ""


def test_a_target_url_httpx_cannot_use_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("httpx", reason="needs the cli extra: pip install 'metricscore[cli]'")
    (tmp_path / "m.yaml").write_text(ACCOUNTS)
    monkeypatch.setenv("METRICSCORE_POSTHOG_KEY", "phx_k")
    assert main(["plan", str(tmp_path / "m.yaml"), "--target", "http://256.1.1.1"]) == 1
    assert "not a usable base URL" in _one_error_line(capsys.readouterr().err)


def test_serve_on_a_port_in_use_is_one_line_not_gunicorns_retries(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "metricscore.cli", "serve", "--url", f"sqlite:///{tmp_path / 's.db'}",
             "--port", str(port)],
            capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 1
    assert _one_error_line(done.stderr) == f"error: cannot listen on 127.0.0.1:{port}: Address already in use"


def test_with_only_the_server_extra_the_definitions_commands_say_what_to_install(
    tmp_path: Path, without_modules: Callable[..., dict[str, str]]
) -> None:
    """``pip install 'metricscore[server]'`` has click but not the YAML, terminal and HTTP libraries."""
    (tmp_path / "m.yaml").write_text(ACCOUNTS)
    done = subprocess.run(
        [sys.executable, "-m", "metricscore.cli", "validate", "m.yaml"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False,
        env={**os.environ, **without_modules("ruamel", "rich", "httpx", "yaml")},
    )  # fmt: skip
    assert done.returncode == 2
    line = _one_error_line(done.stderr)
    assert line.startswith("error: reading YAML definition files needs ruamel.yaml")
    assert line.endswith("pip install 'metricscore[cli]'")


@pytest.mark.parametrize("content", [b"\xff\xfename\n", b"name,external_id\na,b\n\xff\xfe,c\n"])
def test_an_import_csv_that_is_not_utf8_names_the_file(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "accounts.csv").write_bytes(content)
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert main(["import", str(tmp_path / "accounts.csv"), "--target", url, "--scope", "project_id=1"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert line == f"error: {tmp_path / 'accounts.csv'}: not UTF-8 text (invalid start byte)"


@pytest.mark.parametrize("style", ["yaml", "csv"])
def test_export_and_import_without_a_terminal_print_progress_lines(
    style: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.yaml").write_text(ACCOUNTS)
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert main(["apply", str(tmp_path / "m.yaml"), "--target", url, "--yes"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(definitions_cli, "TICK_SECONDS", 0.0)
    out = str(tmp_path / f"out.{style}")
    argv = ["export", "--target", url, "--resource", "posthog.accounts", "--scope", "project_id=1"]
    assert main([*argv, "--format", style, "-o", out]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [*(f"exporting: {n} done" for n in (1, 2, 3)), "exported 3 record(s) of posthog.accounts"]
    scope = ["--scope", "project_id=1"] if style == "csv" else []
    assert main(["import", out, "--target", url, *scope]) == 0
    assert capsys.readouterr().err.splitlines() == ["importing: 3 done"]  # counted a batch at a time


def test_the_top_level_help_names_what_each_command_is_for(capsys: pytest.CaptureFixture[str]) -> None:
    from metricscore.cli import cli

    assert main(["--help"]) == 0
    description = capsys.readouterr().out.split("Options:")[0]
    words = {"serve": "server", "keys": "API keys", "migrate": "migrations", "translate": "translation"}
    missing = [name for name in cli.commands if words.get(name, name) not in " ".join(description.split())]
    assert missing == []


def test_python_m_metricscore_definitions_handles_errors_as_the_command_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.yaml").write_text(ACCOUNTS)
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert definitions_cli.main(["plan", str(tmp_path / "m.yaml"), "--target", url]) == 2  # changes
    capsys.readouterr()
    assert definitions_cli.main(["plan", str(tmp_path / "m.yaml")]) == 1  # plan's usage mistakes
    assert _one_error_line(capsys.readouterr().err) == "error: plan: Missing option '--target'."

    def interrupted(paths: object, **options: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(definitions_cli, "load", interrupted)
    assert definitions_cli.main(["validate", str(tmp_path / "m.yaml")]) == 130
    assert _one_error_line(capsys.readouterr().err) == "error: interrupted"


def test_import_scope_on_definition_files_only_is_refused_not_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.yaml").write_text(ACCOUNTS)
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert main(["import", str(tmp_path / "m.yaml"), "--target", url, "--scope", "project_id=2"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line == "error: --scope applies to CSV files only; a definition file names its scope in each document"
    assert not (tmp_path / "d.db").exists()  # refused before the target is opened
    # With a CSV file beside it, --scope is the CSV's and the definition file keeps its own scope.
    (tmp_path / "more.csv").write_text("name,external_id\nD,d\n")
    assert main(["import", str(tmp_path / "m.yaml"), str(tmp_path / "more.csv"), "--target", url,
                 "--scope", "project_id=2"]) == 0  # fmt: skip
    store = mc.open_store(url)
    try:
        names = {p: sorted(a["name"] for a in store.posthog.accounts(project_id=p).list().results) for p in (1, 2)}
    finally:
        store.close()
    assert names == {1: ["A", "B", "C"], 2: ["D"]}


def _many_accounts(path: Path, count: int) -> int:
    lines = [f"  - {{name: Account {n}, external_id: account-{n}}}" for n in range(count)]
    path.write_text("resource: posthog.accounts\nscope: {project_id: 1}\ndefinitions:\n" + "\n".join(lines) + "\n")
    return path.stat().st_size // 1000


def test_validate_of_large_files_without_a_terminal_prints_reading_progress_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    kilobytes = _many_accounts(tmp_path / "big.yaml", 3000)
    monkeypatch.setattr(definitions_cli, "TICK_SECONDS", 0.0)
    monkeypatch.setattr(definitions_cli, "READ_NOTICE", 10_000)
    assert main(["validate", str(tmp_path / "big.yaml")]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""  # stdout is the problems' only
    notice, *progress, checking, summary = captured.err.splitlines()
    assert notice == f"reading {kilobytes} kB of definition files ..."
    assert checking == "checking 3000 definition(s) ..."  # the rules across definitions, after reading
    done = [int(line.split()[1]) for line in progress]
    assert progress == [f"reading: {n} of {kilobytes} kB done" for n in done]
    assert len(done) > 1 and done == sorted(done) and done[-1] == kilobytes  # as the parse goes, not at its end
    assert summary == "3000 definition(s) in 1 file(s): valid"
    monkeypatch.setattr(definitions_cli, "READ_NOTICE", 1_000_000)  # small input: no progress at all
    monkeypatch.setattr(definitions_cli, "PLAN_NOTICE", 5000)
    assert main(["validate", str(tmp_path / "big.yaml")]) == 0
    assert capsys.readouterr().err.splitlines() == [summary]


def test_translate_of_many_definitions_without_a_terminal_prints_progress_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from metricscore.translation import cli as translation_cli

    metrics = [f'  - {{name: metric{n}, type: event_count_custom, unitTypes: [userID], metricEvents: [{{name: e{n}}}]}}'
               for n in range(1500)]  # fmt: skip
    source = tmp_path / "statsig.yaml"
    source.write_text("resource: statsig.metrics\nscope: {project_id: web}\ndefinitions:\n" + "\n".join(metrics))
    kilobytes = source.stat().st_size // 1000
    monkeypatch.setattr(definitions_cli, "TICK_SECONDS", 0.0)
    monkeypatch.setattr(definitions_cli, "READ_NOTICE", 10_000)
    argv = ["translate", "--from", "statsig.metrics", "--to", "sequence.usage_metrics", str(source)]
    assert main([*argv, "--scope", "account_id=a", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)["definitions"]) == 1500  # stdout stays the translation only
    reading = [line for line in captured.err.splitlines() if line.startswith("reading: ")]
    translating = [line for line in captured.err.splitlines() if line.startswith("translating: ")]
    assert reading[-1] == f"reading: {kilobytes} of {kilobytes} kB done" and len(reading) > 1
    assert translating == [f"translating: {n} of 1500 done" for n in range(1, 1501)]
    notices = [line for line in captured.err.splitlines() if line.endswith(" ...")]
    assert notices == [f"reading {kilobytes} kB of definition files ...", "translating 1500 definition(s) ...",
                       "writing 1500 definition(s) as JSON ..."]  # fmt: skip
    monkeypatch.setattr(translation_cli, "PLAN_NOTICE", 2000)  # fewer definitions: no counter
    assert main([*argv, "--scope", "account_id=a", "--format", "json"]) == 0
    assert not [line for line in capsys.readouterr().err.splitlines() if line.startswith("translating")]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgres://user@host/db", "No backend for URL scheme 'postgres'. Did you mean postgresql+psycopg://"),
        ("file:///x.db", "Did you mean sqlite:///path.db or tinydb://path.json?"),
        ("sqlite:/x.db", "A SQLite URL is sqlite:///relative/path.db or sqlite:////absolute/path.db."),
        ("tinydb:x.json", "A TinyDB URL is tinydb://relative/path.json or tinydb:///absolute/path.json."),
        ("sqlite://x.db", "Invalid SQLite URL"),  # not "no store exists": that URL can never be created either
        ("mysql://root@127.0.0.1/db", "metricscore's [mysql] extra installs pymysql: write mysql+pymysql://..."),
        ("postgresql+psycopg2://u@h/db", "[postgresql] extra installs psycopg: write postgresql+psycopg://..."),
    ],
)
def test_a_mistyped_store_url_says_how_to_write_it(
    url: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    driver = {"mysql": "MySQLdb", "postgresql+psycopg2": "psycopg2"}.get(url.partition(":")[0])
    if driver is not None:  # SQLAlchemy's driver of that URL, which no extra installs
        with suppress(ModuleNotFoundError):
            __import__(driver)
            pytest.skip(f"{driver} is installed here: the URL would connect")
    monkeypatch.chdir(tmp_path)
    for argv in (["keys", "list", "--url", url], ["keys", "create", "statsig", "--project", "p", "--url", url]):
        assert main(argv) == 2
        assert says in _one_error_line(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["memory://", "sqlite://", "sqlite:///:memory:"])
@pytest.mark.parametrize(
    "argv", [["keys", "create", "statsig", "--project", "p"], ["keys", "list"], ["keys", "revoke", "k1"]]
)
def test_keys_in_an_in_process_store_are_refused_not_made_and_lost(
    url: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--url", url]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no key shown that no server could ever accept
    assert f"'{url}' is an in-process store: it ends with this command" in _one_error_line(captured.err)


def test_a_postgresql_server_that_never_answers_times_out_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong or firewalled host: libpq alone would wait forever; the command gives up."""
    pytest.importorskip("psycopg", reason="needs the postgresql extra: pip install 'metricscore[postgresql]'")
    import socket
    import time

    from metricscore.backends.sql import connections

    monkeypatch.setattr(connections, "SERVER_CONNECT_TIMEOUT", 1)
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"postgresql+psycopg://nobody@127.0.0.1:{silent.getsockname()[1]}/nothing"
        started = time.monotonic()
        assert main(["keys", "list", "--url", url]) == 1
    assert time.monotonic() - started < 20
    assert "timeout" in _one_error_line(capsys.readouterr().err)
