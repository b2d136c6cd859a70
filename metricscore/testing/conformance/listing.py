"""Filters, search, ordering and paging: every backend answers exactly as the memory backend."""

from __future__ import annotations

import random
from typing import Any

import pytest

from ...dialects.posthog.accounts import ACCOUNTS
from ...errors import ValidationError
from ...query import Contains, Eq, Filter, HasAny, In, OrderBy, Query
from ...repository import Backend, CountingRepository
from ..clock import FakeClock
from .fixtures import COUNTING, BackendFixtures, fresh_project_id
from .rows import account_row

__all__ = ["KeysetContract", "ListingContract"]


def _names(page: Any) -> list[str]:
    return [r["name"] for r in page.results]


class ListingContract(BackendFixtures):
    def test_default_order_is_newest_first(self, accounts: Any) -> None:
        for name in ("first", "second", "third"):
            accounts.create({"name": name})
        assert _names(accounts.list()) == ["third", "second", "first"]
        assert _names(accounts.list(ordering="bogus")) == ["third", "second", "first"]

    def test_each_ordering(self, accounts: Any) -> None:
        created = [accounts.create({"name": name}) for name in ("b", "a", "c")]
        accounts.update(created[1]["id"], {"tags": ["touched"]})
        assert _names(accounts.list(ordering="name")) == ["a", "b", "c"]
        assert _names(accounts.list(ordering="-name")) == ["c", "b", "a"]
        assert _names(accounts.list(ordering="created_at")) == ["b", "a", "c"]
        assert _names(accounts.list(ordering="-created_at")) == ["c", "a", "b"]
        assert _names(accounts.list(ordering="updated_at")) == ["b", "c", "a"]
        assert _names(accounts.list(ordering="-updated_at")) == ["a", "c", "b"]

    def test_name_order_is_code_point_order(self, accounts: Any) -> None:
        names = ["b", "B", "a", "A", "é", "Z", "a b", "ab", "a\tb", "10", "9", "_", "%", "ß", "😀"]
        for name in names:
            accounts.create({"name": name})
        assert _names(accounts.list(ordering="name")) == sorted(names)

    def test_ties_are_broken_by_id(self, accounts: Any, clock: FakeClock) -> None:
        clock.freeze()
        ids = [accounts.create({"name": "same"})["id"] for _ in range(5)]
        assert [r["id"] for r in accounts.list(ordering="created_at").results] == sorted(ids)
        assert [r["id"] for r in accounts.list(ordering="-created_at").results] == sorted(ids, reverse=True)
        assert [r["id"] for r in accounts.list(ordering="name").results] == sorted(ids)

    def test_search_is_a_case_insensitive_substring_of_name_or_external_id(self, accounts: Any) -> None:
        accounts.create({"name": "Acme Corp", "external_id": "X-1"})
        accounts.create({"name": "Globex", "external_id": "acme-legacy"})
        accounts.create({"name": "Initech"})
        assert sorted(_names(accounts.list(search="ACME"))) == ["Acme Corp", "Globex"]
        assert _names(accounts.list(search="  x-1 ")) == ["Acme Corp"]
        assert accounts.list(search="   ").count == 3
        assert accounts.list(search="nothing").count == 0

    def test_search_treats_wildcards_literally(self, accounts: Any) -> None:
        for name in ("100% done", "100 done", "a_b", "axb", "back\\slash"):
            accounts.create({"name": name})
        assert _names(accounts.list(search="0%")) == ["100% done"]
        assert _names(accounts.list(search="a_b")) == ["a_b"]
        assert _names(accounts.list(search="%")) == ["100% done"]
        assert _names(accounts.list(search="_")) == ["a_b"]
        assert _names(accounts.list(search="\\")) == ["back\\slash"]

    def test_search_folds_case_beyond_ascii(self, accounts: Any) -> None:
        for name in ("ÄRGER", "Ölmühle", "ΣΊΣΥΦΟΣ", "plain"):
            accounts.create({"name": name})
        assert _names(accounts.list(search="ärg")) == ["ÄRGER"]
        assert _names(accounts.list(search="MÜHLE")) == ["Ölmühle"]
        assert _names(accounts.list(search="σίσ")) == ["ΣΊΣΥΦΟΣ"]

    def test_tags_filter_matches_any_tag_once(self, accounts: Any) -> None:
        accounts.create({"name": "both", "tags": ["billing", "urgent"]})
        accounts.create({"name": "billing", "tags": ["billing"]})
        accounts.create({"name": "none"})
        page = accounts.list(tags='["billing","urgent"]', ordering="name")
        assert (_names(page), page.count) == (["billing", "both"], 2)
        assert _names(accounts.list(tags=["URGENT "])) == ["both"]
        assert accounts.list(tags="[]").count == 3

    @pytest.mark.parametrize("bad", ['"billing"', "billing", "[1]", '{"a": 1}', "[", '[["x"]]', 5])
    def test_a_malformed_tags_filter_is_an_error_on_tags(self, accounts: Any, bad: Any) -> None:
        with pytest.raises(ValidationError) as error:
            accounts.list(tags=bad)
        assert error.value.errors == {"tags": ["Must be a JSON-encoded list of strings."]}

    def test_role_filters(self, accounts: Any) -> None:
        accounts.create({"name": "csm7", "properties": {"csm": {"id": 7, "email": "e@x"}}})
        accounts.create({"name": "csm8", "properties": {"csm": {"id": 8, "email": "7"}}})
        accounts.create({"name": "null", "properties": {"csm": None}})
        accounts.create({"name": "owner", "properties": {"account_owner": {"id": 7, "email": "o@x"}}})
        accounts.create({"name": "all", "properties": {role: {"id": 1, "email": "a@x"} for role in (
            "csm", "account_executive", "account_owner")}})  # fmt: skip
        assert _names(accounts.list(csm="7")) == ["csm7"]
        assert _names(accounts.list(csm=8)) == ["csm8"]
        assert sorted(_names(accounts.list(csm="unassigned"))) == ["null", "owner"]
        assert _names(accounts.list(account_owner=7, csm="unassigned")) == ["owner"]
        assert accounts.list(csm="seven").count == 5
        assert accounts.list(account_executive="").count == 5
        assert sorted(_names(accounts.list(account_executive="unassigned"))) == ["csm7", "csm8", "null", "owner"]

    def test_all_roles_unassigned(self, accounts: Any) -> None:
        accounts.create({"name": "free"})
        accounts.create({"name": "nulls", "properties": {"csm": None, "account_owner": None}})
        accounts.create({"name": "owned", "properties": {"account_owner": {"id": 3, "email": "o@x"}}})
        assert sorted(_names(accounts.list(all_roles_unassigned="TRUE"))) == ["free", "nulls"]
        assert sorted(_names(accounts.list(all_roles_unassigned=True))) == ["free", "nulls"]
        assert accounts.list(all_roles_unassigned="false").count == 3
        assert accounts.list(all_roles_unassigned="1").count == 3

    def test_filters_combine_with_and(self, accounts: Any) -> None:
        accounts.create({"name": "Acme A", "tags": ["x"], "properties": {"csm": {"id": 1, "email": "a"}}})
        accounts.create({"name": "Acme B", "tags": ["x"]})
        accounts.create({"name": "Other", "tags": ["x"], "properties": {"csm": {"id": 1, "email": "a"}}})
        assert _names(accounts.list(search="acme", tags='["x"]', csm="1")) == ["Acme A"]

    def test_limit_and_offset_fallbacks(self, accounts: Any) -> None:
        for index in range(5):
            accounts.create({"name": f"n{index}"})
        assert len(accounts.list(limit="2").results) == 2
        for bad in ("0", "-1", "x", "", None, 2.5):
            page = accounts.list(limit=bad)
            assert (page.limit, len(page.results)) == (100, 5)
        for bad in ("-1", "x", ""):
            assert accounts.list(offset=bad, limit=2).offset == 0
        page = accounts.list(offset=10)
        assert (page.results, page.count) == ([], 5)
        for huge in (2**63, 10**30, str(10**19)):
            assert [len(accounts.list(limit=huge).results), accounts.list(offset=huge).results] == [5, []]

    def test_pages_cover_everything_once(self, accounts: Any, clock: FakeClock) -> None:
        clock.freeze()  # equal timestamps: only the id tie-break keeps pages apart
        rng = random.Random(5)
        for index in range(23):
            accounts.create({"name": rng.choice("abc"), "tags": ["t"] if index % 2 else []})
        for ordering in ("name", "-name", "created_at", "-updated_at"):
            everything = [r["id"] for r in accounts.list(ordering=ordering, limit=1000).results]
            assert len(everything) == len(set(everything)) == 23
            for limit in (1, 4, 7, 23, 50):
                seen: list[str] = []
                offset = 0
                while True:
                    page = accounts.list(ordering=ordering, limit=limit, offset=offset)
                    assert page.count == 23
                    seen.extend(r["id"] for r in page.results)
                    if page.next_offset is None:
                        break
                    offset += limit
                assert seen == everything

    def test_envelope_links(self, accounts: Any) -> None:
        for index in range(5):
            accounts.create({"name": f"acme corp {index}", "tags": ["billing"]})
        url = "https://h/api/environments/1/accounts/?search=acme+corp&tags=%5B%22billing%22%5D&limit=2"
        first = accounts.list(search="acme corp", tags='["billing"]', limit=2).envelope(url)
        assert first["count"] == 5
        assert first["previous"] is None
        assert first["next"] == (
            "https://h/api/environments/1/accounts/?limit=2&offset=2&search=acme+corp&tags=%5B%22billing%22%5D"
        )
        second = accounts.list(search="acme corp", tags='["billing"]', limit=2, offset=2).envelope(first["next"])
        assert (
            second["previous"]
            == "https://h/api/environments/1/accounts/?limit=2&search=acme+corp&tags=%5B%22billing%22%5D"
        )
        last = accounts.list(limit=2, offset=4).envelope("http://h/a/?offset=4&limit=2")
        assert (last["next"], last["previous"]) == (None, "http://h/a/?limit=2&offset=2")


