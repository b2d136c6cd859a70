"""A deterministic id factory for tests that compare two stores operation by operation."""

from __future__ import annotations

import itertools
import threading
import uuid

__all__ = ["SequentialIds"]


class SequentialIds:
    """UUIDs ``<prefix>-0000-7000-8000-<counter>``: unique, sortable, the same in every run."""

    def __init__(self, prefix: int = 0) -> None:
        self._prefix = prefix & 0xFFFFFFFF
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def __call__(self) -> uuid.UUID:
        with self._lock:
            n = next(self._counter)
        return uuid.UUID(f"{self._prefix:08x}-0000-7000-8000-{n:012x}")
