"""Fixtures every contract uses. A backend overrides ``backend`` and nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ...api import Store
from ...dialects.posthog.accounts import ACCOUNTS
from ...repository import Backend, CountingRepository
from .. import fresh_id
from ..clock import FakeClock

__all__ = ["COUNTING", "BackendFixtures", "fresh_project_id"]

#: The capability of repositories that are :class:`~metricscore.repository.CountingRepository`.
COUNTING = "find_with_count"

#: A project id no earlier test used (the one counter of :func:`metricscore.testing.fresh_id`).
fresh_project_id = fresh_id


class BackendFixtures:
    """Override :meth:`backend` to run the contracts against your backend."""

    @pytest.fixture
    def backend(self) -> Iterator[Backend]:
        raise NotImplementedError("Override the `backend` fixture to return a fresh backend instance.")

    @pytest.fixture
    def capabilities(self, backend: Backend) -> frozenset[str]:
        """The optional capabilities the backend offers; their contracts are skipped, with the
        reason, for a backend without them. Detected by default; override it to *declare* them,
        so that a capability that goes missing fails its contract instead of being skipped."""
        with backend.unit_of_work(write=False) as uow:
            counting = isinstance(uow.repository(ACCOUNTS.table), CountingRepository)
        return frozenset({COUNTING} if counting else ())

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def store(self, backend: Backend, clock: FakeClock) -> Store:
        return Store(backend, clock=clock)

    @pytest.fixture
    def project_id(self) -> int:
        return fresh_project_id()

    @pytest.fixture
    def accounts(self, store: Store, project_id: int) -> Any:
        return store.posthog.accounts(project_id=project_id)
