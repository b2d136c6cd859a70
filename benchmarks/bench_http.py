"""HTTP throughput and latency: ``metricscore serve`` (gunicorn, 2 threaded workers) against a minimal
WSGI app returning a constant JSON body under the same gunicorn settings (the ceiling), same run.

``python -m benchmarks.bench_http [--quick] [--url STORE_URL ...]``. SQLite always; PostgreSQL too
when ``METRICSCORE_TEST_POSTGRESQL_URL`` is set (or pass ``--url``). Every server listens on
127.0.0.1 only, every load loop is bounded in count and time, and every server is stopped.

Ratios are ceiling-rps / subject-rps (time per request), so the target "at least 40% of the
ceiling" is a ratio of at most 2.5.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .common import Result, print_table

TARGET = 2.5  # ceiling / subject: the subject reaches at least 40% of the ceiling's requests/s
CLIENT_THREADS = 4
REPO = Path(__file__).resolve().parent.parent
CONSTANT_BODY = json.dumps({"id": "01a20188-8d03-7178-a264-3f19390e7295", "name": "constant"}).encode()


def ceiling_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The framework's ceiling: a WSGI app that returns a constant JSON body."""
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(CONSTANT_BODY)))])
    return [CONSTANT_BODY]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _gunicorn_flags() -> list[str]:
    import gunicorn  # type: ignore[import-untyped]

    major, minor = (int(part) for part in gunicorn.__version__.split(".")[:2])
    return ["--no-control-socket"] if (major, minor) >= (25, 1) else []


@contextmanager
def _server(command: list[str], port: int, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited: {log.read_text()}")
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"server did not start: {log.read_text()}") from None
                    time.sleep(0.1)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


def _load(
    port: int, requests: int, make: Callable[[int], tuple[str, str, bytes]], headers: dict[str, str]
) -> tuple[float, float, float]:
    """Send ``requests`` requests from CLIENT_THREADS threads; (requests/s, p50 s, p99 s)."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    counter = iter(range(requests))
    deadline = time.monotonic() + 300

    def worker() -> None:
        mine: list[float] = []
        while time.monotonic() < deadline:
            with lock:
                index = next(counter, None)
            if index is None:
                break
            method, path, body = make(index)
            start = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                connection.request(method, path, body=body or None, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status >= 400:
                    failures.append(f"{method} {path}: {response.status}")
            finally:
                connection.close()
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(CLIENT_THREADS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{len(failures)} failed requests, e.g. {failures[0]}")
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / elapsed, statistics.median(latencies), p99


def _prepare(url: str) -> tuple[str, list[str]]:
    """A key and 200 accounts in a fresh project; returns (token, account paths)."""
    import metricscore as mc
    from metricscore.http.keys import Keyring

    store = mc.open_store(url)
    try:
        project = int.from_bytes(os.urandom(3), "big") + 1000
        token = Keyring(store).create_posthog_key(scopes=["*"], projects=[project]).token
        accounts = store.posthog.accounts(project_id=project)
        paths = [
            f"/api/environments/{project}/accounts/{accounts.create({'name': f'Account {i}'})['id']}/"
            for i in range(200)
        ]
    finally:
        store.close()
    return token, paths


def _cases(paths: list[str]) -> dict[str, Callable[[int], tuple[str, str, bytes]]]:
    collection = paths[0].rsplit("/", 2)[0] + "/"
    return {
        "retrieve": lambda i: ("GET", paths[i % len(paths)], b""),
        "list": lambda i: ("GET", f"{collection}?limit=20", b""),
        "create": lambda i: ("POST", collection, json.dumps({"name": f"Bench {i}", "tags": ["a", "b"]}).encode()),
    }


def run(url: str, label: str, requests: int, workdir: Path) -> list[Result]:
    token, paths = _prepare(url)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    port, ceiling_port = _free_port(), _free_port()
    subject = [sys.executable, "-m", "metricscore.cli", "serve", "--url", url, "--port", str(port), "--workers", "2"]
    ceiling = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        "2",
        "--worker-class",
        "gthread",
        "--threads",
        "16",
        "--bind",
        f"127.0.0.1:{ceiling_port}",
        *_gunicorn_flags(),
        "benchmarks.bench_http:ceiling_app",
    ]
    results: list[Result] = []
    with _server(subject, port, workdir / f"subject-{label}.log"), _server(ceiling, ceiling_port, workdir / "c.log"):
        _load(port, 50, _cases(paths)["retrieve"], headers)  # warm both up
        _load(ceiling_port, 50, _cases(paths)["retrieve"], headers)
        for case, make in _cases(paths).items():
            # Interleave subject and ceiling halves so drift hits both alike; keep the better half.
            best_subject = best_ceiling = (0.0, 0.0, 0.0)
            for _ in range(2):
                measured = _load(port, requests, make, headers)
                best_subject = max(best_subject, measured)
                measured = _load(ceiling_port, requests, make, headers)
                best_ceiling = max(best_ceiling, measured)
            rps, p50, p99 = best_subject
            c_rps, c_p50, c_p99 = best_ceiling
            print(
                f"{label:<10} {case:<9} subject {rps:8.0f} req/s  p50 {p50 * 1e3:6.2f} ms  p99 {p99 * 1e3:6.2f} ms"
                f" | ceiling {c_rps:8.0f} req/s  p50 {c_p50 * 1e3:6.2f} ms  p99 {c_p99 * 1e3:6.2f} ms"
                f" | {rps / c_rps:5.1%} of ceiling"
            )
            target = TARGET if case in ("retrieve", "list") else None
            results.append(Result("http", f"{case} {label} s/req (1/rps)", 1 / rps, 1 / c_rps, target))
            results.append(Result("http", f"{case} {label} p50", p50, c_p50))
            results.append(Result("http", f"{case} {label} p99", p99, c_p99))
    return results


def main(argv: list[str]) -> list[Result]:
    parser = argparse.ArgumentParser(prog="bench_http")
    parser.add_argument("--quick", action="store_true", help="fewer requests per case")
    parser.add_argument("--url", action="append", default=None, help="store URL(s) to serve (repeatable)")
    args, _ = parser.parse_known_args(argv)
    try:
        import gunicorn  # type: ignore[import-untyped]  # noqa: F401
    except ModuleNotFoundError:
        print("bench_http: skipped (gunicorn is not installed: pip install 'metricscore[server]')")
        return []
    requests = 300 if args.quick else 2000
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-http-") as directory:
        workdir = Path(directory)
        urls: list[tuple[str, str]] = [(u, u.split(":", 1)[0]) for u in args.url or []]
        if not urls:
            urls.append((f"sqlite:///{workdir / 'bench.db'}", "sqlite"))
            postgresql = os.environ.get("METRICSCORE_TEST_POSTGRESQL_URL")
            if postgresql:
                urls.append((postgresql, "postgresql"))
        for url, label in urls:
            results.extend(run(url, label, requests, workdir))
    print_table(results)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
