"""The built-in events table and evaluation over it: the same answers on every backend.

The memory backend evaluates with the reference evaluator; the SQL backend compiles the plan to
one SQL statement. Both must give the vendors' answers below (evaluation-semantics.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ...api import Store
from ...dialects.sequence import UsageMetricCreate
from ...errors import StorageError, ValidationError
from .fixtures import BackendFixtures, fresh_project_id

__all__ = ["EventsContract"]

T = datetime(2026, 1, 31, 23, 59, 59, 999000, tzinfo=UTC)


#: A Sequence usage metric summing the property ``n`` of the events of type ``sent``.
SUM_OF_N: UsageMetricCreate = {
    "name": "n",
    "metricType": "SIMPLE",
    "eventType": "sent",
    "aggregationType": "SUM",
    "aggregationProperty": "n",
}


def _event(id: str, **fields: Any) -> dict[str, Any]:
    return {"id": id, "name": "sent", "timestamp": T, "customer": "a", **fields}


class EventsContract(BackendFixtures):
    @pytest.fixture
    def usage(self, store: Store) -> Any:
        return store.sequence.usage_metrics(account_id=f"acc-{fresh_project_id()}")

    def test_append_is_idempotent_by_event_id(self, usage: Any) -> None:
        first = usage.events.append([_event("e1"), _event("e2", properties={"n": 1.5})])
        again = usage.events.append([_event("e2", properties={"n": 1.5}), _event("e3")], batch_size=1)
        assert (first.appended, first.duplicates) == (2, 0)
        assert (again.appended, again.duplicates) == (1, 1)
        stored = list(usage.events.read())
        assert [e.id for e in stored] == ["e1", "e2", "e3"]
        assert [e.seq for e in stored] == [1, 2, 3]
        assert stored[1].properties == {"n": "1.5"}

    def test_an_invalid_batch_writes_nothing_and_names_every_bad_field(self, usage: Any) -> None:
        batch = [
            _event("ok"),
            {"id": "", "name": 5, "timestamp": "yesterday", "properties": {"n": [1]}, "colour": "red"},
            _event("ok2", value=float("nan")),
        ]
        with pytest.raises(ValidationError) as caught:
            usage.events.append(batch)
        assert set(caught.value.errors) == {"1", "2"}
        assert set(caught.value.errors["1"]) == {"id", "name", "timestamp", "properties", "colour"}
        assert set(caught.value.errors["2"]) == {"value"}
        assert list(usage.events.read()) == []

    def test_the_same_id_with_other_content_is_refused(self, usage: Any) -> None:
        usage.events.append([_event("e1", properties={"n": 1})])
        with pytest.raises(ValidationError) as caught:
            usage.events.append([_event("e9"), _event("e1", properties={"n": 2})])
        assert caught.value.errors == {"1": {"id": ["An event with this id is already stored with other content."]}}
        assert [e.id for e in usage.events.read()] == ["e1"]

    def test_sequence_calculate(self, usage: Any) -> None:
        metric = usage.create(
            {
                "name": "bytes",
                "metricType": "SIMPLE",
                "eventType": "sent",
                "aggregationType": "SUM",
                "aggregationProperty": "bytes",
                "propertyFilters": {"region": ["EU"]},
                "caseSensitive": False,
            }
        )
        usage.events.append(
            [
                _event("e1", properties={"bytes": "0.1", "region": "eu"}),  # last instant of periodEnd
                _event("e2", customer="b", properties={"bytes": 0.2, "region": "EU"}),
                _event("e3", timestamp=T + timedelta(milliseconds=1), properties={"bytes": 5, "region": "eu"}),
                _event("e4", dedupe_key="k", properties={"bytes": 7, "region": "eu"}),
                _event("e5", dedupe_key="k", customer="VOID", properties={"bytes": 7, "region": "eu"}),
                _event("e6", properties={"bytes": "abc", "region": "eu"}),
                _event("e7", customer="c", properties={"bytes": 100, "region": "eu"}),
                _event("e8", name="Sent", properties={"bytes": 100, "region": "eu"}),
            ]
        )
        result = usage.evaluate(metric["id"], customerAliases="a, b", periodStart="2026-01-01", periodEnd="2026-01-31")
        assert result == {
            "name": "bytes",
            "metricType": "SIMPLE",
            "eventType": "sent",
            "aggregationType": "SUM",
            "eventCount": 3,
            "value": Decimal("0.3"),
            "unit": None,
            "minEventId": "e1",
            "maxEventId": "e6",
        }
        empty = usage.evaluate(metric["id"], customerAliases="z", periodStart="2026-01-01", periodEnd="2026-01-31")
        assert (empty["eventCount"], empty["value"], empty["minEventId"]) == (0, 0, None)

    def test_posthog_intervals(self, store: Store) -> None:
        metrics = store.posthog.group_usage_metrics(project_id=fresh_project_id(), group_type_index=1)
        metric = metrics.create(
            {"name": "calls", "filters": {"events": [{"id": "api_call", "type": "events"}]}, "display": "sparkline"}
        )
        now = datetime(2025, 10, 9, 12, 11, tzinfo=UTC)
        days = [8, 8, 8, 7, 0, 0]
        metrics.events.append(
            [
                {
                    "id": f"p{i}",
                    "name": "api_call",
                    "timestamp": now - timedelta(days=d),
                    "properties": {"$group_1": "acme"},
                }
                for i, d in enumerate(days)
            ]
            + [
                {
                    "id": "late",
                    "name": "api_call",
                    "timestamp": now + timedelta(microseconds=1),
                    "properties": {"$group_1": "acme"},
                }
            ]
        )
        result = metrics.evaluate(metric["id"], group_key="acme", now=now.isoformat())
        assert "skipped" not in result
        assert (result["value"], result["previous"]) == (3.0, 3.0)
        assert result["change_from_previous_pct"] == 0.0
        assert result["timeseries"] == [1.0, 0, 0, 0, 0, 0, 0, 2.0]
        labels = result["timeseries_labels"]
        assert labels is not None and labels[0] == "2025-10-02"

    def test_statsig_mean_per_unit_per_day(self, store: Store) -> None:
        metrics = store.statsig.metrics(project_id=f"p{fresh_project_id()}")
        metric = metrics.create(
            {
                "name": "order_value",
                "type": "mean",
                "unitTypes": ["userID"],
                "metricEvents": [{"name": "purchase", "type": "value"}],
            }
        )
        base = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)  # 00:00 PST
        metrics.events.append(
            [
                {
                    "id": "s1",
                    "name": "purchase",
                    "timestamp": base - timedelta(seconds=1),
                    "customer": "u1",
                    "value": "10",
                },
                {"id": "s2", "name": "purchase", "timestamp": base, "customer": "u1", "value": "1.5"},
                {"id": "s3", "name": "purchase", "timestamp": base, "customer": "u1", "value": 2},
                {"id": "s4", "name": "purchase", "timestamp": base, "customer": "u1", "value": "n/a"},
                {"id": "s5", "name": "purchase", "timestamp": base, "customer": "u2", "value": "n/a"},
            ]
        )
        result = metrics.evaluate(metric["id"], date_from="2026-02-28", date_to="2026-03-01")
        assert result["data"] == [
            {
                "date": "2026-02-28",
                "unitType": "userID",
                "unitId": "u1",
                "value": Decimal(10),
                "numerator": Decimal(10),
                "denominator": 1,
            },
            {
                "date": "2026-03-01",
                "unitType": "userID",
                "unitId": "u1",
                "value": Decimal("1.75"),
                "numerator": Decimal("3.5"),
                "denominator": 2,
            },
            {
                "date": "2026-03-01",
                "unitType": "userID",
                "unitId": "u2",
                "value": None,
                "numerator": Decimal(0),
                "denominator": 0,
            },
        ]

    def test_sequence_usage_events_are_listed_with_filters_and_cursors(self, store: Store) -> None:
        events = store.sequence.usage_events(account_id=f"acc-{fresh_project_id()}")
        sent = [
            events.create(
                {
                    "eventType": "sent" if day % 3 else "other",
                    "customerAlias": f"c{day % 2}",
                    "eventTimestamp": f"2026-01-0{day}T12:00:00Z",
                    "customerEventId": "same" if day > 5 else None,
                    "eventProperties": {"n": day},
                }
            )
            for day in range(1, 8)
        ]
        assert sent[0]["customerEventId"] == sent[0]["id"] and sent[6]["customerEventId"] == "same"
        page = events.list(limit=3)
        assert [e["id"] for e in page.results] == [e["id"] for e in sent[::-1][:3]]
        assert (page.count, page.before) == (7, None)
        rest = events.list(limit=3, after=page.after)
        assert [e["id"] for e in rest.results] == [e["id"] for e in sent[::-1][3:6]]
        assert [e["id"] for e in events.list(limit=3, before=rest.before).results] == [e["id"] for e in page.results]
        chosen = events.list(
            customerAlias=["c1", "nobody"],
            eventType="sent",
            sortOrder="ASC",
            eventTimestampAfter="2026-01-02T00:00:00Z",
            eventTimestampBefore="2026-01-07T12:00:00Z",
        )
        assert ([e["eventProperties"] for e in chosen.results], chosen.count) == ([{"n": "5"}], 1)
        assert events.list(eventId=sent[2]["id"]).results == [sent[2]]
        with pytest.raises(ValidationError) as caught:
            events.list(sortOrder="sideways", limit="0", eventTimestampBefore="2026")  # type: ignore[arg-type]
        assert set(caught.value.errors) == {"sortOrder", "limit", "eventTimestampBefore"}

    def test_sequence_usage_events_sort_by_event_time_and_page_with_cursors(self, store: Store) -> None:
        events = store.sequence.usage_events(account_id=f"acc-{fresh_project_id()}")
        # Event times out of the order received, with ties (the second tie-break: the order received)
        # and microseconds (a database that dropped them would merge two instants).
        stamps = [
            "05T00:00:00.000001",
            "03T00:00:00",
            "05T00:00:00.000001",
            "01T00:00:00",
            "05T00:00:00",
            "03T00:00:00",
        ]
        sent = [
            events.create({"eventType": "sent", "customerAlias": f"c{i % 2}", "eventTimestamp": f"2026-01-{at}Z"})
            for i, at in enumerate(stamps)
        ]
        moments = [datetime.fromisoformat(e["eventTimestamp"]) for e in sent]
        by_time = [sent[i]["id"] for i in sorted(range(len(sent)), key=lambda i: (moments[i], i))]

        def walk(**params: Any) -> list[str]:
            """Every event, page after page (two a page) by event time."""
            page = events.list(limit=2, sortBy="EVENT_TIMESTAMP", **params)
            seen = [e["id"] for e in page.results]
            while page.after is not None:
                page = events.list(limit=2, sortBy="EVENT_TIMESTAMP", after=page.after, **params)
                seen.extend(e["id"] for e in page.results)
            return seen

        assert walk(sortOrder="ASC") == by_time
        assert walk() == by_time[::-1]  # DESC by default
        odd = {e["id"] for e in sent[1::2]}
        assert walk(sortOrder="ASC", customerAlias="c1") == [i for i in by_time if i in odd]
        first = events.list(limit=2, sortBy="EVENT_TIMESTAMP", sortOrder="ASC")
        middle = events.list(limit=2, sortBy="EVENT_TIMESTAMP", sortOrder="ASC", after=first.after)
        assert [e["id"] for e in middle.results] == by_time[2:4] and middle.count == len(stamps)
        back = events.list(limit=2, sortBy="EVENT_TIMESTAMP", sortOrder="ASC", before=middle.before)
        assert ([e["id"] for e in back.results], back.before, back.after) == (by_time[:2], None, first.after)
        assert [e["id"] for e in events.list(sortBy="CREATED_AT", sortOrder="ASC").results] == [e["id"] for e in sent]
        with pytest.raises(ValidationError) as caught:
            events.list(sortBy="eventTimestamp")  # type: ignore[arg-type]
        assert set(caught.value.errors) == {"sortBy"}
        with pytest.raises(ValidationError) as caught:
            events.list(after=middle.after)  # a cursor of the event-time order is no position received
        assert set(caught.value.errors) == {"after"}

    def test_sequence_generated_ids_and_customer_event_ids_agree(self, backend: Any, clock: Any) -> None:
        # An event sent without a customerEventId is listed with its id as one, so a later event
        # given that id supersedes it; and no id is generated that is already a customerEventId.
        prefix = f"g{fresh_project_id()}-"
        script = iter(prefix + name for name in ("1", "2", "3", "4", "taken", "5"))
        store = Store(backend, clock=clock, id_factory=lambda: next(script))
        account = f"acc-{fresh_project_id()}"
        events = store.sequence.usage_events(account_id=account)
        usage = Store(backend, clock=clock).sequence.usage_metrics(account_id=account)  # ids of its own
        metric = usage.create(SUM_OF_N)

        def send(n: int, **fields: Any) -> Any:
            body = {"eventType": "sent", "customerAlias": "c", "eventTimestamp": "2026-01-10T00:00:00Z"}
            payload: Any = {**body, "eventProperties": {"n": n}, **fields}  # fields: any keys a test sends
            return events.create(payload)

        def total() -> Any:
            return usage.evaluate(metric["id"], customerAliases="c", periodStart="2026-01-01", periodEnd="2026-01-31")

        first = send(10)
        assert first["customerEventId"] == first["id"] == prefix + "1"
        send(3, customerEventId=first["id"])
        assert (total()["value"], total()["eventCount"]) == (3, 1)
        usage.events.append([{"id": "lib-1", "name": "sent", "timestamp": T, "customer": "c", "properties": {"n": 7}}])
        assert total()["value"] == 3 + 7
        send(0, customerEventId="lib-1", customerAlias="VOID")  # Sequence's way to cancel an event
        assert total()["value"] == 3
        again = usage.events.append(
            [{"id": "lib-1", "name": "sent", "timestamp": T, "customer": "c", "properties": {"n": 7}}]
        )
        assert (again.appended, again.duplicates, total()["value"]) == (0, 1, 3)  # still a repeat, still cancelled
        kept = send(5, customerEventId=prefix + "taken")
        fresh = send(1)  # the factory's next id is a customerEventId already: it is passed over
        assert (fresh["id"], fresh["customerEventId"], kept["customerEventId"]) == (prefix + "5",) * 2 + (
            prefix + "taken",
        )
        assert (total()["value"], total()["eventCount"]) == (3 + 5 + 1, 3)
        listed = [e["customerEventId"] for e in events.list(sortOrder="ASC").results]
        assert listed == [first["id"], first["id"], "lib-1", "lib-1", prefix + "taken", prefix + "5"]
        stuck = Store(backend, clock=clock, id_factory=lambda: prefix + "taken")  # a factory of one id
        with pytest.raises(StorageError):
            stuck.sequence.usage_events(account_id=account).create({"eventType": "sent", "customerAlias": "c"})
        assert events.list().count == len(listed)

    def test_sequence_usage_events_csv_is_stored_whole_or_not_at_all(self, store: Store) -> None:
        account = f"acc-{fresh_project_id()}"
        events = store.sequence.usage_events(account_id=account)
        usage = store.sequence.usage_metrics(account_id=account)
        metric = usage.create(SUM_OF_N)
        header = "eventType,eventTimestamp,customerAlias,customerEventId,eventProperty#n\n"
        rows = [f"sent,2026-01-0{day},c,{'k' if day % 2 else ''},{day}\n" for day in range(1, 6)]
        with pytest.raises(ValidationError) as caught:
            events.upload_csv(header + "".join(rows) + "sent,2026-01-32,c,,1\n", idempotency_key="u-1")
        assert caught.value.errors == {
            "row 7": {"eventTimestamp": [caught.value.messages("row 7", "eventTimestamp")[0]]}
        }
        assert events.list().count == 0  # the good rows before the bad one are not stored either
        assert events.upload_csv(header + "".join(rows), idempotency_key="u-1") == {"eventCount": 5}
        assert events.upload_csv(header + "".join(rows), idempotency_key="u-1") == {"eventCount": 5}
        listed = events.list(sortOrder="ASC", limit=10).results
        assert [e["eventProperties"]["n"] for e in listed] == ["1", "2", "3", "4", "5"]
        answer = usage.evaluate(metric["id"], customerAliases="c", periodStart="2026-01-01", periodEnd="2026-01-31")
        assert (answer["value"], answer["eventCount"]) == (2 + 4 + 5, 3)  # k: the last row of it counts
