"""How long a normal request waits while N clients trickle their headers at a real ``metricscore serve``.

``python -m benchmarks.slow_clients [N ...]`` (default 4 20 40), run from a checkout: it uses the
test suite's server and trickler helpers (``tests/http``). Each line gives the worst of 5 normal
requests made while N connections send one header byte every half second, and the same without
them (the baseline, same run). With the defaults (2 workers x 16 threads, 10 s read timeout), up to
the thread count the ratio stays near 1; beyond it a request waits at most about the read timeout.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "http"))

from serving import Server, serve
from test_slow_clients import _slow_headers


def worst_of(server: Server, count: int = 5) -> float:
    worst = 0.0
    for _ in range(count):
        started = time.monotonic()
        assert server.request("GET", "/openapi.json", timeout=60).status == 200
        worst = max(worst, time.monotonic() - started)
    return worst


def main(argv: list[str]) -> int:
    for n in [int(arg) for arg in argv] or [4, 20, 40]:
        with tempfile.TemporaryDirectory() as folder, serve(Path(folder)) as server:
            baseline = worst_of(server)
            slow = [_slow_headers(server.port) for _ in range(n)]
            for client in slow:
                client.data = client.data * 10
                client.start()
            time.sleep(1.0)
            worst = worst_of(server)
            for client in slow:
                client.stop.set()
            print(
                f"{n:3d} slow clients: worst normal request {worst:6.2f} s (without them {baseline:.2f} s)", flush=True
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
