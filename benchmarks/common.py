"""Timing helpers shared by the benchmarks: interleaved repeats, best-of, a plain table."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Result", "best_of", "paired", "print_table"]


@dataclass
class Result:
    benchmark: str
    case: str
    subject_s: float
    baseline_s: float
    target: float | None = None
    unit: str = "s"
    #: The median of per-round ratios, when the benchmark measured in paired rounds.
    paired_ratio: float | None = None

    @property
    def ratio(self) -> float:
        if self.paired_ratio is not None:
            return self.paired_ratio
        return self.subject_s / self.baseline_s if self.baseline_s else float("inf")

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "-"
        return "ok" if self.ratio <= self.target else "MISSED"


def best_of(repeats: int, *runs: Callable[[], object]) -> list[float]:
    """Run each callable ``repeats`` times, interleaved (so drift hits all alike); best times."""
    best = [float("inf")] * len(runs)
    for _ in range(repeats):
        for index, run in enumerate(runs):
            gc.collect()
            start = time.perf_counter()
            run()
            best[index] = min(best[index], time.perf_counter() - start)
    return best


def paired(rounds: int, subject: Callable[[], object], baseline: Callable[[], object]) -> tuple[float, float, float]:
    """Run ``subject`` then ``baseline`` in each of ``rounds`` rounds.

    Returns the best subject time, the best baseline time and the median of the per-round ratios:
    a slow spell on a shared machine hits both runs of a round, so the ratio stays honest.
    """
    ratios: list[float] = []
    best_subject = best_baseline = float("inf")
    for _ in range(rounds):
        subject_s, baseline_s = best_of(1, subject, baseline)
        best_subject, best_baseline = min(best_subject, subject_s), min(best_baseline, baseline_s)
        ratios.append(subject_s / baseline_s)
    return best_subject, best_baseline, statistics.median(ratios)


def print_table(results: Sequence[Result]) -> None:
    header = f"{'benchmark':<10} {'case':<44} {'subject':>12} {'baseline':>12} {'ratio':>7} {'target':>7}  verdict"
    print(header)
    print("-" * len(header))
    for r in results:
        target = "-" if r.target is None else f"<={r.target:g}"
        print(
            f"{r.benchmark:<10} {r.case:<44} {_fmt(r.subject_s):>12} {_fmt(r.baseline_s):>12} "
            f"{r.ratio:>7.2f} {target:>7}  {r.verdict}"
        )


def _fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"
