"""A controllable clock for deterministic tests: ``open_store(url, clock=FakeClock())``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

__all__ = ["FakeClock"]


class FakeClock:
    """Returns ``now`` and then moves it on by ``step`` (1 ms by default; ``step=0`` freezes it)."""

    def __init__(self, start: datetime | None = None, step: timedelta = timedelta(milliseconds=1)) -> None:
        self.now = start or datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
        self.step = step
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            value = self.now
            self.now = value + self.step
            return value

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self.now += delta

    def freeze(self) -> None:
        self.step = timedelta(0)
