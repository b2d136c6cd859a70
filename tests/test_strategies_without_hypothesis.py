"""Without Hypothesis, ``metricscore.testing.strategies`` says which extra to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_a_clear_configuration_error_names_the_testing_extra(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'hypothesis' or name.startswith('hypothesis.'):\n"
        "            raise ModuleNotFoundError(\"No module named 'hypothesis'\", name='hypothesis')\n"
        "sys.meta_path.insert(0, Block())\n"
    )
    code = (
        "import metricscore as mc\n"
        "try:\n"
        "    import metricscore.testing.strategies\n"
        "except mc.ConfigurationError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "metricscore.testing.strategies needs Hypothesis: pip install 'metricscore[testing]'"
