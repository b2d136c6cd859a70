"""plan / apply / export on store targets: every backend behaves the same."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import metricscore as mc
from metricscore import definitions as defs

FILES = """\
resource: statsig.metrics
scope: {project_id: p1}
definitions:
  - name: signup rate
    type: composite
    unitTypes: [userID]
    metricComponentMetrics: [{name: signups, type: event_count_custom}]
  - name: signups
    type: event_count_custom
    unitTypes: [userID]
    metricEvents: [{name: signup}]
    tags: [growth]
---
resource: posthog.accounts
scope: {project_id: 1}
definitions:
  - {name: Acme, external_id: acme, tags: [Enterprise]}
  - {name: Globex}
---
resource: posthog.group_usage_metrics
scope: {project_id: 1, group_type_index: 0}
definitions:
  - {name: Events, filters: {events: [{id: $pageview}]}}
---
resource: sequence.usage_metrics
scope: {account_id: acc1}
definitions:
  - {name: API calls, metricType: SIMPLE, eventType: api_call, aggregationType: COUNT}
"""


@pytest.fixture(params=["memory", "sqlite", "tinydb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[mc.Store]:
    url = {
        "memory": "memory://",
        "sqlite": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "tinydb": f"tinydb:///{tmp_path / 'db.json'}",
    }[request.param]
    opened = mc.open_store(url)
    yield opened
    opened.close()


@pytest.fixture
def files(tmp_path: Path) -> Path:
    directory = tmp_path / "defs"
    directory.mkdir()
    (directory / "all.yaml").write_text(FILES)
    return directory


def edit(files: Path, old: str, new: str) -> None:
    path = files / "all.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_apply_creates_then_an_unchanged_file_plans_nothing(store: mc.Store, files: Path) -> None:
    target = defs.open_target(store)
    planned = defs.plan([files], target)
    assert planned.counts() == {"create": 6, "update": 0, "replace": 0, "remove": 0}
    # a component is created before the composite metric that uses it
    statsig = [c.key for c in planned.changes if c.kind.name == "statsig.metrics"]
    assert statsig == ["signups::event_count_custom", "signup rate::composite"]
    report = defs.apply(planned, target)
    assert report.ok and len(report.done) == 6
    metric = store.statsig.metrics(project_id="p1").get("signups::event_count_custom")
    assert metric["tags"] == ["growth", "metricscore-managed"]
    account = store.posthog.accounts(project_id=1).list(search="acme").results[0]
    assert account["tags"] == ["enterprise", "metricscore-managed"]
    usage = store.sequence.usage_metrics(account_id="acc1").list().results[0]
    assert usage["description"] == "[managed by metricscore]"
    again = defs.plan([files], target)
    assert again.empty and again.unchanged == 6


def test_updates_show_field_level_diffs_and_are_applied(store: mc.Store, files: Path) -> None:
    target = defs.open_target(store)
    defs.apply(defs.plan([files], target), target)
    edit(files, "tags: [growth]", "tags: [growth, core]\n    description: Signups")
    edit(files, "{name: Globex}", "{name: Globex, properties: {sfdc_id: s1}}")
    edit(files, "eventType: api_call,", "eventType: api_request, unit: calls,")
    edit(files, "{name: Events, filters", "{name: Events, interval: 30, filters")
    planned = defs.plan([files], target)
    diffs = {c.key: {d.field: (d.before, d.after) for d in c.diffs} for c in planned.changes}
    assert [c.action for c in planned.changes] == ["update"] * 4
    assert diffs["signups::event_count_custom"] == {
        "description": ("", "Signups"),
        "tags": (["growth"], ["growth", "core"]),
    }
    assert diffs["name=Globex"] == {"properties": ({}, {"sfdc_id": "s1"})}
    assert diffs["API calls"] == {"eventType": ("api_call", "api_request"), "unit": (None, "calls")}
    assert diffs["Events"] == {"interval": (7, 30)}
    assert defs.apply(planned, target).ok
    assert defs.plan([files], target).empty
    metric = store.statsig.metrics(project_id="p1").get("signups::event_count_custom")
    assert metric["description"] == "Signups" and "metricscore-managed" in metric["tags"]
    usage = store.sequence.usage_metrics(account_id="acc1").list().results[0]
    assert usage["eventType"] == "api_request" and usage["description"] == "[managed by metricscore]"


def test_a_statsig_field_update_cannot_change_is_a_replacement(store: mc.Store, files: Path) -> None:
    target = defs.open_target(store)
    defs.apply(defs.plan([files], target), target)
    edit(files, "metricEvents: [{name: signup}]", "metricEvents: [{name: signed_up}]")
    planned = defs.plan([files], target)
    assert [(c.action, c.key) for c in planned.changes] == [("replace", "signups::event_count_custom")]
    # the composite metric uses it, so Statsig refuses the delete: apply stops with a report
    report = defs.apply(planned, target)
    assert not report.ok and report.failed is planned.changes[0]
    assert "used by metric 'signup rate::composite'" in (report.error or "")
    assert "FAILED" in report.render() and "Stopped at the first failure" in report.render()


def test_prune_removes_only_managed_records_and_archives_statsig(store: mc.Store, files: Path) -> None:
    target = defs.open_target(store)
    defs.apply(defs.plan([files], target), target)
    unmanaged = store.posthog.accounts(project_id=1).create({"name": "Made by hand"})
    edit(files, "  - {name: Globex}\n", "")
    edit(files, "  - {name: API calls, metricType: SIMPLE, eventType: api_call, aggregationType: COUNT}\n", "  []\n")
    text = (files / "all.yaml").read_text()
    statsig_end = text.index("---")
    (files / "all.yaml").write_text(
        "resource: statsig.metrics\nscope: {project_id: p1}\ndefinitions:\n"
        "  - {name: signups, type: event_count_custom, unitTypes: [userID], metricEvents: [{name: signup}],"
        " tags: [growth]}\n" + text[statsig_end:]
    )
    assert defs.plan([files], target).empty  # without --prune nothing is removed
    planned = defs.plan([files], target, prune=True)
    removed = sorted((c.kind.name, c.key) for c in planned.changes if c.action == "remove")
    assert removed == [
        ("posthog.accounts", "name=Globex"),
        ("sequence.usage_metrics", "API calls"),
        ("statsig.metrics", "signup rate::composite"),
    ]
    assert "- archive statsig.metrics[project_id=p1] signup rate::composite" in planned.render()
    assert defs.apply(planned, target).ok
    names = [a["name"] for a in store.posthog.accounts(project_id=1).list().results]
    assert sorted(names) == ["Acme", "Made by hand"] and unmanaged["name"] in names
    assert store.sequence.usage_metrics(account_id="acc1").list().count == 0
    assert "archiveTime" in store.statsig.metrics(project_id="p1").get("signup rate::composite")
    assert defs.plan([files], target, prune=True).empty  # archived metrics are not pruned again


def test_an_archived_metric_in_the_files_is_restored(store: mc.Store, files: Path) -> None:
    target = defs.open_target(store)
    defs.apply(defs.plan([files], target), target)
    store.statsig.metrics(project_id="p1").schedule_archive("signup rate::composite")
    planned = defs.plan([files], target)
    assert [(c.action, c.restore) for c in planned.changes] == [("update", True)]
    assert defs.apply(planned, target).ok
    assert "archiveTime" not in store.statsig.metrics(project_id="p1").get("signup rate::composite")


def test_export_round_trips(store: mc.Store, files: Path, tmp_path: Path) -> None:
    target = defs.open_target(store)
    defs.apply(defs.plan([files], target), target)
    store.posthog.accounts(project_id=1).create({"name": "Made by hand", "properties": {"csm": None}})
    out = tmp_path / "exported"
    out.mkdir()
    scopes: list[tuple[str, dict[str, Any]]] = [
        ("statsig.metrics", {"project_id": "p1"}),
        ("posthog.accounts", {"project_id": 1}),
        ("posthog.group_usage_metrics", {"project_id": 1, "group_type_index": 0}),
        ("sequence.usage_metrics", {"account_id": "acc1"}),
    ]
    import json

    for index, (resource, scope) in enumerate(scopes):
        document = defs.export(target, resource, scope)
        assert all("metricscore-managed" not in json.dumps(d) for d in document["definitions"])
        (out / f"{index}.json").write_text(json.dumps(document))
    assert defs.validate([out]) == []
    planned = defs.plan([out], target, prune=True)
    assert planned.empty, planned.render()
    managed = defs.export(target, "posthog.accounts", {"project_id": 1}, managed_only=True)
    assert [d["name"] for d in managed["definitions"]] == ["Acme", "Globex"]


def test_invalid_files_are_neither_planned_nor_applied(store: mc.Store, files: Path) -> None:
    edit(files, "type: composite", "type: bogus")
    with pytest.raises(defs.DefinitionsInvalid) as raised:
        defs.plan([files], defs.open_target(store))
    assert any(p.field == "type" for p in raised.value.problems)


def test_ambiguous_natural_keys_in_the_target_are_an_error(store: mc.Store, files: Path) -> None:
    usage = store.sequence.usage_metrics(account_id="acc1")
    for _ in range(2):
        usage.create({"name": "API calls", "metricType": "SIMPLE", "eventType": "x", "aggregationType": "COUNT"})
    with pytest.raises(defs.PlanError, match=r"2 records of sequence\.usage_metrics"):
        defs.plan([files], defs.open_target(store))


def test_a_rerun_after_a_partial_apply_finishes_the_work(store: mc.Store, files: Path) -> None:
    target = defs.open_target(store)
    planned = defs.plan([files], target)
    # Someone else creates one of the records in between: the apply stops there.
    store.posthog.accounts(project_id=1).create({"name": "Other", "external_id": "acme"})
    report = defs.apply(planned, target)
    assert not report.ok and report.failed is not None and report.failed.key == "external_id=acme"
    assert [c.key for c in report.done] == ["signups::event_count_custom", "signup rate::composite"]
    assert len(report.not_done) == 3
    rerun = defs.plan([files], target)
    assert [c.action for c in rerun.changes] == ["update", "create", "create", "create"]
    assert defs.apply(rerun, target).ok and defs.plan([files], target).empty


def test_sequence_writes_carry_idempotency_keys(files: Path) -> None:
    store = mc.open_store("memory://")
    target = defs.open_target(store)
    planned = defs.plan([files], target)
    change = next(c for c in planned.changes if c.kind.name == "sequence.usage_metrics")
    assert change.idempotency_key == defs.plan([files], target).changes[-1].idempotency_key
    usage = store.sequence.usage_metrics(account_id="acc1")
    first = usage.create(change.payload, idempotency_key=change.idempotency_key)
    # The reply was lost and the same change is sent again: no second metric.
    target.collection(change.kind, change.scope).create(change.payload, idempotency_key=change.idempotency_key)
    assert [m["id"] for m in usage.list().results] == [first["id"]]
