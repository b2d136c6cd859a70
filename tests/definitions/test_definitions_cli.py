"""The definitions commands: output, exit statuses, one-line errors (CliRunner and a real process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import metricscore as mc
from metricscore.definitions.cli import definitions_cli
from metricscore.definitions.schema import json_schema

GOOD = """\
resource: posthog.accounts
scope: {project_id: 1}
definitions:
  - {name: Acme, external_id: acme, tags: [Enterprise]}
  - {name: Globex}
---
resource: statsig.metrics
scope: {project_id: p1}
definitions:
  - {name: signups, type: event_count_custom, unitTypes: [userID], metricEvents: [{name: s}]}
"""
BAD = "resource: statsig.metrics\nscope: {project_id: p1}\ndefinitions:\n  - {name: x, type: sum}\n"


def run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(definitions_cli, list(args), input=input, catch_exceptions=False)


def process(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "metricscore.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    return path


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    return path


def test_validate_exit_statuses_and_formats(good: Path, bad: Path) -> None:
    assert run("validate", str(good)).exit_code == 0
    result = run("validate", str(good), str(bad))
    assert result.exit_code == 1
    assert f"{bad}:4:6: name: Ensure this field has at least 4 characters. [min_length]" in result.stdout
    assert f"{bad}:4:5: unitTypes:" in result.stdout
    github = run("validate", "--format", "github", str(bad))
    assert github.exit_code == 1 and github.stdout.startswith(f"::error file={bad},line=4,col=5,")
    data = json.loads(run("validate", "--format", "json", str(bad)).stdout)
    assert data["valid"] is False and len(data["problems"]) == 3
    assert json.loads(run("validate", "--format", "json", str(good)).stdout) == {"valid": True, "problems": []}


def test_validate_usage_errors_exit_2_on_one_line(good: Path) -> None:
    for args in (["validate"], ["validate", "--format", "xml", str(good)], ["validate", "--nope", str(good)]):
        result = run(*args)
        assert result.exit_code == 2
        assert result.output.count("\n") == 1 and result.output.startswith("error: validate: "), result.output


def test_plan_detailed_exit_codes(good: Path, bad: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    planned = run("plan", str(good), "--target", url)
    assert planned.exit_code == 2
    assert "+ create posthog.accounts[project_id=1] external_id=acme" in planned.stdout
    assert "Plan: 3 to create, 0 to update, 0 to replace, 0 to remove (0 unchanged)." in planned.stdout
    as_json = json.loads(run("plan", str(good), "--target", url, "--format", "json").stdout)
    assert as_json["counts"]["create"] == 3
    assert run("apply", str(good), "--target", url, "--yes").exit_code == 0
    unchanged = run("plan", str(good), "--target", url)
    assert unchanged.exit_code == 0 and "No changes: 3 definition(s) match" in unchanged.stdout
    invalid = run("plan", str(bad), "--target", url)
    assert invalid.exit_code == 1 and "[min_length]" in invalid.stdout
    usage = run("plan", str(good))  # --target missing: a usage error, yet 1 (2 means "changes")
    assert usage.exit_code == 1 and usage.output.startswith("error: plan: Missing option '--target'")


def test_apply_asks_for_confirmation(good: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    refused = run("apply", str(good), "--target", url)  # no terminal to confirm on
    assert refused.exit_code == 1 and "pass --yes" in refused.output
    store = mc.open_store(url)
    assert store.posthog.accounts(project_id=1).list().count == 0
    store.close()
    applied = run("apply", str(good), "--target", url, "--yes")
    assert applied.exit_code == 0 and "Applied 3 of 3 change(s)." in applied.stdout


def test_apply_failure_reports_what_was_and_was_not_done(good: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    composite = (
        "  - {name: signup rate, type: composite, unitTypes: [userID],"
        " metricComponentMetrics: [{name: signups, type: event_count_custom}]}\n"
    )
    good.write_text(GOOD + composite)
    assert run("apply", str(good), "--target", url, "--yes").exit_code == 0
    # metricEvents cannot be updated in place: a replacement, refused while the composite uses it
    good.write_text((GOOD + composite).replace("{name: s}", "{name: t}").replace("{name: Globex}", "{name: Initech}"))
    result = run("apply", str(good), "--target", url, "--yes")
    assert result.exit_code == 1
    assert "done: + posthog.accounts[project_id=1] name=Initech" in result.stdout
    assert "FAILED: -/+ statsig.metrics[project_id=p1] signups::event_count_custom" in result.stdout
    assert "Applied 1 of 2 change(s). Stopped at the first failure." in result.stdout
    assert result.stderr.startswith("error: statsig.metrics[project_id=p1] signups::event_count_custom: Metric")


def test_export_writes_files_that_plan_nothing(good: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    run("apply", str(good), "--target", url, "--yes")
    out = tmp_path / "out.yaml"
    exported = run(
        "export", "--target", url, "--resource", "posthog.accounts", "--scope", "project_id=1", "-o", str(out)
    )
    assert exported.exit_code == 0 and "exported 2 record(s)" in exported.output
    assert "metricscore-managed" not in out.read_text()
    assert run("plan", str(out), "--target", url).exit_code == 0
    as_json = run(
        "export", "--target", url, "--resource", "statsig.metrics", "--scope", "project_id=p1", "--format", "json"
    )
    assert json.loads(as_json.stdout)["definitions"][0]["name"] == "signups"
    csv_text = run(
        "export", "--target", url, "--resource", "posthog.accounts", "--scope", "project_id=1", "--format", "csv"
    )
    assert csv_text.stdout.splitlines()[0].startswith("name,external_id,tags,csm.id")
    assert "Acme,acme,enterprise," in csv_text.stdout
    bad_scope = run("export", "--target", url, "--resource", "posthog.accounts", "--scope", "project_id=x")
    assert bad_scope.exit_code == 1 and bad_scope.output.startswith("error: bad --scope:")
    assert run("export", "--target", url, "--resource", "nope").exit_code == 2


def test_schema_command_prints_the_json_schema() -> None:
    result = run("schema")
    assert result.exit_code == 0 and json.loads(result.stdout) == json_schema()


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (
            ["validate", "missing.yaml"],
            1,
            "missing.yaml:1:1: file: cannot read: No such file or directory [unreadable]",
        ),
        (["validate", "broken.yaml"], 1, "broken.yaml:2:9: syntax: expected ',' or ']', but got ':' [yaml_syntax]"),
        (["validate", "unknown.yaml"], 1, "unknown.yaml:1:1: resource: unknown resource 'statsig.nope'"),
        (
            ["plan", "good.yaml", "--target", "nosuch://x"],
            1,
            "error: target nosuch://x: No backend for URL scheme 'nosuch'",
        ),
        (["plan", "good.yaml", "--target", "http://127.0.0.1:9"], 1, "error: posthog target http://127.0.0.1:9 needs"),
        (
            ["plan", "good.yaml", "--target", "sqlite:////no/such/dir/x.db"],
            1,
            "error: target sqlite:////no/such/dir/x.db: ",
        ),
        (["plan"], 1, "error: plan: Missing argument"),
        (["apply", "good.yaml"], 2, "error: apply: Missing option '--target'"),
        (["import", "a.csv", "--target", "memory://"], 2, "error: a CSV import needs --scope project_id=N"),
    ],
)
def test_every_failure_is_one_line_without_a_traceback(
    tmp_path: Path, args: list[str], status: int, message: str
) -> None:
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "broken.yaml").write_text("resource: [\nscope: x: y\n")
    (tmp_path / "unknown.yaml").write_text("resource: statsig.nope\nscope: {}\ndefinitions: []\n")
    done = process(*args, cwd=tmp_path)
    assert done.returncode == status, done.stderr + done.stdout
    assert "Traceback" not in done.stderr + done.stdout
    assert message in done.stdout + done.stderr
    if message.startswith("error:"):
        assert done.stderr.count("\n") == 1


def test_unreachable_and_unauthorised_http_targets(tmp_path: Path, live: Any) -> None:
    (tmp_path / "good.yaml").write_text(GOOD)
    env = {**live.env(), "METRICSCORE_STATSIG_KEY": "console-wrong"}
    done = process("plan", "good.yaml", "--target", "http://127.0.0.1:9", cwd=tmp_path, env=live.env())
    assert done.returncode == 1 and done.stderr.startswith("error: cannot reach http://127.0.0.1:9")
    assert done.stderr.count("\n") == 1
    done = process("plan", "good.yaml", "--target", live.url, cwd=tmp_path, env=env)
    assert done.returncode == 1 and "401" in done.stderr and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    done = process("plan", "good.yaml", "--target", live.url, cwd=tmp_path, env=live.env())
    assert done.returncode == 2 and "Plan: 3 to create" in done.stdout


def test_import_metricscore_loads_none_of_the_cli_libraries() -> None:
    code = (
        "import sys, metricscore, metricscore.definitions; "
        "print(sorted(m for m in ('click', 'rich', 'httpx', 'ruamel', 'yaml') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch, good: Path) -> None:
    import io

    from metricscore import definitions as defs
    from metricscore.definitions import cli as module

    assert module._progress(10, "applying") is None  # stderr is not a terminal under pytest

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    bar = module._progress(10, "applying")
    assert bar is not None and type(bar).__name__ == "Progress"
    monkeypatch.undo()
    store = mc.open_store("memory://")
    target = defs.open_target(store)
    seen: list[str] = []
    report = defs.apply(defs.plan([good], target), target, progress=lambda change: seen.append(change.key))
    assert report.ok and len(seen) == 3
