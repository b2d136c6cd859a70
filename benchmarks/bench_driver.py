"""Issue 11: the library against hand-written driver code and against bare marshmallow, one run.

``python -m benchmarks.bench_driver [--quick] [--no-postgresql]``. Every case is measured in
paired, interleaved rounds (subject and baseline in each round, order alternating) and reports
the median of the per-round ratios with its 10th-90th percentile spread. Targets:

- **reads** (``benchmarks/raw.py`` is the baseline: the same SQL on bare sqlite3 / psycopg, the
  same JSON bytes with the fastest encoder): ``get`` and ``list`` (a page of 100 with its count),
  encoded to the wire bytes, within 1.3x;
- **writes**: ``create`` and ``update`` within 1.3x of the driver's insert/update + commit after
  the same validation (``service.validate``), one transaction each (``BEGIN`` ... ``COMMIT``; an
  update reads its row first, ``FOR UPDATE`` on PostgreSQL);
- **batches**: ``create_many`` at most 0.1x the time per record of one-by-one ``create``
  (SQLite and TinyDB);
- **validation**: the library's validation of valid payloads at most 1/3 the time of bare
  marshmallow ``Schema.load`` of the same schema, for every resource.

PostgreSQL runs when ``METRICSCORE_TEST_POSTGRESQL_URL`` (or ``--postgresql``) is set, in a
database of its own (``metricscore_bench_driver``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import metricscore as mc
from metricscore import validation, wire
from metricscore.dialects.posthog.accounts import ACCOUNTS
from metricscore.query import fold_case

from .common import Result, paired_spread
from .raw import RawAccounts, raw_postgresql, raw_sqlite

__all__ = ["main"]

READ_TARGET = WRITE_TARGET = 1.3
BATCH_TARGET = 0.1
VALIDATION_TARGET = 1 / 3
REPEAT = 5
TAGS = ("enterprise", "smb", "trial", "churned")
_stdlib = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
#: What the library's HTTP layer encodes with (the standard library before issue 11).
library_dumps: Callable[[Any], bytes] = getattr(wire, "dumps", lambda value: _stdlib(value).encode())


def payload(i: int) -> dict[str, Any]:
    return {
        "name": f"Acme {i} {random.Random(i).choice(['Labs', 'Data', 'Cloud'])}",
        "external_id": f"ext-{i}",
        "tags": [TAGS[i % 4], TAGS[(i + 1) % 4]],
        "properties": {"stripe_customer_id": f"cus_{i:08d}", "csm": {"id": i % 10, "email": "csm@example.com"}},
    }


def _create_many(accounts: Any, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    many = getattr(accounts, "create_many", None)  # absent before issue 11: one by one
    return many(payloads) if many is not None else [accounts.create(p) for p in payloads]


def _validate(accounts: Any, data: Any, mode: str = "create") -> dict[str, Any]:
    check = getattr(accounts, "validate", None)
    if check is not None:
        return check(data, mode=mode)  # type: ignore[no-any-return]
    return ACCOUNTS.load(data, mode)  # type: ignore[arg-type]


class RawWrites:
    """Hand-written insert/update for accounts on the driver (one transaction each)."""

    def __init__(self, raw: RawAccounts, placeholder: str, sqlite: bool) -> None:
        self.raw = raw
        self.sqlite = sqlite
        p = placeholder
        columns = (
            "project_id, id, name, external_id, properties, tags, created_at, created_by, updated_at,"
            " csm_id, account_executive_id, account_owner_id, name__folded, external_id__folded"
        )
        self.insert_sql = f"INSERT INTO posthog_accounts ({columns}) VALUES ({', '.join([p] * 14)})"
        self.tag_sql = f"INSERT INTO posthog_accounts__tags (project_id, id, tag) VALUES ({p}, {p}, {p})"
        self.update_sql = (
            f"UPDATE posthog_accounts SET name = {p}, name__folded = {p}, updated_at = {p}"
            f" WHERE project_id = {p} AND id = {p}"
        )
        #: a read-modify-write reads the row it will change under a row lock (SQLite's write
        #: transaction already holds the database's)
        self.read_sql = raw.get_sql if sqlite else raw.get_sql + " FOR UPDATE"
        self.counter = 0

    def _now(self) -> Any:
        now = datetime.now(UTC)
        return now.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else now

    def _begin(self) -> None:
        # One transaction per write, as the library's unit of work (psycopg's connection is in
        # autocommit mode, where each statement would otherwise commit on its own).
        self.raw.connection.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")

    def _commit(self) -> None:
        self.raw.connection.execute("COMMIT")

    def _row(self, project_id: int, clean: dict[str, Any]) -> tuple[Any, ...]:
        self.counter += 1
        id = f"raw-{os.getpid()}-{self.counter:09d}"
        now = self._now()
        props = clean.get("properties") or {}
        csm = props.get("csm") or {}
        tags = json.dumps(clean.get("tags", []))
        return (
            project_id, id, clean["name"], clean.get("external_id"), json.dumps(props), tags, now, None, now,
            csm.get("id"), None, None, fold_case(clean["name"]),
            fold_case(clean["external_id"]) if clean.get("external_id") else None,
        )  # fmt: skip

    def create(self, project_id: int, data: dict[str, Any], accounts: Any) -> str:
        clean = _validate(accounts, data)
        row = self._row(project_id, clean)
        id = row[1]
        self._begin()
        cursor = self.raw.connection.cursor()
        cursor.execute(self.insert_sql, row)
        cursor.executemany(self.tag_sql, [(project_id, id, tag) for tag in clean.get("tags", [])])
        self._commit()
        return id

    def create_batch(self, project_id: int, payloads: list[dict[str, Any]], accounts: Any) -> None:
        """Many creates in one transaction, one ``executemany`` per table: the floor of a batch."""
        rows: list[tuple[Any, ...]] = []
        tags: list[tuple[Any, ...]] = []
        for data in payloads:
            row = self._row(project_id, _validate(accounts, data))
            rows.append(row)
            tags += [(project_id, row[1], tag) for tag in json.loads(row[5])]
        self._begin()
        cursor = self.raw.connection.cursor()
        cursor.executemany(self.insert_sql, rows)
        cursor.executemany(self.tag_sql, tags)
        self._commit()

    def update(self, project_id: int, id: str, data: dict[str, Any], accounts: Any) -> None:
        """Validate, read the row (a PATCH answers with the whole record), update, commit."""
        clean = _validate(accounts, data, "update")
        self._begin()
        row = self.raw.connection.execute(self.read_sql, (project_id, id)).fetchone()
        assert row is not None
        self.raw.connection.execute(
            self.update_sql, (clean["name"], fold_case(clean["name"]), self._now(), project_id, id)
        )
        self._commit()


def _database(label: str, url: str, raw: RawAccounts, raw_writes: RawWrites, rows: int, rounds: int) -> list[Result]:
    store = mc.open_store(url)
    accounts = store.posthog.accounts(project_id=1)
    results: list[Result] = []

    def case(work: str, subject: Callable[[], object], baseline: Callable[[], object], target: float) -> None:
        subject_s, baseline_s, ratio, spread = paired_spread(rounds, subject, baseline)
        results.append(
            Result("driver", f"{label} {work}", subject_s, baseline_s, target, paired_ratio=ratio, spread=spread)
        )
        print(f"{label:<10} {work:<40} ratio {ratio:5.2f} (p10-p90 {spread[0]:.2f}-{spread[1]:.2f})", flush=True)

    try:
        ids: list[str] = []
        for start in range(0, rows, 1000):
            ids += [
                r["id"] for r in _create_many(accounts, [payload(i) for i in range(start, min(rows, start + 1000))])
            ]
        picks = [ids[(i * 7919) % len(ids)] for i in range(50)]
        assert library_dumps(accounts.get(picks[0])) == raw.get(1, picks[0]), "the baseline must build the same bytes"
        page = accounts.list(limit=100)
        assert library_dumps({"count": page.count, "results": page.results}) == raw.page(1, 100, 0)

        def lib_gets() -> None:
            for id in picks:
                library_dumps(accounts.get(id))

        def raw_gets() -> None:
            for id in picks:
                raw.get(1, id)

        def lib_pages() -> None:
            for _ in range(5):
                page = accounts.list(limit=100)
                library_dumps({"count": page.count, "results": page.results})

        def raw_pages() -> None:
            for _ in range(5):
                raw.page(1, 100, 0)

        case("get (50 per round)", lib_gets, raw_gets, READ_TARGET)
        case(f"list 100 of {rows:,} with count (5 per round)", lib_pages, raw_pages, READ_TARGET)

        counter = iter(range(rows, 10**9))

        def lib_creates() -> None:
            for _ in range(20):
                accounts.create(payload(next(counter)))

        def raw_creates() -> None:
            for _ in range(20):
                raw_writes.create(1, payload(next(counter)), accounts)

        def lib_updates() -> None:
            for id in picks[:20]:
                accounts.update(id, {"name": f"Renamed {next(counter)}"})

        def raw_updates() -> None:
            for id in picks[20:40]:
                raw_writes.update(1, id, {"name": f"Renamed {next(counter)}"}, accounts)

        case("create (20 per round)", lib_creates, raw_creates, WRITE_TARGET)
        case("update (20 per round)", lib_updates, raw_updates, WRITE_TARGET)
    finally:
        store.close()
        raw.close()
    return results


def _per_record(
    label: str, case: str, rounds: int, size: int, accounts: Any, batch: Callable[[list[dict[str, Any]]], object]
) -> Result:
    """``batch`` of ``size`` new accounts against ``size // 10`` one-by-one creates on ``accounts``,
    per record (the one-by-one side creates a tenth as many records)."""
    counter = iter(range(10**9))

    def one_by_one() -> None:
        for _ in range(size // 10):
            accounts.create(payload(next(counter)))

    def batched() -> None:
        batch([payload(next(counter)) for _ in range(size)])

    subject_s, baseline_s, ratio, spread = paired_spread(rounds, batched, one_by_one)
    print(f"{label:<10} {case:<40} ratio {ratio / 10:5.3f}", flush=True)
    target = BATCH_TARGET if case.startswith("create_many") else None
    return Result(
        "driver",
        f"{label} {case}",
        subject_s / size,
        baseline_s / (size // 10),
        target,
        paired_ratio=ratio / 10,
        spread=(spread[0] / 10, spread[1] / 10),
    )


def _batch(label: str, url: str, rounds: int, size: int) -> Result:
    store = mc.open_store(url)
    accounts = store.posthog.accounts(project_id=2)
    _create_many(accounts, [payload(i) for i in range(10**8, 10**8 + 1000)])  # not an empty store
    try:
        return _per_record(
            label, "create_many per record vs create", rounds, size, accounts, lambda p: _create_many(accounts, p)
        )
    finally:
        store.close()


def _batch_floor(path: str, rounds: int, size: int) -> Result:
    """The same comparison with hand-written driver code as the batch (one transaction, one
    ``executemany`` per table): what any batch can reach on this database, for reading
    :func:`_batch`'s ratio (no target)."""
    store = mc.open_store(f"sqlite:///{path}")
    accounts = store.posthog.accounts(project_id=3)
    raw = raw_sqlite(path)
    writes = RawWrites(raw, "?", True)
    try:
        return _per_record(
            "sqlite",
            "hand-written batch per record vs create",
            rounds,
            size,
            accounts,
            lambda payloads: writes.create_batch(3, payloads, accounts),
        )
    finally:
        store.close()
        raw.close()


