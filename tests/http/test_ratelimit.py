"""Statsig's "about 100 per 10 seconds" holds over ANY 10 seconds, on every backend and across
processes (a real ``metricscore serve`` with 2 workers)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import metricscore as mc
from metricscore.errors import RateLimited
from metricscore.http.ratelimit import RateLimiter, Window
from metricscore.testing.clock import FakeClock

BACKENDS = ["memory://", "sqlite:///{tmp}/limit.db", "tinydb:///{tmp}/limit.json"]


@pytest.fixture(params=BACKENDS)
def clocked(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[mc.Store, FakeClock]]:
    url = str(request.param).format(tmp=tmp_path)
    if url.startswith("sqlite"):
        pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")
    if url.startswith("tinydb"):
        pytest.importorskip("tinydb", reason="needs the tinydb extra: pip install 'metricscore[tinydb]'")
    # 09:59:59.500: half a second before a ten-second boundary.
    clock = FakeClock(datetime(2024, 1, 1, 9, 59, 59, 500000, tzinfo=UTC), step=timedelta(0))
    store = mc.open_store(url, clock=clock)
    try:
        yield store, clock
    finally:
        store.close()


def test_bursts_either_side_of_a_boundary_share_one_limit(clocked: tuple[mc.Store, FakeClock]) -> None:
    store, clock = clocked
    limiter = RateLimiter(store, (Window(5, 10),))
    for _ in range(5):
        limiter.hit("p")
    clock.advance(timedelta(seconds=1))  # 10:00:00.500: a fixed window would start afresh here
    with pytest.raises(RateLimited) as refused:
        limiter.hit("p")
    assert 1 <= refused.value.retry_after <= 11
    limiter.hit("q")  # another project has its own count
    clock.advance(timedelta(seconds=8))  # 10:00:08.500: the burst is 9 s old
    with pytest.raises(RateLimited):
        limiter.hit("p")
    clock.advance(timedelta(seconds=2, milliseconds=100))  # 10:00:10.600: more than 11 s later
    for _ in range(5):
        limiter.hit("p")
    with pytest.raises(RateLimited):
        limiter.hit("p")


def test_a_refused_request_is_not_counted(clocked: tuple[mc.Store, FakeClock]) -> None:
    store, clock = clocked
    limiter = RateLimiter(store, (Window(2, 10),))
    limiter.hit("p")
    clock.advance(timedelta(seconds=5))
    limiter.hit("p")
    for _ in range(3):
        with pytest.raises(RateLimited):
            limiter.hit("p")
    clock.advance(timedelta(seconds=6, milliseconds=100))  # the first hit has left; the refusals never counted
    limiter.hit("p")


# -- over real HTTP, two worker processes -----------------------------------------------------------

LIMIT, SECONDS = 8, 2


def test_no_window_admits_more_than_the_limit_across_processes(tmp_path: Path) -> None:
    pytest.importorskip("gunicorn", reason="needs the server extra: pip install 'metricscore[server]'")
    sa = pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")
    from serving import create_key, serve

    from metricscore.http.ratelimit import SUB_WINDOWS

    with serve(tmp_path, "--statsig-limits", f"{LIMIT}/{SECONDS}", workers=2) as server:
        key = create_key(server.url, "statsig", "--project", "limited")["token"]
        headers = {"STATSIG-API-KEY": key, "Content-Type": "application/json"}
        seed = json.loads(Path(__file__).with_name("statsig_create_metric.json").read_text())
        statuses: list[int] = []
        lock = threading.Lock()
        # Start 0.4 s before a fixed two-second boundary and go on for 1.9 windows: fixed windows
        # would admit a full limit before the boundary, one after it and one after the next.
        phase = time.time() % SECONDS
        time.sleep((SECONDS - 0.4 - phase) % SECONDS)
        stop_at = time.monotonic() + 1.9 * SECONDS

        def hammer(worker: int) -> None:
            number = 0
            while time.monotonic() < stop_at:
                number += 1
                metric = {**seed, "dryRun": False, "name": f"m{worker}_{number}"}
                reply = server.request("POST", "/console/v1/metrics", headers, json.dumps(metric).encode())
                assert reply.status in (201, 429), reply.body
                if reply.status == 429:
                    assert int(reply.headers["retry-after"]) >= 1
                with lock:
                    statuses.append(reply.status)

        threads = [threading.Thread(target=hammer, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        admitted = statuses.count(201)
        assert statuses.count(429) > 0, "the limit was never reached"
        assert LIMIT < admitted <= 2 * LIMIT, statuses  # the window slid on once, and only once
        # Every admitted request left its arrival step (SECONDS / SUB_WINDOWS long) in the table.
        engine = sa.create_engine(server.url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(sa.text('SELECT "window" FROM http_rate_limit_hits')).all()
        finally:
            engine.dispose()
    steps = sorted(int(row[0]) for row in rows)
    assert len(steps) == admitted
    # Any SUB_WINDOWS + 1 consecutive steps (more than SECONDS) hold at most LIMIT arrivals.
    busiest = max(sum(1 for s in steps if first <= s <= first + SUB_WINDOWS) for first in steps)
    assert busiest <= LIMIT, steps
