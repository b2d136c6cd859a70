"""Helpers of the command's tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

BLOCKER = """\
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {names!r}:
            raise ModuleNotFoundError(f'No module named {{name.split(".")[0]!r}}', name=name.split('.')[0])
sys.meta_path.insert(0, Block())
"""


@pytest.fixture()
def without_modules(tmp_path: Path) -> Callable[..., dict[str, str]]:
    """``without_modules('click', ...)``: the environment of a process in which those top-level
    modules are not installed (as for a user who installed fewer extras)."""

    def environment(*names: str) -> dict[str, str]:
        blocker = tmp_path / "block"
        blocker.mkdir(exist_ok=True)
        (blocker / "sitecustomize.py").write_text(BLOCKER.format(names=tuple(names)))
        return {"PYTHONPATH": str(blocker)}

    return environment


PythonRun = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture()
def python() -> PythonRun:
    """``python(*args, cwd=..., env=None)``: run this interpreter with ``args`` (e.g. ``"-m",
    "metricscore.cli", ...``) in a process of its own, ``env`` added to the environment."""

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            capture_output=True,
            text=True,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            timeout=60,
            check=False,
        )

    return run
