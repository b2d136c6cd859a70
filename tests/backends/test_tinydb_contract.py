"""The TinyDB backend runs the whole contract suite: it must answer exactly as the memory backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from metricscore.backends.tinydb import TinyDBBackend
from metricscore.testing.conformance import BackendContracts


class TestTinyDBBackend(BackendContracts):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[TinyDBBackend]:
        backend = TinyDBBackend.from_url(f"tinydb://{tmp_path}/db.json")
        yield backend
        backend.close()
