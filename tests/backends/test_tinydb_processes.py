"""The TinyDB backend across processes: writers killed mid-stream, writers in parallel.

Each child is a fresh interpreter running :data:`CHILD`: it opens the file with the TinyDB
backend and loops over units of work, printing one line after each commit returns (an
acknowledged write).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from metricscore.backends.tinydb import TinyDBBackend
from metricscore.dialects.posthog.accounts import ACCOUNTS
from metricscore.query import OrderBy, Query

pytestmark = pytest.mark.slow

TABLE = ACCOUNTS.table
SCOPE = {"project_id": 1}

CHILD = r"""
import os, sys, time
from datetime import UTC, datetime
from metricscore.backends.tinydb import TinyDBBackend
from metricscore.dialects.posthog.accounts import ACCOUNTS

path, prefix, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
table, scope = ACCOUNTS.table, {"project_id": 1}
backend = TinyDBBackend(path)
print("ready", flush=True)
while go != "-" and not os.path.exists(go):
    time.sleep(0.001)

def record(id, name, **values):
    now = datetime.now(UTC)
    row = dict.fromkeys(table.column_names)
    row.update(project_id=1, id=id, name=name, properties={"pad": "p" * 300}, tags=["t"],
               created_at=now, updated_at=now, **values)
    return row

i = 0
while count < 0 or i < count:
    with backend.unit_of_work() as uow:
        repository = uow.repository(table)
        counter = repository.get(scope, "counter")
        if counter is None:
            repository.insert(scope, record("counter", "0"))
            value = 1
        else:
            value = int(counter["name"]) + 1
        repository.update(scope, record("counter", str(value)))
        repository.insert(scope, record(f"{prefix}-{i:05}", "x" * 100))
    print(f"{prefix}-{i:05} {value}", flush=True)
    i += 1
"""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "db.json"


def spawn(path: Path, prefix: str, count: int = -1, go: str = "-") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), prefix, str(count), go],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stored(path: Path) -> dict[str, Any]:
    backend = TinyDBBackend(path)
    try:
        with backend.unit_of_work(write=False) as uow:
            rows = uow.repository(TABLE).find(SCOPE, Query(order=(OrderBy("id"),)))
    finally:
        backend.close()
    return {r["id"]: r for r in rows}


def seed(path: Path, n: int) -> None:
    """Start from a file of ``n`` records (~600 kB at 1,000) so each write takes a while."""
    proc = spawn(path, "seed", n)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err


def test_a_writer_killed_at_any_moment_loses_no_acknowledged_write(path: Path) -> None:
    seed(path, 1000)
    rng = random.Random(5)
    acknowledged: dict[str, int] = {}
    last_counter = 1000
    leftovers = 0
    for round_ in range(25):
        proc = spawn(path, f"k{round_:02}")
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        first = proc.stdout.readline()  # at least one write in flight before the kill
        time.sleep(rng.uniform(0, 0.06))
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        for line in (first + rest).splitlines():
            record_id, counter = line.split()
            acknowledged[record_id] = int(counter)
            last_counter = max(last_counter, int(counter))
        leftovers += any(p.name.endswith(".tmp") for p in path.parent.iterdir())

        json.loads(path.read_bytes())  # the file always parses
        records = stored(path)  # and reopens (this also removes a dead writer's temp file)
        missing = [i for i in acknowledged if i not in records]
        assert missing == [], f"round {round_}: acknowledged writes lost"
        assert int(records["counter"]["name"]) >= last_counter
    print(f"{len(acknowledged)} acknowledged writes over 25 kills; {leftovers} kills left a temp file behind")


def test_parallel_writer_processes_never_lose_each_others_writes(path: Path) -> None:
    watcher = TinyDBBackend(path)  # opened before, reading from its cache in between
    go = path.parent / "go"
    writers, per_writer = 4, 30
    procs = [spawn(path, f"w{n}", per_writer, str(go)) for n in range(writers)]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline() == "ready\n"
        go.touch()  # all start writing at once
        outputs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:  # pragma: no cover - only on a timeout
                proc.kill()
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    counters = sorted(int(line.split()[1]) for out, _ in outputs for line in out.splitlines())
    # Each unit of work read the counter and wrote it back plus one: with a lost update two
    # units would have seen the same value.
    assert counters == list(range(1, writers * per_writer + 1))
    with watcher.unit_of_work(write=False) as uow:
        rows = uow.repository(TABLE).find(SCOPE, Query(order=(OrderBy("id"),)))
    watcher.close()
    expected = sorted(f"w{n}-{i:05}" for n in range(writers) for i in range(per_writer))
    assert [r["id"] for r in rows if r["id"] != "counter"] == expected
    assert {r["id"]: r["name"] for r in rows}["counter"] == str(writers * per_writer)
    assert stored(path).keys() == {r["id"] for r in rows}


def test_another_process_writes_are_seen_by_an_open_backend(path: Path) -> None:
    backend = TinyDBBackend(path)
    try:
        with backend.unit_of_work(write=False) as uow:
            assert uow.repository(TABLE).count(SCOPE, ()) == 0
        proc = spawn(path, "other", 3)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        with backend.unit_of_work(write=False) as uow:
            repository = uow.repository(TABLE)
            assert repository.count(SCOPE, ()) == 4
            counter = repository.get(SCOPE, "counter")
        assert counter is not None and counter["name"] == "3"
    finally:
        backend.close()
