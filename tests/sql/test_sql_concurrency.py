"""Parallel writers (threads and processes) on each database: unique keys hold, nothing is lost."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from typing import Any

import pytest

import metricscore as mc

pytestmark = pytest.mark.slow

WRITERS = 4
PER_WRITER = 15
SHARED_KEYS = 5  # every writer also races for these external ids


def _work(url: str, project_id: int, writer: int) -> dict[str, Any]:
    """Create unique accounts and race for shared external ids; report what succeeded."""
    store = mc.open_store(url)
    created: list[str] = []
    won: list[str] = []
    conflicts = 0
    try:
        accounts = store.posthog.accounts(project_id=project_id)
        for i in range(PER_WRITER):
            created.append(accounts.create({"name": f"w{writer}-{i}", "tags": [f"w{writer}", "all"]})["id"])
            key = f"shared-{i % SHARED_KEYS}"
            try:
                accounts.create({"name": f"race {writer}-{i}", "external_id": key})
                won.append(key)
            except mc.Conflict:
                conflicts += 1
            if i % 5 == 0:  # updates racing with inserts
                accounts.update(created[-1], {"name": f"w{writer}-{i}-updated"})
    finally:
        store.close()
    return {"created": created, "won": won, "conflicts": conflicts}


def _process_main(url: str, project_id: int, writer: int, queue: Any) -> None:
    queue.put(_work(url, project_id, writer))


def _check(url: str, project_id: int, outcomes: list[dict[str, Any]]) -> None:
    store = mc.open_store(url)
    try:
        accounts = store.posthog.accounts(project_id=project_id)
        rows = accounts.list(limit=1000).results
    finally:
        store.close()
    ids = [r["id"] for r in rows]
    created = [i for o in outcomes for i in o["created"]]
    won = [k for o in outcomes for k in o["won"]]
    assert len(ids) == len(set(ids))
    assert set(created) <= set(ids)  # nothing lost
    external = Counter(r["external_id"] for r in rows if r["external_id"] is not None)
    assert sorted(external) == sorted(won) == [f"shared-{k}" for k in range(SHARED_KEYS)]
    assert set(external.values()) == {1}  # each key won exactly once
    assert len(rows) == WRITERS * PER_WRITER + SHARED_KEYS
    assert sum(o["conflicts"] for o in outcomes) == WRITERS * PER_WRITER - SHARED_KEYS


def test_parallel_threads(url: str) -> None:
    project_id = 501
    outcomes: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def run(writer: int) -> None:
        try:
            outcomes.append(_work(url, project_id, writer))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    _check(url, project_id, outcomes)


def test_parallel_threads_on_one_in_memory_database() -> None:
    store = mc.open_store("sqlite://")
    backend = store.backend
    outcomes: list[dict[str, Any]] = []

    def run(writer: int) -> None:
        accounts = mc.Store(backend).posthog.accounts(project_id=1)
        created = [accounts.create({"name": f"{writer}-{i}"})["id"] for i in range(PER_WRITER)]
        outcomes.append({"created": created})

    threads = [threading.Thread(target=run, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert store.posthog.accounts(project_id=1).list(limit=1000).count == WRITERS * PER_WRITER
    store.close()


def test_parallel_processes(url: str) -> None:
    project_id = 502
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_process_main, args=(url, project_id, w, queue)) for w in range(WRITERS)]
    for p in processes:
        p.start()
    outcomes = [queue.get(timeout=300) for _ in processes]
    for p in processes:
        p.join(60)
    assert [p.exitcode for p in processes] == [0] * WRITERS
    _check(url, project_id, outcomes)
