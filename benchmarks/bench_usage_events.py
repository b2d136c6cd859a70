"""Sequence usage events over a SQLite file: the CSV upload, the customerEventId checks of a
create, and the list by event time. Informational (no targets): three pairs, each measured in
interleaved rounds on one store.

- **upload**: ``upload_csv`` of a file at ``MAX_UPLOAD_ROWS`` rows (half with a customerEventId),
  against reading the same file with ``csv.reader`` (the floor of any CSV ingestion).
- **create**: 100 single ``create`` calls (half with a customerEventId) into an account of
  5,000 events, against the same with the two customerEventId checks (is a generated id already
  a customerEventId; is a given customerEventId an earlier event's generated id) switched off.
- **list**: the first page of 100 ``sortBy=EVENT_TIMESTAMP`` against ``sortBy=CREATED_AT``, in
  an account of 50,000 events (with the total count, as every page has it).

    python -m benchmarks.bench_usage_events [--quick]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import count
from pathlib import Path
from typing import Any

import metricscore as mc
from metricscore.dialects.sequence.usage_events import UsageEvents
from metricscore.limits import MAX_UPLOAD_ROWS

from .common import Result, paired_spread, print_table

HEADER = "eventType,eventTimestamp,customerAlias,customerEventId,eventProperty#n\n"


def _file(rows: int, start: int = 0) -> str:
    lines = (
        f"sent,2026-01-{1 + (i * 7919) % 28:02d}T{(i * 31) % 24:02d}:{i % 60:02d}:00Z,c{i % 100},"
        f"{f'order-{i}' if i % 2 else ''},{i}\n"
        for i in range(start, start + rows)
    )
    return HEADER + "".join(lines)


@contextmanager
def _without_checks() -> Iterator[None]:
    """Creates as before the customerEventId checks: ids straight from the factory, no claim."""
    claim, fresh = UsageEvents._claim, UsageEvents._fresh_ids

    def plain_ids(self: UsageEvents, repository: Any, wanted: int, given: set[str]) -> list[str]:
        return [str(self.store.id_factory()) for _ in range(wanted)]

    UsageEvents._claim = lambda self, repository, given: None  # type: ignore[method-assign]
    UsageEvents._fresh_ids = plain_ids  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        UsageEvents._claim, UsageEvents._fresh_ids = claim, fresh  # type: ignore[method-assign]


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 rounds instead of 15, 10,000 listed events")
    args = parser.parse_args(argv)
    rounds = 5 if args.quick else 15
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as folder:
        store = mc.open_store(f"sqlite:///{Path(folder) / 'events.db'}")
        accounts = count()
        upload = _file(MAX_UPLOAD_ROWS)

        def new_account() -> UsageEvents:
            return store.sequence.usage_events(account_id=f"bench-{next(accounts)}")

        subject_s, baseline_s, ratio, spread = paired_spread(
            rounds, lambda: new_account().upload_csv(upload), lambda: list(csv.reader(io.StringIO(upload)))
        )
        case = f"upload {MAX_UPLOAD_ROWS} rows vs csv.reader"
        results.append(Result("events", case, subject_s, baseline_s, paired_ratio=ratio, spread=spread))

        busy = new_account()
        busy.upload_csv(_file(5_000))
        sent = count()

        def creates() -> None:
            for _ in range(100):
                n = next(sent)
                extra = {"customerEventId": f"new-{n}"} if n % 2 else {}
                busy.create({"eventType": "sent", "customerAlias": "c1", **extra})

        def unchecked() -> None:
            with _without_checks():
                creates()

        subject_s, baseline_s, ratio, spread = paired_spread(rounds, creates, unchecked)
        case = "100 creates vs without the customerEventId checks"
        results.append(Result("events", case, subject_s, baseline_s, paired_ratio=ratio, spread=spread))

        listed = new_account()
        total = 10_000 if args.quick else 50_000
        for start in range(0, total, MAX_UPLOAD_ROWS):
            listed.upload_csv(_file(MAX_UPLOAD_ROWS, start))
        subject_s, baseline_s, ratio, spread = paired_spread(
            rounds,
            lambda: listed.list(sortBy="EVENT_TIMESTAMP", limit=100),
            lambda: listed.list(sortBy="CREATED_AT", limit=100),
        )
        case = f"list by EVENT_TIMESTAMP vs CREATED_AT ({total} events)"
        results.append(Result("events", case, subject_s, baseline_s, paired_ratio=ratio, spread=spread))
        store.close()
    print_table(results)
    return results


if __name__ == "__main__":
    sys.exit(0 if all(r.verdict != "MISSED" for r in main()) else 1)
