"""Read-side inputs no record can hold: every backend answers them alike, never with a StorageError.

Ids, filter values, cursors, actors and credentials come from paths, query strings and headers as
they are. One holding a NUL or a lone surrogate (which no stored value holds: payloads are
validated), a forged cursor, or an actor of the wrong type is answered as the vendor answers a bad
or unknown value: NotFound for an id, no match for a filter value, a ValidationError for a cursor
or an actor, no key for credentials. A parameter of any other type (a list, a mapping, a float
NaN, a huge integer, an object whose ``==`` gives no truth value, as a NumPy array's) is ignored
where the vendor ignores a bad value, or a ValidationError naming that parameter alone.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import pytest

from ...api import Store
from ...dialects.sequence.usage_events import USAGE_EVENT_PARAMETERS
from ...errors import MetricscoreError, NotFound, StorageError, ValidationError
from ...http.keys import Keyring
from ...service import IdempotentService
from ..clock import FakeClock
from .fixtures import BackendFixtures
from .metrics import STATSIG, USAGE

__all__ = ["Ambiguous", "ReadInputContract", "forged_cursors", "wrong_types"]

#: Strings no stored value holds: NUL and lone surrogates, alone and inside ordinary text.
UNSTORABLE = ("\x00", "acme\x00", "\x00acme", "\ud800", "acme\udfff", "\ud83d")


def _cursor(parts: Any) -> str:
    raw = json.dumps(parts, ensure_ascii=True).encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def forged_cursors() -> list[Any]:
    """Cursors no page ever hands out, for a ``(created_at, id)`` order."""
    moment = "2024-01-01T12:00:00+00:00"
    return [
        "\x00",
        "\ud800",
        _cursor([["v", 1], ["v", 2]]),  # integers where a time and an id belong
        _cursor([["d", moment], ["v", 10**30]]),  # a huge integer as the id
        _cursor([["d", moment], ["v", 2**63]]),
        _cursor([["d", moment], ["v", True]]),
        _cursor([["d", moment], ["v", None]]),
        _cursor([["d", moment], ["v", 1.5]]),
        _cursor([["d", moment], ["v", ["x"]]]),
        _cursor([["d", moment], ["v", {"a": 1}]]),
        _cursor([["d", moment], ["v", "id\u0000"]]),  # NUL inside the decoded id
        _cursor([["d", moment], ["v", "\ud800"]]),  # a lone surrogate inside the decoded id
        _cursor([["d", moment], ["d", moment]]),  # a time where the id belongs
        _cursor([["v", moment], ["v", "x"]]),  # a string where the time belongs
        _cursor([["d", "0001-01-01T00:00:00+05:00"], ["v", "x"]]),  # before year 1 in UTC
        _cursor([["d", "9999-12-31T23:59:59-05:00"], ["v", "x"]]),  # after year 9999 in UTC
        _cursor([["d", "2024-01-01T12:00:00"], ["v", "x"]]),  # no time zone
        _cursor([["d", "yesterday"], ["v", "x"]]),
        _cursor([["d", 5], ["v", "x"]]),
        _cursor([["d", moment]]),  # too short
        _cursor([["d", moment], ["v", "x"], ["v", "y"]]),  # too long
        _cursor([["x", moment], ["v", "x"]]),
        _cursor({"d": moment}),
        _cursor("x"),
        "e30",  # {}
        "%%%",
        5,
        ["x"],
        "A" * 5000,
    ]


class Ambiguous:
    """A value as a NumPy array is: ``==`` answers an object whose truth value raises, and it
    claims to be iterable but refuses to iterate (a 0-d array)."""

    def __eq__(self, other: object) -> Any:
        return _NoTruth()

    def __ne__(self, other: object) -> Any:
        return _NoTruth()

    __hash__ = object.__hash__

    def __iter__(self) -> Any:
        raise TypeError("iteration over a 0-d array")

    def __repr__(self) -> str:
        return "Ambiguous()"


class _NoTruth:
    def __bool__(self) -> bool:
        raise ValueError("The truth value of an array with more than one element is ambiguous.")


def wrong_types() -> list[Any]:
    """Parameter values of every wrong type and range."""
    return [
        None, 0, -1, 10**100, -(10**100), 2**63, 1.5, math.nan, math.inf, -math.inf, True, False,
        b"x", bytearray(b"x"), [], ["x"], [None], {}, {"a": 1}, ("x",), object(), Ambiguous(),
        "", " ", "-1", "0", "1e999", "NaN", "9" * 40, "x" * 100_000, *UNSTORABLE,
    ]  # fmt: skip


def _names(page: Any) -> list[str]:
    return sorted(r["name"] for r in page.results)


class ReadInputContract(BackendFixtures):
    def test_ids_no_record_can_have_are_not_found(self, store: Store, project_id: int) -> None:
        accounts = store.posthog.accounts(project_id=project_id)
        metrics = store.posthog.group_usage_metrics(project_id=project_id, group_type_index=0)
        usage = store.sequence.usage_metrics(account_id=f"acct-{project_id}")
        statsig = store.statsig.metrics(project_id=f"p{project_id}")
        services: list[tuple[IdempotentService[Any, Any], str, Mapping[str, Any]]] = [
            (accounts, accounts.create({"name": "Acme"})["id"], {"name": "x"}),
            (metrics, metrics.create({"name": "Events", "filters": {}})["id"], {"name": "x", "filters": {}}),
            (usage, usage.create(USAGE)["id"], USAGE),
            (statsig, statsig.create(STATSIG)["id"], {"description": "x"}),
        ]
        for service, existing, body in services:
            for bad in (*UNSTORABLE, existing + "\x00", "\ud800" + existing, "x" * 10_000):
                with pytest.raises(NotFound):
                    service.get(bad)
                with pytest.raises(NotFound):
                    service.update(bad, body)
                with pytest.raises(NotFound):
                    service.delete(bad)
            assert service.list().count == 1
        for name, kind in (("\x00", "sum"), ("metric", "\x00"), ("metric\ud800", "sum"), ("m" * 10_000, "sum")):
            with pytest.raises(NotFound):
                statsig.get_by_name(name, kind)
        for bad in UNSTORABLE:
            with pytest.raises(NotFound):
                statsig.schedule_archive(bad)

    def test_filter_values_no_record_can_hold_match_nothing(self, store: Store, project_id: int) -> None:
        accounts = store.posthog.accounts(project_id=project_id)
        accounts.create({"name": "Acme", "external_id": "acme-1", "tags": ["billing"]})
        accounts.create({"name": "Globex", "tags": ["urgent"]})
        for bad in UNSTORABLE:
            assert accounts.list(search=bad).count == 0, repr(bad)
            assert accounts.list(tags=json.dumps([bad])).count == 0, repr(bad)
            assert accounts.list(tags=[bad]).count == 0, repr(bad)
            assert _names(accounts.list(tags=json.dumps(["billing", bad]))) == ["Acme"]
            unknown: Any = bad  # no ordering or role id the type admits: ignored at run time
            assert accounts.list(ordering=unknown, csm=bad, limit=bad, offset=bad).count == 2

        usage = store.sequence.usage_metrics(account_id=f"acct-{project_id}")
        first = usage.create(USAGE)
        for bad in UNSTORABLE:
            for param in ("name", "id", "eventType", "aggregationType"):
                assert usage.list(**{param: bad}).count == 0, (param, bad)
            assert usage.list(id=first["id"] + bad).count == 0
            assert usage.list(eventType=f"message_sent,{bad}").count == 1

        statsig = store.statsig.metrics(project_id=f"p{project_id}")
        statsig.create({**STATSIG, "tags": ["even"]})
        for bad in UNSTORABLE:
            assert statsig.list(tags=bad).count == 0
            assert statsig.list(tags=f"even,{bad}").count == 1

    def test_filter_values_longer_than_any_stored_value_match_nothing(self, store: Store, project_id: int) -> None:
        """A filter value longer than its column holds matches nothing and never reaches the
        backend (MariaDB refused a 10 MB search with a dropped connection, SQLite took seconds),
        while one at the bound still matches (a search term may be twice as long: ``İ`` folds
        to two characters)."""
        huge = "x" * 10_000_000
        accounts = store.posthog.accounts(project_id=project_id)
        accounts.create({"name": "İ" * 400, "tags": ["t" * 255]})
        assert accounts.list(search="i\u0307" * 400).count == 1  # 800 characters: "İ" * 400 folded
        assert accounts.list(tags=["t" * 255]).count == 1
        for term in ("i\u0307" * 400 + "x", huge):
            assert accounts.list(search=term).count == 0
        assert accounts.list(tags=["t" * 256]).count == 0
        assert accounts.list(tags=[huge]).count == 0
        assert accounts.list(tags=["t" * 255, huge]).count == 1
        usage = store.sequence.usage_metrics(account_id=f"acct-{project_id}")
        usage.create(USAGE)
        for param in ("name", "id", "eventType", "aggregationType"):
            assert usage.list(**{param: huge}).count == 0, param
        assert usage.list(eventType=f"message_sent,{huge}").count == 1
        statsig = store.statsig.metrics(project_id=f"p{project_id}")
        statsig.create({**STATSIG, "tags": ["even"]})
        assert statsig.list(tags=huge).count == 0
        assert statsig.list(tags=f"even,{huge}").count == 1

    def test_forged_cursors_are_invalid(self, store: Store, project_id: int) -> None:
        usage = store.sequence.usage_metrics(account_id=f"acct-{project_id}")
        for index in range(3):
            usage.create({**USAGE, "name": f"m{index}"})
        for forged in forged_cursors():
            for param in ("after", "before"):
                with pytest.raises(ValidationError) as error:
                    usage.list(**{param: forged})
                assert error.value.errors == {param: ["Invalid cursor."]}, (param, forged)

    def test_cursors_at_the_ends_of_time(self, store: Store, project_id: int) -> None:
        usage = store.sequence.usage_metrics(account_id=f"acct-{project_id}")
        ids = [usage.create({**USAGE, "name": f"m{index}"})["id"] for index in range(3)]
        earliest = _cursor([["d", "0001-01-01T00:00:00+00:00"], ["v", ""]])
        latest = _cursor([["d", "9999-12-31T23:59:59.999999+00:00"], ["v", "~"]])
        assert [r["id"] for r in usage.list(after=earliest).results] == ids
        assert usage.list(before=earliest).results == []
        assert [r["id"] for r in usage.list(before=latest).results] == ids
        assert usage.list(after=latest).results == []
        shifted = _cursor([["d", "2024-01-01T14:00:00.123456+02:00"], ["v", ids[0]]])  # = the first record
        assert [r["id"] for r in usage.list(after=shifted).results] == ids[1:]

    @pytest.mark.parametrize("actor", ["alice", "7", True, False, 3.5, 4.0, {}, [], {"id": 7}, 2**63, -(2**63) - 1])
    def test_posthog_actor_is_an_integer_user_id(self, store: Store, project_id: int, actor: Any) -> None:
        accounts = store.posthog.accounts(project_id=project_id)
        metrics = store.posthog.group_usage_metrics(project_id=project_id, group_type_index=0)
        kept = accounts.create({"name": "kept"}, actor_id=1)
        calls: list[Callable[[], Any]] = [
            lambda: accounts.create({"name": "Acme"}, actor_id=actor),
            lambda: accounts.create_many([{"name": "Acme"}, {"name": "Beta"}], actor_id=actor),
            lambda: accounts.update(kept["id"], {"name": "changed"}, actor_id=actor),
            lambda: accounts.delete(kept["id"], actor_id=actor),
            lambda: metrics.create({"name": "Events", "filters": {}}, actor_id=actor),
        ]
        for call in calls:
            with pytest.raises(ValidationError) as error:
                call()
            assert list(error.value.errors) == ["actor_id"]
        assert [r["name"] for r in accounts.list().results] == ["kept"]
        assert metrics.list().count == 0

    def test_posthog_actor_ids_are_stored_exactly(self, store: Store, project_id: int) -> None:
        accounts = store.posthog.accounts(project_id=project_id)
        for actor in (None, 0, 7, -1, 2**63 - 1, -(2**63)):
            created = accounts.create({"name": f"by {actor}"}, actor_id=actor)
            assert created["created_by"] == actor
            assert accounts.get(created["id"])["created_by"] == actor

    def test_statsig_actor_is_a_name_or_a_mapping(self, store: Store, project_id: int, clock: FakeClock) -> None:
        statsig = store.statsig.metrics(project_id=f"p{project_id}")
        bad_actors: list[Any] = [
            5, 2.5, True, ["ops"], "ops\x00", "\ud800", "x" * 201,
            {"name": 5}, {"name": "a\x00"}, {"email": "\ud800"}, {"id": 2**64}, {"id": 1.5}, {"id": ["x"]},
        ]  # fmt: skip
        for actor in bad_actors:
            with pytest.raises(ValidationError) as error:
                statsig.create(STATSIG, actor_id=actor)
            assert list(error.value.errors) == ["actor_id"], actor
            with pytest.raises(ValidationError) as error:
                statsig.create_many([STATSIG], actor_id=actor)
            assert list(error.value.errors) == ["actor_id"], actor
        assert statsig.list().count == 0
        created = statsig.create(STATSIG, actor_id={"name": "Ada", "email": "ada@example.com", "id": 7})
        assert (created["creatorName"], created["creatorEmail"]) == ("Ada", "ada@example.com")
        clock.advance(timedelta(seconds=1))
        updated = statsig.update(created["id"], {"description": "x"}, actor_id="ci key")
        assert updated["lastModifierName"] == "ci key"
        assert statsig.get(created["id"]) == updated

    def test_credentials_no_key_can_have_find_no_key(self, store: Store) -> None:
        keyring = Keyring(store)
        sequence = keyring.create_sequence_credentials(account_id="acct")
        posthog = keyring.create_posthog_key(scopes=["*"])
        statsig = keyring.create_statsig_key(project_id="p")
        for bad in UNSTORABLE:
            assert keyring.check_credentials("sequence", bad * 16, sequence.client_secret) is None
            assert keyring.check_credentials("sequence", sequence.client_id[:-1] + bad, sequence.client_secret) is None
            assert keyring.check_credentials("sequence", sequence.client_id, sequence.client_secret + bad) is None
            assert keyring.check_token("posthog", posthog.token + bad) is None
            assert keyring.check_token("posthog", "phx_" + bad * 16 + "secret") is None
            assert keyring.check_token("statsig", statsig.token.replace("-", "-" + bad, 1)) is None
            assert keyring.revoke(bad) is False
        assert keyring.check_credentials("sequence", sequence.client_id, sequence.client_secret) is not None
        assert keyring.check_token("posthog", posthog.token) is not None
        assert keyring.check_token("statsig", statsig.token) is not None

    def test_parameters_of_wrong_types_name_the_parameter(self, store: Store, project_id: int) -> None:
        """Every parameter of every list and evaluate call, given a value of a wrong type: a page
        (the vendor ignores the value), or a ValidationError naming that parameter alone (never
        a StorageError or a Python error), and nothing is written."""
        accounts = store.posthog.accounts(project_id=project_id)
        metrics = store.posthog.group_usage_metrics(project_id=project_id, group_type_index=0)
        usage = store.sequence.usage_metrics(account_id=f"acct-{project_id}")
        events = store.sequence.usage_events(account_id=f"acct-{project_id}")
        statsig = store.statsig.metrics(project_id=f"p{project_id}")
        accounts.create({"name": "Acme"})
        group = metrics.create({"name": "Events", "filters": {"events": [{"id": "e"}]}})["id"]
        sent = usage.create(USAGE)["id"]
        carts = statsig.create(STATSIG)["id"]
        events.create({"eventType": "message_sent", "customerAlias": "c"})
        lists: list[tuple[Callable[..., Any], list[str]]] = [
            (service.list, [*service.resource.list_parameters, *service.resource.pagination.parameters()])
            for service in (accounts, metrics, usage, statsig)
        ]
        event_parameters = ["customerAlias[]", "customerAlias", *USAGE_EVENT_PARAMETERS, "limit", "after", "before"]
        lists.append((events.list, event_parameters))
        evaluations: list[tuple[Callable[..., Any], dict[str, Any]]] = [
            (lambda **p: metrics.evaluate(group, **p), {"group_key": "acme", "now": "2025-10-09T12:00:00Z"}),
            (
                lambda **p: usage.evaluate(sent, **p),
                {"customerAliases": "c", "periodStart": "2025-01-01", "periodEnd": "2025-01-31"},
            ),
            (
                lambda **p: statsig.evaluate(carts, **p),
                {"date_from": "2025-01-01", "date_to": "2025-01-02", "day_start_utc_offset": "+00:00"},
            ),
        ]
        calls: list[tuple[Callable[..., Any], str, dict[str, Any]]] = [
            (call, name, {}) for call, names in lists for name in names
        ]
        calls += [(call, name, valid) for call, valid in evaluations for name in valid]
        for call, name, valid in calls:
            for value in wrong_types():
                try:
                    call(**{**valid, name: value})
                except ValidationError as error:
                    assert isinstance(error.errors, dict) and list(error.errors) == [name], (name, value, error.errors)
                except StorageError as error:  # pragma: no cover - the failure this guards against
                    raise AssertionError(f"{name}={value!r}: {error!r}") from error
                except MetricscoreError as error:  # pragma: no cover
                    raise AssertionError(f"{name}={value!r}: {error!r}") from error
        for value in wrong_types():
            for evaluate, valid in evaluations:
                with pytest.raises(ValidationError) as info:
                    evaluate(**valid, events=[value])  # a list of one event that is no event
                assert list(info.value.errors) == ["events"] and list(info.value.errors["events"]) == ["0"], value
        assert [accounts.list().count, metrics.list().count, usage.list().count, statsig.list().count] == [1] * 4
        assert events.list().count == 1
