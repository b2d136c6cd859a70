"""Create, read, update, replace and delete; scope isolation; unique keys."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from ...api import Store
from ...dialects.posthog.accounts import ACCOUNTS
from ...dialects.posthog.accounts import LIMITS as ACCOUNT_LIMITS
from ...errors import Conflict, NotFound, ValidationError
from ...query import OrderBy, Query
from ...repository import Backend
from ..clock import FakeClock
from .fixtures import BackendFixtures, fresh_project_id
from .rows import account_row

__all__ = ["CopyContract", "CrudContract", "ScopeContract", "UniquenessContract"]

FULL_PROPERTIES = {
    "csm": {"id": 1, "email": "csm@example.com"},
    "account_executive": {"id": 2, "email": "ae@example.com"},
    "account_owner": None,
    "stripe_customer_id": "cus_123",
}


class CrudContract(BackendFixtures):
    def test_create_many_stores_every_record_in_one_unit_of_work(self, accounts: Any) -> None:
        payloads = [{"name": f"Acme {i}", "external_id": f"e{i}", "tags": ["B", "a"]} for i in range(30)]
        created = accounts.create_many(payloads, actor_id=7)
        assert [c["name"] for c in created] == [p["name"] for p in payloads]
        assert len({c["id"] for c in created}) == 30
        assert all(accounts.get(c["id"]) == c for c in created)
        assert created[0]["tags"] == ["a", "b"] and created[0]["created_by"] == 7
        page = accounts.list(limit=100, ordering="name")
        assert page.count == 30
        assert sorted(page.results, key=lambda r: r["name"]) == sorted(created, key=lambda r: r["name"])
        assert accounts.create_many([]) == []

    def test_create_many_is_all_or_nothing_on_invalid_items(self, accounts: Any) -> None:
        accounts.create({"name": "Before"})
        with pytest.raises(ValidationError) as error:
            accounts.create_many([{"name": "Fine"}, {"name": ""}, {"tags": "x"}, "nope"])
        assert set(error.value.errors) == {"1", "2", "3"}
        assert set(error.value.errors["1"]) == {"name"}
        assert set(error.value.errors["2"]) == {"name", "tags"}
        with pytest.raises(ValidationError):
            accounts.create_many({"name": "not a list"})
        # each payload is held to create's caps: one past the tags cap is refused, naming the item
        cap = ACCOUNT_LIMITS["tags"]
        with pytest.raises(ValidationError) as error:
            accounts.create_many([{"name": "Fine", "tags": ["t"] * cap}, {"name": "Big", "tags": ["t"] * (cap + 1)}])
        assert list(error.value.errors) == ["1"]
        assert error.value.messages("1", "tags")[0].code == "max_length"
        assert [r["name"] for r in accounts.list().results] == ["Before"]

    def test_create_many_is_all_or_nothing_on_taken_keys(self, accounts: Any) -> None:
        accounts.create({"name": "Before", "external_id": "taken"})
        batch = [{"name": "A", "external_id": "new"}, {"name": "B", "external_id": "taken"}, {"name": "C"}]
        with pytest.raises(Conflict) as error:
            accounts.create_many(batch)
        assert error.value.fields == ("1.external_id",)
        within = [{"name": "A", "external_id": "x"}, {"name": "B"}, {"name": "C", "external_id": "x"}]
        with pytest.raises(Conflict) as error:
            accounts.create_many(within)
        assert error.value.fields == ("2.external_id",)
        assert [r["name"] for r in accounts.list().results] == ["Before"]
        assert len(accounts.create_many(within[:2])) == 2

    def test_create_returns_the_stored_record(self, accounts: Any, clock: FakeClock) -> None:
        created = accounts.create(
            {"name": "Acme", "external_id": "ext-1", "properties": FULL_PROPERTIES, "tags": ["B", "a"]}, actor_id=7
        )
        assert list(created) == [
            "id", "name", "external_id", "properties", "tags", "created_at", "created_by", "updated_at",
        ]  # fmt: skip
        assert created["properties"] == FULL_PROPERTIES
        assert created["tags"] == ["a", "b"]
        assert created["created_by"] == 7
        assert created["created_at"] == created["updated_at"] == "2024-01-01T12:00:00.123456Z"
        assert accounts.get(created["id"]) == created

    def test_values_round_trip_exactly(self, accounts: Any) -> None:
        name = "Ünïcødé 名前 🚀 " + "x" * 380
        created = accounts.create({"name": name, "external_id": "É" * 400, "properties": {"sfdc_id": "ä\n\t\"'\\"}})
        fetched = accounts.get(created["id"])
        assert fetched["name"] == name.strip()
        assert fetched["external_id"] == "É" * 400
        assert fetched["properties"] == {"sfdc_id": "ä\n\t\"'\\"}

    def test_unknown_ids_are_not_found(self, accounts: Any) -> None:
        accounts.create({"name": "Acme"})
        for bad in ("00000000-0000-7000-8000-000000000000", "not-a-uuid", "", "%", 5, None, ["x"]):
            with pytest.raises(NotFound):
                accounts.get(bad)
            with pytest.raises(NotFound):
                accounts.update(bad, {"name": "x"})
            with pytest.raises(NotFound):
                accounts.delete(bad)

    def test_update_changes_only_the_fields_sent(self, accounts: Any) -> None:
        created = accounts.create({"name": "Acme", "external_id": "e1", "tags": ["x"], "properties": FULL_PROPERTIES})
        updated = accounts.update(created["id"], {"name": "Acme Inc"})
        assert updated["name"] == "Acme Inc"
        assert {k: v for k, v in updated.items() if k not in ("name", "updated_at")} == {
            k: v for k, v in created.items() if k not in ("name", "updated_at")
        }
        assert updated["updated_at"] > created["updated_at"]
        assert accounts.get(created["id"]) == updated

    def test_update_replaces_properties_and_tags_wholesale(self, accounts: Any) -> None:
        created = accounts.create({"name": "Acme", "tags": ["a", "b"], "properties": FULL_PROPERTIES})
        updated = accounts.update(created["id"], {"tags": [], "properties": {"billing_id": "b1"}})
        assert updated["tags"] == []
        assert updated["properties"] == {"billing_id": "b1"}
        assert accounts.update(created["id"], {"properties": None})["properties"] == {}

    def test_replace_requires_name_and_keeps_omitted_fields(self, accounts: Any) -> None:
        created = accounts.create({"name": "Acme", "external_id": "e1", "tags": ["a"]})
        with pytest.raises(ValidationError) as error:
            accounts.replace(created["id"], {"tags": ["b"]})
        assert error.value.errors == {"name": ["This field is required."]}
        replaced = accounts.replace(created["id"], {"name": "New"})
        assert (replaced["name"], replaced["external_id"], replaced["tags"]) == ("New", "e1", ["a"])

    def test_delete_is_permanent(self, accounts: Any) -> None:
        created = accounts.create({"name": "Acme"})
        accounts.delete(created["id"])
        with pytest.raises(NotFound):
            accounts.get(created["id"])
        with pytest.raises(NotFound):
            accounts.delete(created["id"])
        assert accounts.list().count == 0

    def test_returned_records_are_the_callers_own(self, accounts: Any) -> None:
        created = accounts.create({"name": "Acme", "tags": ["a"], "properties": FULL_PROPERTIES})
        created["tags"].append("mutated")
        created["properties"]["csm"]["id"] = 99
        fetched = accounts.get(created["id"])
        fetched["properties"]["csm"]["email"] = "mutated"
        again = accounts.get(created["id"])
        assert again["tags"] == ["a"]
        assert again["properties"] == FULL_PROPERTIES

    def test_timestamps_keep_microseconds(self, accounts: Any, clock: FakeClock) -> None:
        clock.advance(timedelta(microseconds=654321 - 123456))
        created = accounts.create({"name": "Acme"})
        assert created["created_at"].endswith(".654321Z")
        assert accounts.get(created["id"])["created_at"] == created["created_at"]


class ScopeContract(BackendFixtures):
    def test_a_record_is_invisible_from_another_scope(self, store: Store, accounts: Any) -> None:
        created = accounts.create({"name": "Acme", "external_id": "e1"})
        other = store.posthog.accounts(project_id=fresh_project_id())
        with pytest.raises(NotFound):
            other.get(created["id"])
        with pytest.raises(NotFound):
            other.update(created["id"], {"name": "stolen"})
        with pytest.raises(NotFound):
            other.delete(created["id"])
        assert other.list().count == 0
        assert accounts.get(created["id"])["name"] == "Acme"

    def test_unique_keys_hold_per_scope(self, store: Store, accounts: Any) -> None:
        accounts.create({"name": "Acme", "external_id": "e1"})
        other = store.posthog.accounts(project_id=fresh_project_id())
        assert other.create({"name": "Acme", "external_id": "e1"})["external_id"] == "e1"


class UniquenessContract(BackendFixtures):
    def test_duplicate_external_id_is_a_conflict_and_writes_nothing(self, accounts: Any) -> None:
        accounts.create({"name": "Acme", "external_id": "e1"})
        with pytest.raises(Conflict) as error:
            accounts.create({"name": "Other", "external_id": " e1 "})
        assert str(error.value) == "An account with this external_id already exists for this team."
        assert error.value.status == 409
        assert [r["name"] for r in accounts.list().results] == ["Acme"]

    def test_any_number_of_accounts_without_external_id(self, accounts: Any) -> None:
        for index in range(3):
            accounts.create({"name": f"n{index}"})
        accounts.create({"name": "blank", "external_id": "  "})
        assert accounts.list().count == 4

    def test_update_onto_a_taken_external_id_changes_nothing(self, accounts: Any) -> None:
        accounts.create({"name": "A", "external_id": "e1"})
        second = accounts.create({"name": "B", "external_id": "e2"})
        with pytest.raises(Conflict):
            accounts.update(second["id"], {"external_id": "e1", "name": "changed"})
        assert accounts.get(second["id"]) == second

    def test_a_freed_external_id_can_be_reused(self, accounts: Any) -> None:
        first = accounts.create({"name": "A", "external_id": "e1"})
        accounts.update(first["id"], {"external_id": None})
        second = accounts.create({"name": "B", "external_id": "e1"})
        accounts.delete(second["id"])
        accounts.create({"name": "C", "external_id": "e1"})
        assert sorted(r["name"] for r in accounts.list().results) == ["A", "C"]


class CopyContract(BackendFixtures):
    """A repository hands out records the caller owns: changing one never changes what is stored.

    Checked below the service, whose renderers copy JSON values again and would hide a backend
    that hands out its stored objects.
    """

    def _mutate(self, record: dict[str, Any]) -> None:
        record["name"] = "mutated"
        record["properties"]["csm"]["id"] = 99
        record["properties"]["new"] = True
        record["tags"].append("mutated")

    def test_reads_return_copies(self, backend: Backend) -> None:
        scope = {"project_id": fresh_project_id()}
        stored = account_row(
            scope, "r1", "name", FakeClock()(), properties=copy.deepcopy(FULL_PROPERTIES), tags=["a", "b"]
        )
        expected = copy.deepcopy(stored)
        with backend.unit_of_work() as uow:
            uow.repository(ACCOUNTS.table).insert(scope, stored)
        query = Query((), (OrderBy("id"),))
        for read in ("get", "find", "get in the writing unit"):
            with backend.unit_of_work(write=read.endswith("unit")) as uow:
                repository = uow.repository(ACCOUNTS.table)
                if read == "find":
                    found = repository.find(scope, query)
                    assert len(found) == 1
                    record = found[0]
                else:
                    got = repository.get(scope, "r1")
                    assert got is not None
                    record = got
                self._mutate(record)
                again = repository.get(scope, "r1")
                assert again is not None and again["name"] == "name", f"{read}: the stored record was changed"
            with backend.unit_of_work(write=False) as uow:
                fresh = uow.repository(ACCOUNTS.table).get(scope, "r1")
            assert fresh is not None
            assert {key: fresh[key] for key in expected} == expected, f"{read} handed out the stored record"
