"""docs/definitions.md: its code blocks run as written; its examples validate; the workflow is shipped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from metricscore import definitions as defs

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "definitions.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(DOC.read_text()) if lang == language]


@pytest.mark.parametrize("name", ["broken.yaml", "typo.yaml"])
def test_the_validate_output_shown_is_what_validate_prints(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(tests/test_docs.py runs every block; this checks the output the page claims.)"""
    from click.testing import CliRunner

    from metricscore.definitions.cli import definitions_cli

    script = next(block for block in blocks("sh") if f"cat > {name}" in block)
    content = script.split("<<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0] + "\n"
    monkeypatch.chdir(tmp_path)
    Path(name).write_text(content)
    result = CliRunner().invoke(definitions_cli, ["validate", name])
    shown = next(body for lang, body in BLOCK.findall(DOC.read_text()) if lang == "text" and f"{name}:4:" in body)
    expected = [line for line in shown.splitlines() if line.startswith(name)]
    assert result.stdout.splitlines() == expected
    assert result.exit_code == 1 and "exit status: 1" in shown
    summary = [line for line in shown.splitlines() if "problem(s)" in line]
    assert result.stderr.splitlines() == summary  # the count of valid definitions, said as such


def test_the_format_example_is_valid() -> None:
    document = blocks("yaml")[0]
    documents, problems = defs.read_text("example.yaml", document)
    assert problems == [] and defs.validate(defs.loading.load_documents(documents)) == []


def test_the_workflow_on_the_page_is_the_shipped_example() -> None:
    shipped = (ROOT / "examples" / "definitions-workflow.yml").read_text()
    assert shipped in blocks("yaml")
    import yaml

    workflow = yaml.safe_load(shipped)
    steps = {job: [step.get("run", "") for step in spec["steps"]] for job, spec in workflow["jobs"].items()}
    assert any("metricscore validate" in run and "--format github" in run for run in steps["validate"])
    assert any("metricscore apply" in run and "--yes" in run for run in steps["apply"])


def test_the_shipped_examples_validate() -> None:
    assert defs.validate([ROOT / "examples" / "definitions"]) == []
