"""Fixtures every contract uses. A backend overrides ``backend`` and nothing else."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest

from ...repository import Backend
from ...store import Store
from ..clock import FakeClock

__all__ = ["BackendFixtures", "fresh_project_id", "row"]

# Every test works in scopes nobody used before, so the contract also holds on a server database
# that other tests (or other runs) have written to.
_projects = itertools.count(int.from_bytes(os.urandom(3), "big") * 1000 + 1)


def fresh_project_id() -> int:
    return next(_projects)


class BackendFixtures:
    """Override :meth:`backend` to run the contracts against your backend."""

    @pytest.fixture
    def backend(self) -> Iterator[Backend]:
        raise NotImplementedError("Override the `backend` fixture to return a fresh backend instance.")

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


def row(scope: dict[str, Any], id: str, name: str, stamp: Any, **extra: Any) -> dict[str, Any]:
    """A complete PostHog account row (every column), for tests below the service."""
    record = {
        **scope,
        "id": id,
        "name": name,
        "external_id": None,
        "properties": {},
        "tags": [],
        "created_at": stamp,
        "created_by": None,
        "updated_at": stamp,
        "csm_id": None,
        "account_executive_id": None,
        "account_owner_id": None,
    }
    record.update(extra)
    return record
