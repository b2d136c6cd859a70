"""CPU instructions per operation, counted by valgrind's callgrind: a measure that does not depend
on what else the machine is doing (timings on a shared machine drift; instruction counts repeat).

    python -m benchmarks.count_instructions get update create        # library, SQLite on tmpfs
    python -m benchmarks.count_instructions raw-get raw-update raw-create   # hand-written driver code

Each count is (instructions of the set-up plus N operations minus those of the set-up alone) / N;
the set-up runs the operation once, so one-time costs (compiling statements) are not counted.
Needs ``valgrind`` on the PATH; takes about a minute per operation.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

from .bench_driver import RawWrites, library_dumps, payload
from .raw import raw_sqlite

OPERATIONS = ("get", "update", "create", "raw-get", "raw-update", "raw-create")


def run(operation: str, n: int) -> None:
    """The set-up, then ``n`` operations (run under callgrind by :func:`count`)."""
    import metricscore as mc

    folder = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    path = f"{folder}/count.db"
    accounts = mc.open_store(f"sqlite:///{path}").posthog.accounts(project_id=1)
    ids = [record["id"] for record in accounts.create_many([payload(i) for i in range(100)])]
    raw = raw_sqlite(path)
    writes = RawWrites(raw, "?", True)
    for i in range(-1, n):  # -1: a warm-up in the set-up (statements compiled, caches filled)
        if operation == "get":
            library_dumps(accounts.get(ids[i % 100]))
        elif operation == "update":
            accounts.update(ids[i % 100], {"name": f"Renamed {i}"})
        elif operation == "create":
            accounts.create(payload(10_000 + i))
        elif operation == "raw-get":
            raw.get(1, ids[i % 100])
        elif operation == "raw-update":
            writes.update(1, ids[i % 100], {"name": f"Renamed {i}"}, accounts)
        else:
            writes.create(1, payload(10_000 + i), accounts)
    shutil.rmtree(folder, ignore_errors=True)


def _instructions(operation: str, n: int) -> int:
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    command += ["-m", "benchmarks.count_instructions", "--run", operation, str(n)]
    done = subprocess.run(command, capture_output=True, text=True)
    output = done.stderr
    found = re.search(r"Collected : (\d+)", output)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"error: callgrind printed no count:\n{output[-500:]}")
    return int(found.group(1))


def count(operation: str, n: int) -> int:
    return (_instructions(operation, n) - _instructions(operation, 0)) // n


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.count_instructions", description=__doc__.split("\n")[0])
    parser.add_argument("operations", nargs="*", help=f"any of {', '.join(OPERATIONS)} (default: get raw-get)")
    parser.add_argument("-n", type=int, default=1000, help="operations per count (default 1000)")
    parser.add_argument("--run", nargs=2, metavar=("OPERATION", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        run(args.run[0], int(args.run[1]))
        return 0
    unknown = [name for name in args.operations if name not in OPERATIONS]
    if unknown:
        parser.error(f"unknown operation {unknown[0]!r}; choose from {', '.join(OPERATIONS)}")
    if shutil.which("valgrind") is None:
        print("error: valgrind is not installed (apt install valgrind)", file=sys.stderr)
        return 2
    for operation in args.operations or ["get", "raw-get"]:
        print(f"{operation:<12} {count(operation, args.n):>12,} instructions per operation", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
