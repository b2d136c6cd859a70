"""Contracts for the three metric resources: what they need from storage.

Uniqueness per scope, scope isolation, filters, ordering and paging edges, soft delete, keyset
cursors and idempotency keys stored through the repository. Pure validation rules are tested once
against the memory store in the project's own tests; these hold every backend to the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import pytest

from ...api import Store
from ...dialects.sequence import UsageMetricCreate
from ...dialects.statsig import StatsigMetricCreate
from ...errors import Conflict, NotFound, ValidationError
from ...repository import Backend
from ..clock import FakeClock
from .fixtures import BackendFixtures, fresh_project_id

__all__ = ["GroupUsageMetricContract", "SequenceUsageMetricContract", "StatsigMetricContract"]

USAGE: UsageMetricCreate = {
    "name": "Messages",
    "metricType": "SIMPLE",
    "eventType": "message_sent",
    "aggregationType": "COUNT",
}
STATSIG: StatsigMetricCreate = {
    "name": "metric",
    "type": "sum",
    "unitTypes": ["userID"],
    "metricEvents": [{"name": "add_to_cart"}],
}


def _ids(items: Sequence[Mapping[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


class GroupUsageMetricContract(BackendFixtures):
    @pytest.fixture
    def group_metrics(self, store: Store, project_id: int) -> Any:
        return store.posthog.group_usage_metrics(project_id=project_id, group_type_index=0)

    def test_group_metric_round_trip(self, group_metrics: Any) -> None:
        filters = {"events": [{"id": "$pageview", "properties": [{"key": "ü", "value": ["a", 1, None, 2.5]}]}]}
        created = group_metrics.create(
            {"name": "Ünïcødé 🚀", "filters": filters, "math": "sum", "math_property": "amount", "interval": 2**31 - 1}
        )
        assert group_metrics.get(created["id"]) == created
        assert created["filters"] == filters

    def test_group_metric_name_unique_per_project_and_index(
        self, store: Store, group_metrics: Any, project_id: int
    ) -> None:
        group_metrics.create({"name": "Revenue", "filters": {}})
        with pytest.raises(ValidationError) as info:
            group_metrics.create({"name": "Revenue", "filters": {}})
        assert info.value.messages("name")[0].code == "unique"
        other = group_metrics.create({"name": "Other", "filters": {}})
        with pytest.raises(ValidationError):
            group_metrics.update(other["id"], {"name": "Revenue"})
        assert group_metrics.list().count == 2
        store.posthog.group_usage_metrics(project_id=project_id, group_type_index=1).create(
            {"name": "Revenue", "filters": {}}
        )
        store.posthog.group_usage_metrics(project_id=fresh_project_id(), group_type_index=0).create(
            {"name": "Revenue", "filters": {}}
        )

    def test_group_metric_scope_isolation(self, store: Store, group_metrics: Any, project_id: int) -> None:
        created = group_metrics.create({"name": "Revenue", "filters": {}})
        other = store.posthog.group_usage_metrics(project_id=project_id, group_type_index=1)
        with pytest.raises(NotFound):
            other.get(created["id"])
        with pytest.raises(NotFound):
            other.delete(created["id"])
        with pytest.raises(NotFound):
            other.update(created["id"], {"name": "x"})
        assert other.list().count == 0
        assert group_metrics.get(created["id"])["name"] == "Revenue"

    def test_group_metric_delete_frees_the_name(self, group_metrics: Any) -> None:
        created = group_metrics.create({"name": "Revenue", "filters": {}})
        group_metrics.delete(created["id"])
        with pytest.raises(NotFound):
            group_metrics.get(created["id"])
        group_metrics.create({"name": "Revenue", "filters": {}})

    def test_group_metric_creation_order_and_offset_edges(self, group_metrics: Any) -> None:
        ids = [group_metrics.create({"name": f"m{i}", "filters": {}})["id"] for i in range(5)]
        assert _ids(group_metrics.list().results) == ids
        assert _ids(group_metrics.list(limit=2, offset=4).results) == ids[4:]
        assert group_metrics.list(limit=2, offset=5).results == []
        assert group_metrics.list(limit=2, offset=10**18).results == []


class SequenceUsageMetricContract(BackendFixtures):
    @pytest.fixture
    def usage(self, store: Store, project_id: int) -> Any:
        return store.sequence.usage_metrics(account_id=f"acct-{project_id}")

    def test_usage_metric_round_trip(self, usage: Any) -> None:
        created = usage.create(
            {
                **USAGE,
                "description": "ä\n\t\"'\\" * 100,
                "propertyFilters": {"channels": ["text", "émail"]},
                "caseSensitive": False,
                "aggregationType": "SUM",
                "aggregationProperty": "len",
            }
        )
        assert usage.get(created["id"]) == created

    def test_usage_metric_soft_delete_hides_but_keeps(self, usage: Any) -> None:
        kept = usage.create(USAGE)
        gone = usage.create(USAGE)
        deleted = usage.delete(gone["id"])
        assert deleted["deletedAt"] is not None
        with pytest.raises(NotFound):
            usage.get(gone["id"])
        with pytest.raises(NotFound):
            usage.delete(gone["id"])
        envelope = usage.list().envelope()
        assert _ids(envelope["items"]) == [kept["id"]]
        assert envelope["pagination"]["totalResultSize"] == 1

    def test_usage_metric_scope_isolation(self, store: Store, usage: Any, project_id: int) -> None:
        created = usage.create(USAGE)
        other = store.sequence.usage_metrics(account_id=f"other-{project_id}")
        with pytest.raises(NotFound):
            other.get(created["id"])
        assert other.list().count == 0

    def test_usage_metric_filters(self, usage: Any) -> None:
        a = usage.create({**USAGE, "name": "Sent MESSAGES 100%"})["id"]
        b = usage.create(
            {
                **USAGE,
                "name": "calls_x",
                "eventType": "call",
                "aggregationType": "UNIQUE",
                "aggregationProperty": "user",
            }
        )["id"]
        assert _ids(usage.list(name="messages 100%").results) == [a]
        assert _ids(usage.list(name="s_x").results) == [b]
        assert _ids(usage.list(name="%").results) == [a]
        assert _ids(usage.list(id=b.upper()).results) == [b]
        assert _ids(usage.list(eventType="call,nothing").results) == [b]
        assert _ids(usage.list(aggregationType="COUNT").results) == [a]
        assert usage.list(aggregationType="SUM").count == 0

    def test_usage_metric_cursor_edges(self, usage: Any) -> None:
        empty = usage.list(limit=3).envelope()
        assert empty == {"items": [], "pagination": {"after": None, "before": None, "totalResultSize": 0}}
        ids = [usage.create({**USAGE, "name": f"m{i}"})["id"] for i in range(6)]
        first = usage.list(limit=3).envelope()
        assert _ids(first["items"]) == ids[:3]
        assert first["pagination"]["before"] is None
        second = usage.list(limit=3, after=first["pagination"]["after"]).envelope()
        assert _ids(second["items"]) == ids[3:]
        assert second["pagination"]["after"] is None  # exactly full: nothing after
        back = usage.list(limit=3, before=second["pagination"]["before"]).envelope()
        assert _ids(back["items"]) == ids[:3]
        assert back["pagination"]["before"] is None
        assert _ids(usage.list(limit=100).results) == ids

    def test_usage_metric_same_timestamps_are_ordered_by_id(
        self, backend: Backend, clock: FakeClock, project_id: int
    ) -> None:
        clock.freeze()
        usage = Store(backend, clock=clock).sequence.usage_metrics(account_id=f"frozen-{project_id}")
        ids = [usage.create(USAGE)["id"] for _ in range(5)]
        walked: list[str] = []
        cursor = None
        while True:
            envelope = usage.list(limit=2, after=cursor).envelope()
            walked.extend(_ids(envelope["items"]))
            cursor = envelope["pagination"]["after"]
            if cursor is None:
                break
        assert walked == sorted(ids)

    def test_usage_metric_idempotency_keys_are_shared_through_the_backend(
        self, backend: Backend, clock: FakeClock, project_id: int
    ) -> None:
        account = f"idem-{project_id}"
        one = Store(backend, clock=clock).sequence.usage_metrics(account_id=account)
        two = Store(backend, clock=clock).sequence.usage_metrics(account_id=account)
        created = one.create(USAGE, idempotency_key="k1")
        assert two.create(USAGE, idempotency_key="k1") == created
        with pytest.raises(Conflict):
            two.create({**USAGE, "name": "different"}, idempotency_key="k1")
        deleted = two.delete(created["id"], idempotency_key="d1")
        assert one.delete(created["id"], idempotency_key="d1") == deleted
        assert one.list().count == 0

    def test_usage_metric_idempotency_keys_expire(self, usage: Any, clock: FakeClock) -> None:
        usage.create(USAGE, idempotency_key="k1")
        clock.advance(timedelta(hours=24))
        usage.create({**USAGE, "name": "another"}, idempotency_key="k1")
        usage.create({**USAGE, "name": "another"}, idempotency_key="k1")
        assert usage.list().count == 2

    def test_usage_metric_a_failed_write_keeps_no_key(self, usage: Any) -> None:
        created = usage.create(USAGE)
        usage.delete(created["id"])
        with pytest.raises(NotFound):
            usage.replace(created["id"], USAGE, idempotency_key="k1")
        other = usage.create(USAGE)
        assert usage.replace(other["id"], USAGE, idempotency_key="k1")["id"] == other["id"]


class StatsigMetricContract(BackendFixtures):
    @pytest.fixture
    def statsig(self, store: Store, project_id: int) -> Any:
        return store.statsig.metrics(project_id=f"p{project_id}")

    def test_statsig_metric_round_trip(self, statsig: Any) -> None:
        created = statsig.create(
            {
                **STATSIG,
                "tags": ["b", "a"],
                "warehouseNative": {"winsorizationHigh": 0.999, "cap": 1e12},
                "rollupTimeWindow": "custom",
                "customRollUpStart": 0.5,
                "customRollUpEnd": 7,
            }
        )
        assert statsig.get(created["id"]) == created
        assert statsig.get_by_name("metric", "sum") == created

    def test_statsig_metric_name_and_type_unique(self, statsig: Any) -> None:
        statsig.create(STATSIG)
        with pytest.raises(Conflict):
            statsig.create(STATSIG)
        statsig.create({**STATSIG, "type": "mean"})
        other = statsig.create({**STATSIG, "name": "other"})
        with pytest.raises(Conflict):
            statsig.update(other["id"], {"name": "metric"})
        assert statsig.list().count == 3

    def test_statsig_metric_scope_isolation(self, store: Store, statsig: Any, project_id: int) -> None:
        created = statsig.create(STATSIG)
        other = store.statsig.metrics(project_id=f"q{project_id}")
        with pytest.raises(NotFound):
            other.get(created["id"])
        assert other.create(STATSIG)["id"] == created["id"]
        assert other.list().count == 1

    def test_statsig_metric_dry_run_stores_nothing(self, statsig: Any) -> None:
        statsig.create({**STATSIG, "dryRun": True})
        assert statsig.list().count == 0

    def test_statsig_metric_component_in_use_cannot_be_deleted(self, statsig: Any) -> None:
        statsig.create(STATSIG)
        statsig.create({**STATSIG, "name": "second"})
        combo = statsig.create(
            {
                "name": "combo",
                "type": "composite_sum",
                "unitTypes": ["u"],
                "metricComponentMetrics": [{"name": "metric", "type": "sum"}, {"name": "second", "type": "sum"}],
            }
        )
        with pytest.raises(Conflict):
            statsig.delete("second::sum")
        statsig.delete(combo["id"])
        statsig.delete("second::sum")
        with pytest.raises(NotFound):
            statsig.get("second::sum")

    def test_statsig_metric_tags_filter_and_pages(self, statsig: Any) -> None:
        ids = [
            statsig.create({**STATSIG, "name": f"metric {i}", "tags": ["even" if i % 2 == 0 else "odd", "all"]})["id"]
            for i in range(5)
        ]
        assert _ids(statsig.list(tags="even").results) == ids[0::2]
        assert _ids(statsig.list(tags="odd,even").results) == ids
        assert _ids(statsig.list(page=2, limit=2).results) == ids[2:4]
        assert _ids(statsig.list(page=3, limit=2).results) == ids[4:]
        assert statsig.list(page=4, limit=2).results == []
        assert statsig.list(page=2, limit=2).envelope()["pagination"]["totalItems"] == 5
