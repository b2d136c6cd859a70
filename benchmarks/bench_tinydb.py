"""The TinyDB backend against plain TinyDB doing the same work, at 1,000 / 5,000 / 20,000 accounts.

For each size N, both stores start from the same N accounts (one PostHog project), then:

- **create**: one more account. metricscore: ``accounts.create(payload)`` (validation, one unit of
  work, one atomic write of the whole file with fsync). Plain TinyDB: ``table.insert(doc)`` with
  the default ``JSONStorage`` (re-reads and re-parses the file, rewrites it in place, fsync).
- **get**: one account by id. metricscore: ``accounts.get(id)``. Plain TinyDB:
  ``table.get(where("id") == id)``.
- **list**: the first page of 100, newest first, with the total count. metricscore:
  ``accounts.list(limit=100)``. Plain TinyDB: search the project, sort by (created_at, id)
  descending, slice.
- **get after another writer**: metricscore's cost when another process has just written the
  file, so the cache must be reloaded (the baseline is plain TinyDB's ``get`` again).

Plain TinyDB's tables are opened with ``cache_size=0``: its query cache never notices a write by
another process, so with it plain TinyDB would return stale results to the multi-process setups
the backend is built for. Times are medians of single operations; the growth table shows how
each cost scales with N (exponent 0 = constant, 1 = linear).

    python -m benchmarks.bench_tinydb [--quick]
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import tinydb
from tinydb import where

import metricscore as mc
from metricscore.backends.tinydb import TinyDBBackend
from metricscore.dialects.posthog.accounts import ACCOUNTS
from metricscore.query import OrderBy, Query

from .common import Result, print_table

SIZES = (1_000, 5_000, 20_000)
QUICK_SIZES = (200, 1_000)
#: The backend must never be slower than plain TinyDB at get and list (it reads from memory).
TARGETS = {"get": 1.0, "list": 1.0}
TIME_BUDGET_S = 1.5  # per operation and subject, after a minimum number of samples


def payload(rng: random.Random, index: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": f"Account {index} {rng.random():.6f}",
        "tags": rng.sample(["a", "b", "enterprise", "vip", "trial"], 2),
        "properties": {"csm": {"id": index % 50, "email": f"csm{index % 50}@example.com"}, "sfdc_id": f"s{index}"},
    }
    if index % 2:
        data["external_id"] = f"ext-{index}"
    return data


def seed_records(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """``count`` account records as the service makes them (through a memory store)."""
    store = mc.open_store("memory://")
    accounts = store.posthog.accounts(project_id=1)
    for index in range(count):
        accounts.create(payload(rng, index))
    with store.backend.unit_of_work(write=False) as uow:
        return uow.repository(ACCOUNTS.table).find({"project_id": 1}, Query(order=(OrderBy("id"),)))


def as_document(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat(timespec="microseconds") if isinstance(v, datetime) else v for k, v in record.items()}


def sample(operation: Callable[[int], object], minimum: int, maximum: int) -> float:
    """Median seconds of single calls ``operation(i)``: at least ``minimum`` calls, then more
    until ``maximum`` calls or the time budget."""
    times: list[float] = []
    started = time.perf_counter()
    gc.collect()
    for i in range(maximum):
        start = time.perf_counter()
        operation(i)
        times.append(time.perf_counter() - start)
        if i + 1 >= minimum and time.perf_counter() - started > TIME_BUDGET_S:
            break
    return statistics.median(times)


def measure(count: int, folder: Path, rng: random.Random) -> dict[str, tuple[float, float]]:
    """{operation: (metricscore seconds, plain TinyDB seconds)} at ``count`` accounts."""
    records = seed_records(count, rng)
    ids = [r["id"] for r in records]
    ours_path, plain_path = folder / f"metricscore-{count}.json", folder / f"plain-{count}.json"

    seeding = TinyDBBackend(ours_path)
    with seeding.unit_of_work() as uow:
        repository = uow.repository(ACCOUNTS.table)
        for record in records:
            repository.insert({"project_id": 1}, record)
    seeding.close()
    plain_db = tinydb.TinyDB(str(plain_path))
    plain = plain_db.table(ACCOUNTS.table.name, cache_size=0)
    plain.insert_multiple(as_document(r) for r in records)

    store = mc.open_store(f"tinydb://{ours_path}")
    accounts = store.posthog.accounts(project_id=1)
    other_writer = mc.open_store(f"tinydb://{ours_path}").posthog.accounts(project_id=1)
    new = [payload(rng, count + i) for i in range(200)]
    plain_new = [as_document(r) for r in seed_records(200, rng)]
    accounts.get(ids[0])  # warm: bind the table

    def plain_list(_: int) -> object:
        docs = plain.search(where("project_id") == 1)
        docs.sort(key=lambda d: (d["created_at"], d["id"]), reverse=True)
        return len(docs), docs[:100]

    few = 3 if count >= 20_000 else 5
    results = {
        "create": (
            sample(lambda i: accounts.create(new[i]), 10, len(new)),
            sample(lambda i: plain.insert(plain_new[i]), few, len(plain_new)),
        ),
        "get": (
            sample(lambda _: accounts.get(rng.choice(ids)), 100, 5_000),
            sample(lambda _: plain.get(where("id") == rng.choice(ids)), few, 200),
        ),
        "list": (
            sample(lambda _: accounts.list(limit=100), 20, 2_000),
            sample(plain_list, few, 200),
        ),
    }
    reload_times: list[float] = []
    plain_get = results["get"][1]
    for i in range(max(few, 5)):
        other_writer.update(ids[i], {"tags": ["touched"]})
        start = time.perf_counter()
        accounts.get(rng.choice(ids))
        reload_times.append(time.perf_counter() - start)
    results["get after another writer"] = (statistics.median(reload_times), plain_get)
    store.close()
    plain_db.close()
    return results


def growth_exponent(small_n: int, small_s: float, big_n: int, big_s: float) -> float:
    return math.log(big_s / small_s) / math.log(big_n / small_n)


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"N = {', '.join(map(str, QUICK_SIZES))} only")
    args, _ = parser.parse_known_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    rng = random.Random(7)
    measured: dict[int, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-tinydb-") as folder:
        for count in sizes:
            measured[count] = measure(count, Path(folder), rng)

    results = [
        Result("tinydb", f"{operation} @ N={count:,}", ours, plain, TARGETS.get(operation))
        for count, operations in measured.items()
        for operation, (ours, plain) in operations.items()
    ]
    print("per operation: subject = metricscore TinyDB backend, baseline = plain TinyDB (JSONStorage)")
    print_table(results)

    small, big = sizes[0], sizes[-1]
    print(f"\ngrowth from N={small:,} to N={big:,} (time ratio, and exponent: 0 constant, 1 linear)")
    print(f"{'operation':<28} {'metricscore':>22} {'plain TinyDB':>22}")
    for operation in measured[small]:
        cells = []
        for side in (0, 1):
            a, b = measured[small][operation][side], measured[big][operation][side]
            cells.append(f"x{b / a:.1f} (n^{growth_exponent(small, a, big, b):.2f})")
        print(f"{operation:<28} {cells[0]:>22} {cells[1]:>22}")
    return results


if __name__ == "__main__":
    sys.exit(0 if all(r.verdict != "MISSED" for r in main(sys.argv[1:])) else 1)
