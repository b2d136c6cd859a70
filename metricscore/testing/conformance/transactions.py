"""A failed operation leaves nothing behind."""

from __future__ import annotations

from typing import Any

import pytest

from ...dialects.posthog.accounts import ACCOUNTS
from ...errors import Conflict, ValidationError
from ...query import Query
from ...repository import Backend
from ..clock import FakeClock
from .fixtures import BackendFixtures, fresh_project_id
from .rows import account_row

__all__ = ["TransactionContract"]


class _Boom(Exception):
    pass


class TransactionContract(BackendFixtures):
    def test_an_invalid_payload_writes_nothing(self, accounts: Any) -> None:
        accounts.create({"name": "keep"})
        bad: Any
        for bad in ({"name": ""}, {"name": "x", "tags": "nope"}, [], "x", None, {"name": "x", "properties": []}):
            with pytest.raises(ValidationError):
                accounts.create(bad)
        assert [r["name"] for r in accounts.list().results] == ["keep"]

    def test_a_raising_unit_of_work_is_rolled_back(self, backend: Backend) -> None:
        scope = {"project_id": fresh_project_id()}
        clock = FakeClock()
        with backend.unit_of_work() as uow:
            uow.repository(ACCOUNTS.table).insert(scope, account_row(scope, "kept", "kept", clock()))
        with pytest.raises(_Boom), backend.unit_of_work() as uow:
            repo = uow.repository(ACCOUNTS.table)
            repo.insert(scope, account_row(scope, "new", "new", clock()))
            changed = repo.get(scope, "kept")
            assert changed is not None
            changed["name"] = "changed"
            repo.update(scope, changed)
            repo.delete(scope, "kept")
            raise _Boom
        with backend.unit_of_work(write=False) as uow:
            rows = uow.repository(ACCOUNTS.table).find(scope, Query())
        assert [(r["id"], r["name"]) for r in rows] == [("kept", "kept")]

    def test_a_conflict_undoes_earlier_writes_of_the_same_unit(self, backend: Backend) -> None:
        scope = {"project_id": fresh_project_id()}
        clock = FakeClock()
        with backend.unit_of_work() as uow:
            uow.repository(ACCOUNTS.table).insert(scope, account_row(scope, "a", "a", clock(), external_id="E"))
        with pytest.raises(Conflict) as error, backend.unit_of_work() as uow:
            repo = uow.repository(ACCOUNTS.table)
            repo.insert(scope, account_row(scope, "b", "b", clock()))
            repo.insert(scope, account_row(scope, "c", "c", clock(), external_id="E"))
        assert error.value.fields == ("external_id",)
        with pytest.raises(Conflict) as error, backend.unit_of_work() as uow:
            uow.repository(ACCOUNTS.table).insert(scope, account_row(scope, "a", "dup", clock()))
        assert error.value.fields == ("id",)
        with backend.unit_of_work(write=False) as uow:
            rows = uow.repository(ACCOUNTS.table).find(scope, Query())
        assert [r["id"] for r in rows] == ["a"]
