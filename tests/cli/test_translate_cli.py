"""``metricscore translate``: definition files from one dialect to another, losses on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("click", reason="needs the cli extra: pip install 'metricscore[cli]'")
pytest.importorskip("yaml", reason="needs the dev extra: pip install 'metricscore[dev]'")

import yaml

import metricscore as mc
from metricscore.cli import main

REVENUE = {
    "name": "Revenue",
    "type": "sum",
    "unitTypes": ["userID"],
    "tags": ["money"],
    "metricEvents": [
        {
            "name": "purchase",
            "type": "metadata",
            "metadataKey": "price",
            "criteria": [{"type": "metadata", "column": "plan", "condition": "in", "values": ["pro"]}],
        }
    ],
}
CHECKOUTS = {"name": "Checkouts", "type": "event_count_custom", "unitTypes": ["userID"],
             "metricEvents": [{"name": "checkout"}]}  # fmt: skip


def write_yaml(path: Path, *documents: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")
    return path


def statsig_doc(*definitions: dict[str, Any]) -> dict[str, Any]:
    return {"resource": "statsig.metrics", "scope": {"project_id": "web"}, "definitions": list(definitions)}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(["translate", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_translates_a_yaml_file_and_reports_losses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_yaml(tmp_path / "statsig.yaml", statsig_doc(REVENUE, CHECKOUTS))
    status, out, err = run(
        ["--from", "statsig.metrics", "--to", "sequence.usage_metrics", "--scope", "account_id=acct", str(source)],
        capsys,
    )
    assert status == 0, err
    (document,) = list(yaml.safe_load_all(out))
    assert document["resource"] == "sequence.usage_metrics"
    assert document["scope"] == {"account_id": "acct"}
    revenue, checkouts = document["definitions"]
    assert revenue["aggregationType"] == "SUM" and revenue["propertyFilters"] == {"plan": ["pro"]}
    assert checkouts["aggregationType"] == "COUNT" and checkouts["eventType"] == "checkout"
    assert 'definitions[0] ("Revenue"): tags: dropped' in err
    service = mc.open_store("memory://").sequence.usage_metrics(account_id="acct")
    for definition in document["definitions"]:
        service.create(definition)


def test_json_in_json_out_to_a_file_and_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "defs.json"
    source.write_text(json.dumps(statsig_doc(CHECKOUTS)), encoding="utf-8")
    target = tmp_path / "posthog.json"
    status, out, _ = run(["--from", "statsig.metrics", "--to", "posthog.group_usage_metrics", "--scope",
                          "project_id=1", "--scope", "group_type_index=0", "-o", str(target), str(source)],
                         capsys)  # fmt: skip
    assert status == 0 and out == ""
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["scope"] == {"project_id": 1, "group_type_index": 0}
    assert document["definitions"][0]["filters"]["events"] == [{"id": "checkout", "type": "events"}]
    status, out, _ = run(["--from", "posthog.group_usage_metrics", "--to", "statsig.metrics", str(target)], capsys)
    assert status == 0
    back = json.loads(out)["definitions"][0]
    assert back["type"] == "event_count_custom" and back["metricEvents"] == [{"name": "checkout"}]


def test_refusals_and_strict_losses_exit_1_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mean = {**REVENUE, "name": "Average basket", "type": "mean"}
    source = write_yaml(tmp_path / "s.yaml", statsig_doc(CHECKOUTS, mean))
    output = tmp_path / "out.yaml"
    status, out, err = run(["--from", "statsig.metrics", "--to", "sequence.usage_metrics", "-o", str(output),
                            str(source)], capsys)  # fmt: skip
    assert status == 1 and out == "" and not output.exists()
    assert "error: " in err and '("Average basket")' in err and "no 'mean' aggregation" in err
    strict = write_yaml(tmp_path / "strict.yaml", statsig_doc(REVENUE))
    status, out, err = run(["--from", "statsig.metrics", "--to", "sequence.usage_metrics", "--strict", str(strict)],
                           capsys)  # fmt: skip
    assert status == 1 and out == ""
    assert "not exact: tags: dropped" in err
    exact = write_yaml(tmp_path / "exact.yaml", statsig_doc(CHECKOUTS))
    status, out, _ = run(["--from", "statsig.metrics", "--to", "sequence.usage_metrics", "--strict", str(exact)],
                         capsys)  # fmt: skip
    assert status == 0 and "COUNT" in out


def test_invalid_definitions_name_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_yaml(tmp_path / "bad.yaml", statsig_doc({"name": "Bad!", "type": "sum"}))
    status, _, err = run(["--from", "statsig.metrics", "--to", "sequence.usage_metrics", str(source)], capsys)
    assert status == 1
    assert "definitions[0]" in err and "invalid statsig.metrics" in err and "unitTypes" in err


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--from", "posthog.accounts", "--to", "statsig.metrics", "FILE"], "no other dialect has a counterpart"),
        (["--from", "statsig.metrics", "--to", "launchdarkly.flags", "FILE"], "launchdarkly.flags"),
        (["--from", "statsig.metrics", "--to", "sequence.usage_metrics", "missing.yaml"], "missing.yaml"),
        (["--to", "sequence.usage_metrics", "FILE"], "--from"),
        (["--from", "statsig.metrics", "--to", "sequence.usage_metrics"], "FILES"),
        (["--from", "statsig.metrics", "--to", "sequence.usage_metrics", "--scope", "nokey", "FILE"], "--scope"),
        (["--from", "statsig.metrics", "--to", "sequence.usage_metrics", "BROKEN"], "yaml_syntax"),
        (["--from", "statsig.metrics", "--to", "sequence.usage_metrics", "NOTADOC"], "expected {resource"),
        (["--from", "sequence.usage_metrics", "--to", "statsig.metrics", "FILE"], "no document of resource"),
    ],
)
def test_usage_mistakes_are_one_line_with_status_2(
    argv: list[str], named: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_yaml(tmp_path / "FILE", statsig_doc(CHECKOUTS))
    (tmp_path / "BROKEN").write_text("resource: [unclosed\n", encoding="utf-8")
    (tmp_path / "NOTADOC").write_text("- 1\n- 2\n", encoding="utf-8")
    status, out, err = run(argv, capsys)
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], err
    assert "Traceback" not in err and out == ""


def test_the_installed_command_exits_2_on_a_usage_mistake(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "metricscore.cli", "translate", "--from", "x.y", "--to", "statsig.metrics", "f"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")


def test_verbose_lists_context_changes_and_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_yaml(tmp_path / "s.yaml", statsig_doc(CHECKOUTS))
    argv = ["--from", "statsig.metrics", "--to", "sequence.usage_metrics", "--scope", "account_id=a", str(source)]
    status, _, quiet = run(argv, capsys)
    assert status == 0 and "(window)" not in quiet and "evaluated per sequence.usage_metrics's own unit" in quiet
    status, _, verbose = run(["--verbose", *argv], capsys)
    assert status == 0
    assert "(window): approximated: Sequence computes over a billing period" in verbose
    assert "unitTypes: approximated" in verbose


def test_skip_refused_writes_the_rest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mean = {**REVENUE, "name": "Average basket", "type": "mean"}
    source = write_yaml(tmp_path / "s.yaml", statsig_doc(mean, CHECKOUTS))
    status, out, err = run(["--from", "statsig.metrics", "--to", "sequence.usage_metrics", "--skip-refused",
                            str(source)], capsys)  # fmt: skip
    assert status == 0
    (document,) = list(yaml.safe_load_all(out))
    assert [d["name"] for d in document["definitions"]] == ["Checkouts"]
    assert '("Average basket"): skipped:' in err and "no 'mean' aggregation" in err


@pytest.mark.parametrize(
    ("given", "kept"), [("12", 12), ("-7", -7), ("²", "²"), ("--5", "--5"), ("9" * 5000, "9" * 5000)]
)
def test_scope_values_that_are_not_plain_integers_stay_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], given: str, kept: object
) -> None:
    """``--scope KEY=²`` or ``=--5`` passed isdigit() and crashed int() (exit 1, a ValueError)."""
    source = write_yaml(tmp_path / "statsig.yaml", statsig_doc(CHECKOUTS))
    target = tmp_path / "out.json"
    argv = ["--from", "statsig.metrics", "--to", "sequence.usage_metrics", "--scope", f"account_id={given}"]
    status, _, err = run([*argv, "--format", "json", "-o", str(target), str(source)], capsys)
    assert status == 0, err
    assert json.loads(target.read_text(encoding="utf-8"))["scope"] == {"account_id": kept}
