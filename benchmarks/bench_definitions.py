"""Definitions as code: validating files, and streaming a large accounts CSV import.

1. ``validate`` on 10,000 definitions (all four resources, YAML and JSON files) against the raw
   baseline of reading the same files without validating anything (``read_file``: parsing and
   positions only). The ratio is the cost validation adds; the absolute time is printed too.
2. ``import`` of a PostHog accounts CSV (100,000 rows; 10,000 with ``--quick``) into SQLite:
   the peak memory the import allocates (``tracemalloc``) against the raw baseline of holding
   the same rows in memory as payloads, which a non-streaming import would do at least.

    python -m benchmarks.bench_definitions [--quick]

The import is also timed against the raw baseline of creating the same accounts straight
through the store in batches of the same size (no CSV, no matching): the cost of the import.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import metricscore as mc
from metricscore import definitions as defs
from metricscore.definitions import importing
from metricscore.definitions.files import read_file

from .common import Result, paired, print_table

#: Validating may cost at most twice again what reading YAML costs (libyaml, positions kept lazily).
VALIDATE_TARGET = 3.0
MEMORY_TARGET = 0.5
IMPORT_TARGET = 2.0
DEFINITIONS = 10_000


def _documents(count: int) -> list[dict[str, Any]]:
    per = count // 4
    return [
        {
            "resource": "posthog.accounts",
            "scope": {"project_id": 1},
            "definitions": [
                {
                    "name": f"Account {i}",
                    "external_id": f"acc-{i}",
                    "tags": ["enterprise", "emea"],
                    "properties": {"csm": {"id": i % 40, "email": f"csm{i % 40}@example.com"}},
                }
                for i in range(per)
            ],
        },
        {
            "resource": "posthog.group_usage_metrics",
            "scope": {"project_id": 1, "group_type_index": 0},
            "definitions": [
                {
                    "name": f"Metric {i}",
                    "filters": {"events": [{"id": f"event_{i}"}]},
                    "math": "sum",
                    "math_property": "v",
                }
                for i in range(per)
            ],
        },
        {
            "resource": "sequence.usage_metrics",
            "scope": {"account_id": "acc1"},
            "definitions": [
                {
                    "name": f"Usage {i}",
                    "metricType": "GROUPED",
                    "eventType": f"event_{i}",
                    "aggregationType": "SUM",
                    "aggregationProperty": "bytes",
                    "groupingProperty": "region",
                    "propertyFilters": {"channel": ["api", "web"]},
                }
                for i in range(per)
            ],
        },
        {
            "resource": "statsig.metrics",
            "scope": {"project_id": "p1"},
            "definitions": [
                {
                    "name": f"metric {i}",
                    "type": "event_count_custom",
                    "unitTypes": ["userID"],
                    "metricEvents": [
                        {"name": f"event_{i}", "criteria": [{"type": "value", "condition": "=", "values": ["a"]}]}
                    ],
                    "tags": ["growth"],
                }
                for i in range(per)
            ],
        },
    ]


def _yaml(document: dict[str, Any]) -> str:
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def write_files(directory: Path, count: int, *, as_json: bool) -> list[Path]:
    """``count`` definitions in files of at most 500 definitions each."""
    paths: list[Path] = []
    for document in _documents(count):
        items = document["definitions"]
        for start in range(0, len(items), 500):
            part = {**document, "definitions": items[start : start + 500]}
            name = f"{document['resource']}-{start}.{'json' if as_json else 'yaml'}"
            path = directory / name
            path.write_text(json.dumps(part, indent=2) if as_json else _yaml(part))
            paths.append(path)
    return paths


def bench_validate(directory: Path, count: int, rounds: int, *, as_json: bool) -> Result:
    sub = directory / ("json" if as_json else "yaml")
    sub.mkdir()
    paths = write_files(sub, count, as_json=as_json)

    def subject() -> None:
        problems = defs.validate(paths)
        assert not problems, problems[:3]

    def baseline() -> None:
        for path in paths:
            documents, problems = read_file(path)
            assert documents and not problems

    subject_s, baseline_s, ratio = paired(rounds, subject, baseline)
    kind = "JSON" if as_json else "YAML"
    print(f"validate {count:,} definitions ({kind}): {subject_s:.2f} s; reading them alone: {baseline_s:.2f} s")
    return Result(
        "defs",
        f"validate {count:,} defs ({kind}) vs read only",
        subject_s,
        baseline_s,
        # JSON is read by the C json module, so its ratio is mostly marshmallow's own cost: reported only.
        None if as_json else VALIDATE_TARGET,
        paired_ratio=ratio,
    )


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "external_id", "tags", "csm.id", "csm.email", "sfdc_id"])
        for i in range(rows):
            writer.writerow(
                [f"Account {i}", f"acc-{i}", "enterprise,emea", i % 40, f"csm{i % 40}@example.com", f"s{i}"]
            )


def bench_import(directory: Path, rows: int) -> list[Result]:
    path = directory / "accounts.csv"
    write_csv(path, rows)
    payloads = [row.payload for row in importing.csv_rows(path)]

    def raw() -> float:
        """The same accounts created straight through the store, 500 per unit of work."""
        store = mc.open_store(f"sqlite:///{directory / 'raw.db'}")
        accounts = store.posthog.accounts(project_id=1)
        started = time.perf_counter()
        for start in range(0, len(payloads), importing.BATCH_SIZE):
            with accounts.batch() as batched:
                for payload in payloads[start : start + importing.BATCH_SIZE]:
                    batched.create(payload)
        elapsed = time.perf_counter() - started
        store.close()
        return elapsed

    def run(name: str) -> float:
        store = mc.open_store(f"sqlite:///{directory / name}")
        started = time.perf_counter()
        report = importing.import_csv(path, {"project_id": 1}, defs.open_target(store))
        elapsed = time.perf_counter() - started
        assert report.created == rows and report.failed == 0, report.summary()
        store.close()
        return elapsed

    raw_s = raw()
    import_s = run("import.db")
    print(f"import {rows:,} accounts from CSV into SQLite: {import_s:.1f} s ({rows / import_s:,.0f} rows/s)")

    tracemalloc.start()
    held = [row.payload for row in importing.csv_rows(path)]  # what a non-streaming import holds at least
    _, held_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del held
    tracemalloc.start()
    run("traced.db")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  peak allocated while importing: {peak / 1e6:.1f} MB; the rows held at once: {held_peak / 1e6:.1f} MB")
    return [
        Result("defs", f"import {rows:,} CSV accounts vs raw batched creates", import_s, raw_s, IMPORT_TARGET),
        # Memory, not time: megabytes in the subject and baseline columns.
        Result(
            "defs", f"import {rows:,} CSV accounts: peak MB vs rows held", peak / 1e6, held_peak / 1e6, MEMORY_TARGET
        ),
    ]


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and a 10,000-row import")
    args, _ = parser.parse_known_args(argv)
    rounds = 2 if args.quick else 5
    rows = 10_000 if args.quick else 100_000
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        results = [
            bench_validate(directory, DEFINITIONS, rounds, as_json=False),
            bench_validate(directory, DEFINITIONS, rounds, as_json=True),
            *bench_import(directory, rows),
        ]
    print_table(results)
    return results


if __name__ == "__main__":
    sys.exit(0 if all(r.verdict != "MISSED" for r in main(sys.argv[1:])) else 1)