def _batches(folder: str, rounds: int, size: int) -> list[Result]:
    return [
        _batch("sqlite", f"sqlite:///{folder}/batch.db", rounds, size),
        _batch_floor(f"{folder}/batch.db", rounds, size),
        _batch("tinydb", f"tinydb:///{folder}/batch.json", rounds, size),
    ]


def _validation_of(resource: Any, rounds: int, count: int) -> Result:
    from hypothesis import HealthCheck, given, settings

    from metricscore.testing.strategies import payloads

    samples: list[dict[str, Any]] = []

    @settings(max_examples=count, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(payloads(resource.name))
    def collect(data: dict[str, Any]) -> None:
        samples.append(data)

    collect()
    schema = resource.create_schema
    for data in samples:  # the same results, the library's path and marshmallow's
        assert validation.load(schema, data) == schema.load(data)

    # Each timed run validates every sample REPEAT times: ``best_of`` runs a full collection
    # before each run, which on a large heap (after the other benchmarks) leaves the caches cold,
    # and a run of a few hundred microseconds would mostly time that refill.
    def library() -> None:
        for _ in range(REPEAT):
            for data in samples:
                validation.load(schema, data)

    def bare() -> None:
        for _ in range(REPEAT):
            for data in samples:
                schema.load(data)

    subject_s, baseline_s, ratio, spread = paired_spread(rounds, library, bare)
    n = len(samples) * REPEAT
    print(f"{resource.name:<28} validation ratio {ratio:5.2f}", flush=True)
    case = f"{resource.name} valid payload vs Schema.load"
    return Result("validate", case, subject_s / n, baseline_s / n, VALIDATION_TARGET, paired_ratio=ratio, spread=spread)


def _validation(rounds: int, count: int) -> list[Result]:
    from metricscore.dialects.posthog.group_usage_metrics import GROUP_USAGE_METRICS
    from metricscore.dialects.sequence.usage_metrics import USAGE_METRICS
    from metricscore.dialects.statsig.metrics import METRICS

    return [_validation_of(r, rounds, count) for r in (ACCOUNTS, GROUP_USAGE_METRICS, USAGE_METRICS, METRICS)]


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_driver", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 accounts and fewer rounds")
    parser.add_argument("--postgresql", help="PostgreSQL server URL (default: $METRICSCORE_TEST_POSTGRESQL_URL)")
    parser.add_argument("--no-postgresql", action="store_true")
    args, _ = parser.parse_known_args(argv)
    rows = 2_000 if args.quick else 10_000
    rounds = 7 if args.quick else 15
    results: list[Result] = []
    results += _validation(rounds, 50 if args.quick else 200)
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/driver.db"
        mc.open_store(f"sqlite:///{path}").close()  # the schema exists before the raw side connects
        raw = raw_sqlite(path)
        results += _database("sqlite", f"sqlite:///{path}", raw, RawWrites(raw, "?", True), rows, rounds)
        results += _batches(folder, max(3, rounds // 3), 100 if args.quick else 200)
    base = args.postgresql or os.environ.get("METRICSCORE_TEST_POSTGRESQL_URL")
    if base and not args.no_postgresql:
        from metricscore.backends.sql.testing import dedicated_database

        from .bench_scale import _drop_tables

        url = dedicated_database(base, "metricscore_bench_driver")
        _drop_tables(url)
        mc.open_store(url).close()
        raw = raw_postgresql(url.replace("postgresql+psycopg://", "postgresql://"))
        try:
            results += _database("postgresql", url, raw, RawWrites(raw, "%s", False), rows, rounds)
        finally:
            _drop_tables(url)
    return results


if __name__ == "__main__":
    import sys

    from .common import run_alone

    sys.exit(run_alone(main, sys.argv[1:]))
