"""Run every benchmark and print one table of ratios: ``python -m benchmarks [--quick]``.

Each ``benchmarks/bench_*.py`` module exposes ``main(argv) -> list[Result]``; extra arguments
(e.g. ``--quick``) are passed to each. Exits non-zero when a target is missed.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from .common import Result, print_table


def main(argv: list[str]) -> int:
    results: list[Result] = []
    for module in sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])):
        if not module.startswith("bench_"):
            continue
        print(f"\n### {module}")
        results.extend(importlib.import_module(f"benchmarks.{module}").main(argv))
    print("\n### summary (ratio = subject / raw baseline, measured in the same run)")
    print_table(results)
    return 1 if any(r.verdict == "MISSED" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
