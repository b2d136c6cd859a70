"""The memory backend runs the whole contract suite (it defines the reference semantics)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from metricscore.backends.memory import MemoryBackend
from metricscore.testing.conformance import BackendContracts


class TestMemoryBackend(BackendContracts):
    @pytest.fixture
    def backend(self) -> Iterator[MemoryBackend]:
        backend = MemoryBackend.from_url("memory://")
        yield backend
        backend.close()
