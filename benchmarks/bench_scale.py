"""Scale curves: how get, list, search and create cost grow with the number of accounts.

One project's accounts grow through the sizes (10,000 and 50,000 by default, to keep ``make
bench`` within its 15 minutes; 2,000 and 10,000 with ``--quick``); at each size the library's
own calls are timed (medians):

- ``get``: ``accounts.get(id)`` of a random account (primary-key index: flat);
- ``list first page``: ``accounts.list(limit=100)``, newest first, with its exact ``count``;
- ``page rows first`` / ``page rows keyset deep``: the page's rows alone through the repository,
  first and at 90% depth by keyset (the ordering index: flat);
- ``list deep page``: ``accounts.list(limit=100, offset=0.9N)`` (an offset walks the index: linear);
- ``search rare term``: ``accounts.list(search=...)`` for a term in two accounts per 100,000
  (FTS5 trigram on SQLite, pg_trgm on PostgreSQL: flat-ish);
- ``create``: ``accounts.create(payload)`` (B-tree inserts: logarithmic).

The exact ``count`` of a list is a scan of the project's index entries on both databases, so a
list with its count grows linearly; the rows of a page do not.

Writes ``benchmarks/results/scale-<label>.json`` and ``.csv`` (one row per size and operation,
seconds) and, when matplotlib happens to be installed, a ``.png``. The 1,000,000-account curve
is a separate command (about half an hour per database on a 2-core machine), not part of
``make bench``::

    .venv/bin/python -m benchmarks.bench_scale --sizes 10000,100000,1000000 --label 1m --folder /dev/shm

(``--folder /dev/shm`` keeps SQLite's file in memory: loading a million rows through the FTS
index rewrites the write-ahead log many times over, which a shared disk makes take hours; reads
are served from the page cache either way.)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import metricscore as mc
from metricscore.backends.sql import SQLBackend
from metricscore.backends.sql.testing import dedicated_database
from metricscore.dialects.posthog.accounts import ACCOUNTS
from metricscore.query import OrderBy, Query

from .bench_sql import RARE, _load, _median, _record
from .common import Result

__all__ = ["main"]

RESULTS = Path(__file__).resolve().parent / "results"
ORDER = (OrderBy("created_at", True), OrderBy("id", True))
OPERATIONS = (
    "get",
    "list first page",
    "page rows first",
    "page rows keyset deep",
    "list deep page",
    "search rare term",
    "create",
)
#: Flat or logarithmic: the cost at the largest size over the cost at the smallest stays below
#: this (a linear operation grows with the size ratio, 10x and more).
FLAT = {"get": 2.0, "page rows first": 2.0, "page rows keyset deep": 2.5, "search rare term": 3.0, "create": 2.5}


def _grow(backend: SQLBackend, records: list[dict[str, Any]], start: int, stop: int, rnd: random.Random) -> None:
    begin = datetime(2024, 1, 1, tzinfo=UTC)
    chunk = 100_000
    for low in range(start, stop, chunk):
        batch = [_record(i, rnd, begin) for i in range(low, min(stop, low + chunk))]
        _load(backend.engine, batch)
        records.extend({"id": r["id"], "created_at": r["created_at"]} for r in batch)


def _measure(
    backend: SQLBackend, accounts: Any, records: list[dict[str, Any]], size: int, repeat: int, rnd: random.Random
) -> dict[str, float]:
    ordered = sorted(records, key=lambda r: (r["created_at"], r["id"]), reverse=True)
    deep = ordered[size * 9 // 10]
    ids = [r["id"] for r in rnd.sample(records, 200)]
    pick = iter(ids * (repeat * 20 + 10))
    counter = iter(range(10**9))

    def rows_page(after: Any = None) -> list[Any]:
        with backend.unit_of_work(write=False) as uow:
            return uow.repository(ACCOUNTS.table).find({"project_id": 1}, Query((), ORDER, limit=100, after=after))

    return {
        "get": _median(lambda: accounts.get(next(pick)), repeat * 10),
        "list first page": _median(lambda: accounts.list(limit=100), repeat),
        "page rows first": _median(rows_page, repeat),
        "page rows keyset deep": _median(lambda: rows_page((deep["created_at"], deep["id"])), repeat),
        "list deep page": _median(lambda: accounts.list(limit=100, offset=size * 9 // 10), repeat),
        "search rare term": _median(lambda: accounts.list(search=RARE, limit=100), repeat),
        "create": _median(
            lambda: accounts.create({"name": f"Scale {next(counter)}", "tags": ["enterprise"]}), repeat * 5
        ),
    }


def _drop_tables(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        for name in sa.inspect(connection).get_table_names():
            connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}" CASCADE')
        connection.commit()
    engine.dispose()


def curve(label: str, url: str, sizes: Sequence[int], repeat: int) -> list[dict[str, Any]]:
    backend = SQLBackend.from_url(url)
    store = mc.Store(backend)
    accounts = store.posthog.accounts(project_id=1)
    rnd = random.Random(1)
    records: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    try:
        for size in sizes:
            loading = time.perf_counter()
            _grow(backend, records, len(records), size, rnd)
            print(f"{label}: {size:,} accounts loaded in {time.perf_counter() - loading:.0f} s", flush=True)
            timings = _measure(backend, accounts, records, size, repeat, rnd)
            for operation, seconds in timings.items():
                rows.append({"database": label, "accounts": size, "operation": operation, "seconds": seconds})
                print(f"{label:<12} {size:>9,} {operation:<24} {seconds * 1e3:9.3f} ms", flush=True)
    finally:
        store.close()
    return rows


def write(rows: list[dict[str, Any]], name: str) -> Path:
    RESULTS.mkdir(exist_ok=True)
    base = RESULTS / f"scale-{name}"
    base.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    with base.with_suffix(".csv").open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=["database", "accounts", "operation", "seconds"])
        writer.writeheader()
        writer.writerows(rows)
    try:
        import matplotlib  # only if it happens to be installed: not a dependency

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return base
    databases = sorted({r["database"] for r in rows})
    figure, axes = plt.subplots(1, len(databases), figsize=(6 * len(databases), 4.5), squeeze=False)
    for axis, database in zip(axes[0], databases, strict=True):
        for operation in OPERATIONS:
            points = [
                (r["accounts"], r["seconds"] * 1e3)
                for r in rows
                if r["database"] == database and r["operation"] == operation
            ]
            if points:
                axis.plot(*zip(*points, strict=True), marker="o", label=operation)
        axis.set(xscale="log", yscale="log", xlabel="accounts", ylabel="ms (median)", title=database)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(base.with_suffix(".png"), dpi=90)
    return base


def verdicts(rows: list[dict[str, Any]]) -> list[Result]:
    """Each flat-or-logarithmic operation: its cost at the largest size over the smallest."""
    results = []
    for database in sorted({r["database"] for r in rows}):
        mine = [r for r in rows if r["database"] == database]
        low, high = min(r["accounts"] for r in mine), max(r["accounts"] for r in mine)
        for operation in OPERATIONS:
            at = {r["accounts"]: r["seconds"] for r in mine if r["operation"] == operation}
            if low in at and high in at and low != high:
                case = f"{database} {operation} {high:,} vs {low:,}"
                results.append(Result("scale", case, at[high], at[low], FLAT.get(operation)))
    return results


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_scale", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 and 10,000 accounts")
    parser.add_argument("--sizes", help="comma-separated sizes, e.g. 10000,100000,1000000")
    parser.add_argument("--label", help="names the results file and the PostgreSQL database (default: quick/default)")
    parser.add_argument("--postgresql", help="PostgreSQL server URL (default: $METRICSCORE_TEST_POSTGRESQL_URL)")
    parser.add_argument("--no-postgresql", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--folder", help="where the SQLite file goes (default: a temporary folder)")
    args, _ = parser.parse_known_args(argv)
    sizes = (
        [int(s) for s in args.sizes.split(",")] if args.sizes else [2_000, 10_000] if args.quick else [10_000, 50_000]
    )
    repeat = 5 if args.quick else 9
    rows: list[dict[str, Any]] = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(dir=args.folder) as folder:
            rows += curve("sqlite", f"sqlite:///{os.path.join(folder, 'scale.db')}", sizes, repeat)
    if not args.no_postgresql:
        base_url = args.postgresql or os.environ.get("METRICSCORE_TEST_POSTGRESQL_URL")
        if base_url:
            label = args.label or ("quick" if args.quick else "default")
            url = dedicated_database(base_url, f"metricscore_scale_{label}")
            _drop_tables(url)
            try:
                rows += curve("postgresql", url, sizes, repeat)
            finally:
                _drop_tables(url)
    base = write(rows, args.label or ("quick" if args.quick else "default"))
    print(f"curves written to {base}.json / .csv")
    return verdicts(rows)


if __name__ == "__main__":
    import sys

    from .common import run_alone

    sys.exit(run_alone(main, sys.argv[1:]))
