"""docs/definitions.md: its code blocks run as written; its examples validate; the workflow is shipped."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from metricscore import definitions as defs

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "definitions.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(DOC.read_text()) if lang == language]


def test_shell_blocks_run_in_order(tmp_path: Path) -> None:
    bin_dir = str(Path(sys.executable).parent)
    script = "set -euo pipefail\n" + "\n".join(block for block in blocks("sh") if not block.startswith("pip install"))
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"]},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    # The output the page shows for the broken file is what the command prints.
    shown = next(body for lang, body in BLOCK.findall(DOC.read_text()) if lang == "" and "broken.yaml:4:5" in body)
    for line in shown.splitlines():
        assert line in done.stdout, line


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_blocks_run(index: int) -> None:
    exec(compile(blocks("python")[index], f"{DOC}:python[{index}]", "exec"), {})


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
