"""Helpers of the command's tests."""

from __future__ import annotations

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
