"""Run every benchmark and print one table of ratios: ``python -m benchmarks [--quick]``.

Each ``benchmarks/bench_*.py`` module exposes ``main(argv) -> list[Result]``; extra arguments
(e.g. ``--quick``) are passed to each. Prints each module's wall time, writes the table to
``benchmarks/results/summary[-quick].csv`` and exits non-zero when a target is missed.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path

from .common import Result, print_table, write_csv


def main(argv: list[str]) -> int:
    results: list[Result] = []
    took: list[str] = []
    began = time.monotonic()
    for module in sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])):
        if not module.startswith("bench_"):
            continue
        print(f"\n### {module}", flush=True)
        start = time.monotonic()
        results.extend(importlib.import_module(f"benchmarks.{module}").main(argv))
        took.append(f"{module} {time.monotonic() - start:.0f} s")
    print("\n### summary (ratio = subject / raw baseline, measured in the same run)")
    print_table(results)
    print(f"\nwall time {time.monotonic() - began:.0f} s: " + ", ".join(took))
    path = write_csv(results, "summary-quick" if "--quick" in argv else "summary")
    print(f"results: {path}")
    return 1 if any(r.verdict == "MISSED" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
