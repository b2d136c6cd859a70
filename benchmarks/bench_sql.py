"""SQL backend benchmark: the repository against raw SQLAlchemy Core doing the same statements.

Not a test (nothing asserts a time). On N accounts (100,000 by default, 10,000 with ``--quick``)
in one project, for SQLite and (when a server URL is set) PostgreSQL, it measures create, get by
id, pages of 100 at offsets 0 / N/10 / 0.9N, keyset pages (first and at 0.9N) and a rare-term
search, and reports each as a ratio to raw Core in the same run. The search is also compared with a
plain ``LIKE '%term%'`` scan (``ILIKE`` on PostgreSQL), the thing the trigram index replaces.

    .venv/bin/python -m benchmarks.bench_sql [--quick] [--rows N] [--postgresql URL] [--no-postgresql]

PostgreSQL runs in a database ``metricscore_bench`` on the server of ``--postgresql`` or of
$METRICSCORE_BENCH_POSTGRESQL_URL / $METRICSCORE_TEST_POSTGRESQL_URL.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from metricscore.backends.sql import SQLBackend
from metricscore.backends.sql.schema import TAG, sql_table
from metricscore.backends.sql.testing import dedicated_database
from metricscore.dialects.posthog.accounts import ACCOUNTS
from metricscore.query import Contains, OrderBy, Query, fold_case

from .common import Result, print_table

__all__ = ["main"]

TABLE = ACCOUNTS.table
SCOPE = {"project_id": 1}
ORDER = (OrderBy("created_at", True), OrderBy("id", True))
PAGE = 100
RARE = "quixotry"
WORDS = [
    "acme",
    "global",
    "north",
    "labs",
    "data",
    "cloud",
    "systems",
    "metrics",
    "alpha",
    "beta",
    "united",
    "digital",
    "works",
    "retail",
    "bank",
]


def _record(i: int, rnd: random.Random, start: datetime) -> dict[str, Any]:
    name = " ".join(rnd.choice(WORDS) for _ in range(3)) + f" {i}"
    if i % 50_000 == 7:
        name = f"The {RARE.title()} Company {i}"
    at = start + timedelta(microseconds=i * 1_000 + rnd.randint(0, 999))
    return {
        "project_id": 1,
        "id": f"{i:08d}-0000-7000-8000-{rnd.getrandbits(48):012x}",
        "name": name,
        "external_id": f"ext-{i}" if i % 3 else None,
        "properties": {"stripe_customer_id": f"cus_{i:010d}", "hubspot_deal_id": f"deal-{i}"},
        "tags": sorted({rnd.choice(["enterprise", "smb", "trial", "churned"]) for _ in range(2)}),
        "created_at": at,
        "created_by": 7,
        "updated_at": at,
        "csm_id": i % 10 or None,
        "account_executive_id": None,
        "account_owner_id": None,
    }


def _load(engine: sa.Engine, records: list[dict[str, Any]]) -> None:
    """Bulk-load rows with Core executemany (as the repository would write them, faster)."""
    tables = sql_table(TABLE)
    tag_table = tables.tags["tags"]
    with engine.begin() as connection:
        for start in range(0, len(records), 5_000):
            chunk = records[start : start + 5_000]
            rows = []
            tag_rows = []
            for r in chunk:
                values = dict(r)
                for name, folded in tables.folded.items():
                    values[folded.name] = fold_case(r[name]) if isinstance(r[name], str) else None
                rows.append(values)
                tag_rows += [{"project_id": 1, "id": r["id"], TAG: t} for t in r["tags"]]
            connection.execute(sa.insert(tables.main), rows)
            connection.execute(sa.insert(tag_table), tag_rows)
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        else:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()


def _median(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm up (statement caches, pages)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _bench_database(label: str, url: str, rows: int, repeat: int) -> list[dict[str, Any]]:
    backend = SQLBackend.from_url(url)
    raw = sa.create_engine(url)  # plain SQLAlchemy defaults: the "raw Core" baseline
    try:
        rnd = random.Random(1)
        start = datetime(2024, 1, 1, tzinfo=UTC)
        records = [_record(i, rnd, start) for i in range(rows)]
        _load(backend.engine, records)
        ordered = sorted(records, key=lambda r: (r["created_at"], r["id"]), reverse=True)
        tables = sql_table(TABLE)
        main = tables.main
        cols = tables.columns
        results: list[Result] = []

        def report(work: str, ours: float, baseline: float, baseline_name: str = "raw Core") -> None:
            case = f"{label} {work} (vs {baseline_name})"
            results.append(Result("sql", case, ours, baseline, _target(work)))

        # -- get by id --
        ids = [r["id"] for r in rnd.sample(records, 50)]
        pick = iter(ids * (repeat + 10))
        raw_get = sa.select(*cols).where(main.c.project_id == sa.bindparam("p"), main.c.id == sa.bindparam("i"))

        def ours_get() -> None:
            with backend.unit_of_work(write=False) as uow:
                assert uow.repository(TABLE).get(SCOPE, next(pick)) is not None

        def raw_get_fn() -> None:
            with raw.connect() as c:
                assert c.execute(raw_get, {"p": 1, "i": next(pick)}).first() is not None

        report("get by id", _median(ours_get, repeat * 5), _median(raw_get_fn, repeat * 5))

        # -- create --
        counter = iter(range(rows + 1, rows + 10_000_000))

        def fresh() -> dict[str, Any]:
            r = _record(next(counter), rnd, start + timedelta(days=1))
            r["id"] = f"new-{next(counter)}"
            return r

        def ours_create() -> None:
            with backend.unit_of_work() as uow:
                uow.repository(TABLE).insert(SCOPE, fresh())

        tag_table = tables.tags["tags"]

        def raw_create() -> None:
            r = fresh()
            values = dict(r)
            for name, folded in tables.folded.items():
                values[folded.name] = fold_case(r[name]) if isinstance(r[name], str) else None
            with raw.begin() as c:
                c.execute(sa.insert(main), values)
                c.execute(sa.insert(tag_table), [{"project_id": 1, "id": r["id"], TAG: t} for t in r["tags"]])

        report("create", _median(ours_create, repeat * 5), _median(raw_create, repeat * 5))

        # -- offset pages --
        def raw_page(offset: int) -> list[Any]:
            stmt = (
                sa.select(*cols)
                .where(main.c.project_id == 1)
                .order_by(main.c.created_at.desc(), main.c.id.desc())
                .limit(PAGE)
                .offset(offset)
            )
            with raw.connect() as c:
                return list(c.execute(stmt))

        def ours_page(query: Query) -> list[dict[str, Any]]:
            with backend.unit_of_work(write=False) as uow:
                return uow.repository(TABLE).find(SCOPE, query)

        for offset in (0, rows // 10, rows * 9 // 10):
            query = Query((), ORDER, offset=offset, limit=PAGE)
            report(
                f"page at offset {offset}",
                _median(lambda q=query: ours_page(q), repeat),  # type: ignore[misc]
                _median(lambda o=offset: raw_page(o), repeat),  # type: ignore[misc]
            )

        # -- keyset pages --
        for where, index in (("first", None), ("at 0.9N", rows * 9 // 10)):
            after = None if index is None else (ordered[index]["created_at"], ordered[index]["id"])
            query = Query((), ORDER, limit=PAGE, after=after)

            def raw_keyset(after: Any = after) -> list[Any]:
                stmt = sa.select(*cols).where(main.c.project_id == 1)
                if after is not None:
                    at, last = after
                    stmt = stmt.where(
                        main.c.created_at <= at,
                        sa.or_(main.c.created_at < at, sa.and_(main.c.created_at == at, main.c.id < last)),
                    )
                stmt = stmt.order_by(main.c.created_at.desc(), main.c.id.desc()).limit(PAGE)
                with raw.connect() as c:
                    return list(c.execute(stmt))

            report(f"keyset page {where}", _median(lambda q=query: ours_page(q), repeat), _median(raw_keyset, repeat))  # type: ignore[misc]

        # -- search --
        search = Query((Contains(("name", "external_id"), RARE),), ORDER, limit=PAGE)
        pattern = f"%{RARE}%"
        if backend.dialect == "postgresql":
            scan_where = sa.or_(main.c.name.ilike(pattern), main.c.external_id.ilike(pattern))
        else:  # SQLite's LIKE is case-insensitive for ASCII already
            scan_where = sa.or_(main.c.name.like(pattern), main.c.external_id.like(pattern))
        scan_stmt = (
            sa.select(*cols)
            .where(main.c.project_id == 1, scan_where)
            .order_by(main.c.created_at.desc(), main.c.id.desc())
            .limit(PAGE)
        )

        def scan() -> list[Any]:
            with raw.connect() as c:
                return list(c.execute(scan_stmt))

        found = ours_page(search)
        scanned = scan()
        assert [r["id"] for r in found] == [r.id for r in scanned], "trigram search and scan disagree"
        assert found, "the rare term should be found"
        report(
            f"search rare term ({len(found)} hits)",
            _median(lambda: ours_page(search), repeat),
            _median(scan, repeat),
            "LIKE scan",
        )
        return results
    finally:
        raw.dispose()
        backend.close()


def _postgresql_url(argument: str | None) -> str | None:
    base = (
        argument
        or os.environ.get("METRICSCORE_BENCH_POSTGRESQL_URL")
        or os.environ.get("METRICSCORE_TEST_POSTGRESQL_URL")
    )
    if not base:
        return None
    url = dedicated_database(base, "metricscore_bench")
    engine = sa.create_engine(url)
    with engine.connect() as connection:  # start from nothing: drop what an earlier run left
        for name in sa.inspect(connection).get_table_names():
            connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}" CASCADE')
        connection.commit()
    engine.dispose()
    return url


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Run the benchmark, print a table and return its rows."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_sql", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows and fewer repetitions")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--postgresql", default=None, help="a PostgreSQL server URL")
    parser.add_argument("--no-postgresql", action="store_true")
    args = parser.parse_args(argv)
    rows = args.rows or (10_000 if args.quick else 100_000)
    repeat = 5 if args.quick else 15
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        results += _bench_database("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", rows, repeat)
    pg = None if args.no_postgresql else _postgresql_url(args.postgresql)
    if pg:
        results += _bench_database("postgresql", pg, rows, repeat)
    else:
        print("PostgreSQL skipped: pass --postgresql URL or set METRICSCORE_BENCH_POSTGRESQL_URL.")
    results += _flatness(results)
    print(f"\n{rows:,} accounts, pages of {PAGE}; medians")
    print_table(results)
    return results


def _target(work: str) -> float | None:
    """Issue 4's targets: get/create within 2x of raw Core, pages within 1.5x, search >= 10x faster
    than the scan."""
    if work.startswith(("get", "create")):
        return 2.0
    if work.startswith(("page", "keyset")):
        return 1.5
    if work.startswith("search"):
        return 0.1
    return None


def _flatness(results: list[Result]) -> list[Result]:
    """Keyset page time from the first page to a deep one: flat means a ratio near 1."""
    out = []
    for label in sorted({r.case.split()[0] for r in results}):
        first = [r for r in results if r.case.startswith(f"{label} keyset page first")]
        deep = [r for r in results if r.case.startswith(f"{label} keyset page at 0.9N")]
        if first and deep:
            case = f"{label} keyset page at 0.9N vs first page"
            out.append(Result("sql", case, deep[0].subject_s, first[0].subject_s, 1.5))
    return out


if __name__ == "__main__":
    sys.exit(0 if all(r.verdict != "MISSED" for r in main()) else 1)