class KeysetContract(BackendFixtures):
    """Repository-level keyset paging (the Sequence cursors rest on it)."""

    def test_keyset_walks_every_order_without_gaps(self, backend: Backend) -> None:
        scope = {"project_id": fresh_project_id()}
        table = ACCOUNTS.table
        rng = random.Random(11)
        base = FakeClock()
        with backend.unit_of_work() as uow:
            repo = uow.repository(table)
            for index in range(30):
                stamp = base() if index % 3 else base.now  # some equal timestamps
                repo.insert(scope, account_row(scope, f"id-{index:03d}", rng.choice("abcd"), stamp))
        orders = [
            (OrderBy("created_at"), OrderBy("id")),
            (OrderBy("created_at", True), OrderBy("id", True)),
            (OrderBy("name"), OrderBy("id")),
            (OrderBy("name", True), OrderBy("id")),  # mixed directions
        ]
        filters_options: list[tuple[Any, ...]] = [(), (In("name", ("a", "b")),), (Contains(("name",), "A"),)]
        with backend.unit_of_work(write=False) as uow:
            repo = uow.repository(table)
            for order in orders:
                for filters in filters_options:
                    everything = repo.find(scope, Query(filters, order))
                    assert len(everything) == repo.count(scope, filters)
                    walked: list[dict[str, Any]] = []
                    after = None
                    while True:
                        page = repo.find(scope, Query(filters, order, limit=4, after=after))
                        if not page:
                            break
                        walked.extend(page)
                        after = tuple(page[-1][o.column] for o in order)
                    assert [r["id"] for r in walked] == [r["id"] for r in everything]
                    backwards = repo.find(scope, Query(filters, order).reversed())
                    assert [r["id"] for r in backwards] == [r["id"] for r in reversed(everything)]

    def test_find_with_count_equals_find_and_count(self, backend: Backend, capabilities: frozenset[str]) -> None:
        """The optional one-round-trip form must answer exactly as the two calls do."""
        if COUNTING not in capabilities:
            pytest.skip(f"optional capability {COUNTING!r}: {type(backend).__name__} does not offer it")
        scope = {"project_id": fresh_project_id()}
        clock = FakeClock()
        with backend.unit_of_work() as uow:
            repo = uow.repository(ACCOUNTS.table)
            for index in range(7):
                tags = ["t"] if index % 3 else []
                repo.insert(scope, account_row(scope, f"r{index}", "ab"[index % 2], clock(), tags=tags))
        order = (OrderBy("name"), OrderBy("id"))
        with backend.unit_of_work(write=False) as uow:
            repo = uow.repository(ACCOUNTS.table)
            assert isinstance(repo, CountingRepository), f"the backend declares {COUNTING!r} but lacks it"
            combined = repo.find_with_count
            filter_sets: list[tuple[Filter, ...]] = [(), (In("name", ("a",)),), (HasAny("tags", ("t",)),)]
            for filters in [*filter_sets, (In("name", ("zz",)),)]:
                for offset, limit, after in [(0, 3, None), (3, 3, None), (6, 3, None), (20, 3, None),
                                             (0, 2, ("a", "r2")), (0, 5, ("b", "r5")), (0, None, None)]:  # fmt: skip
                    query = Query(filters, order, offset, limit, after)
                    rows, count = combined(scope, query)
                    assert rows == repo.find(scope, query), query
                    assert count == repo.count(scope, filters), query

    def test_filter_kinds_at_repository_level(self, backend: Backend) -> None:
        scope = {"project_id": fresh_project_id()}
        clock = FakeClock()
        with backend.unit_of_work() as uow:
            repo = uow.repository(ACCOUNTS.table)
            repo.insert(scope, account_row(scope, "1", "x", clock(), tags=["a", "b"], external_id="E"))
            repo.insert(scope, account_row(scope, "2", "y", clock(), tags=["b"]))
            repo.insert(scope, account_row(scope, "3", "z", clock(), tags=[]))
        with backend.unit_of_work(write=False) as uow:
            repo = uow.repository(ACCOUNTS.table)

            def ids(*filters: Any) -> list[str]:
                return [r["id"] for r in repo.find(scope, Query(tuple(filters), (OrderBy("id"),)))]

            assert ids(HasAny("tags", ("a", "zz"))) == ["1"]
            assert ids(HasAny("tags", ("b",))) == ["1", "2"]
            assert ids(HasAny("tags", ())) == []
            assert ids(In("name", ())) == []
            assert ids(In("name", ("x", "z"))) == ["1", "3"]
            assert ids(Eq("external_id", None)) == ["2", "3"]
            assert ids(Eq("external_id", "E")) == ["1"]
            assert ids(Contains(("name", "external_id"), "e")) == ["1"]
            assert repo.count(scope, (HasAny("tags", ("a", "b")),)) == 2
