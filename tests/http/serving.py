"""A real ``metricscore serve`` (gunicorn) on a free loopback port, for tests over real sockets."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STARTUP_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "metricscore.cli", *args, "--url", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def create_key(url: str, *args: str) -> dict[str, str]:
    done = cli("keys", "create", *args, "--json", url=url)
    assert done.returncode == 0, done.stderr
    created: dict[str, str] = json.loads(done.stdout)
    return created


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Server:
    port: int
    url: str
    log: Path

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        timeout: float = REQUEST_TIMEOUT,
    ) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body or None, headers=headers or {})
            response = connection.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()


@contextmanager
def serve(directory: Path, *options: str, workers: int = 2) -> Iterator[Server]:
    """Run ``metricscore serve`` on an SQLite file in ``directory`` until the block ends."""
    url = f"sqlite:///{directory / 'server.db'}"
    port = free_port()
    log_path = directory / f"server-{port}.log"
    log = log_path.open("wb")
    argv = ["serve", "--url", url, "--port", str(port), "--workers", str(workers), *options]
    process = subprocess.Popen(
        [sys.executable, "-m", "metricscore.cli", *argv],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=directory,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        running = Server(port, url, log_path)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited: {log_path.read_text()}")
            try:
                if running.request("GET", "/openapi.json", timeout=5).status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"server did not start: {log_path.read_text()}")
            time.sleep(0.2)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        log.close()
