"""The memory backend under concurrent threads: unique keys hold and nothing is lost."""

from __future__ import annotations

import threading

import metricscore as mc


def test_parallel_writers_keep_unique_keys_and_lose_nothing() -> None:
    accounts = mc.open_store("memory://").posthog.accounts(project_id=1)
    conflicts: list[str] = []
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for index in range(200):
                accounts.create({"name": f"w{worker}-{index}"})
                try:  # every worker races for the same ten external ids
                    accounts.create({"name": f"dup{worker}-{index}", "external_id": f"shared-{index % 10}"})
                except mc.Conflict:
                    conflicts.append(f"{worker}-{index}")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    everything = accounts.list(limit=100000).results
    plain = [a for a in everything if a["external_id"] is None]
    shared = [a for a in everything if a["external_id"] is not None]
    assert len(plain) == 8 * 200
    assert sorted(a["external_id"] for a in shared) == sorted(f"shared-{n}" for n in range(10))
    assert len(conflicts) == 8 * 200 - 10
