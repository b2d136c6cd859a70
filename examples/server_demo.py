"""The reference server on the embedded default store: create a demo key, start
``metricscore serve`` on a fresh SQLite file, make requests as the PostHog docs show, stop.

Run: python examples/server_demo.py
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

CLI = [sys.executable, "-m", "metricscore.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request(method: str, url: str, key: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'metricscore.db'}"
        created = subprocess.run(
            [*CLI, "keys", "create", "posthog", "--url", url, "--scopes", "*", "--projects", "1", "--json"],
            check=True,
            capture_output=True,
            text=True,
        )
        key = json.loads(created.stdout)["token"]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        print(f"$ metricscore serve --url {url} --port {port}")
        server = subprocess.Popen([*CLI, "serve", "--url", url, "--port", str(port), "--workers", "2"], env=os.environ)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.2)
            path = "/api/environments/1/accounts/"
            for method, body in (("POST", {"name": "Acme", "tags": ["Enterprise"]}), ("GET", None)):
                status, answer = request(method, base + path, key, body)
                print(f"\n$ curl -X {method} -H 'Authorization: Bearer <demo key>' {base}{path}")
                print(f"HTTP {status}\n{json.dumps(answer, indent=2)}")
            status, answer = request("GET", base + "/api/environments/2/accounts/", key)
            print(f"\n# another project, same key: HTTP {status}\n{json.dumps(answer, indent=2)}")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
