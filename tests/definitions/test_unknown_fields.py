"""Definition files are strict: a field the resource does not know is a problem at its position.

The vendors (and metricscore's service API) ignore unknown fields; a definition file holding one
would apply something other than what it says. Fields export writes stay accepted, so an export
plans nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import metricscore as mc
from metricscore import definitions as defs
from metricscore.definitions.cli import definitions_cli
from metricscore.definitions.kinds import KINDS
from metricscore.definitions.schema import json_schema

MISSPELT = """\
resource: posthog.accounts
scope: {project_id: 1}
definitions:
  - {name: Acme, extrenal_id: acme}
---
resource: sequence.usage_metrics
scope: {account_id: acc}
definitions:
  - name: API calls
    metricType: SIMPLE
    eventType: api_call
    aggregationType: COUNT
    aggregationTyp: SUM
---
resource: statsig.metrics
scope: {project_id: p}
definitions:
  - name: signups
    type: event_count_custom
    unitTypes: [userID]
    metricEvents:
      - name: signup
        criteria: [{type: value, condition: in, valuez: [a]}]
        metadatakey: plan
"""

#: (field, its closest known name) of every unknown field of MISSPELT.
EXPECTED = {
    "extrenal_id": "external_id",
    "aggregationTyp": "aggregationType",
    "metricEvents.0.criteria.0.valuez": "values",
    "metricEvents.0.metadatakey": "metadataKey",
}


def run(*args: str) -> Any:
    return CliRunner().invoke(definitions_cli, list(args), catch_exceptions=False)


def position(text: str, key: str, occurrence: int = 0) -> tuple[int, int]:
    """1-based line and column of the ``occurrence``-th ``key:`` in ``text``, found by hand."""
    found = -1
    for number, line in enumerate(text.splitlines(), start=1):
        start = 0
        while (column := line.find(key + ":", start)) >= 0:
            if column == 0 or not (line[column - 1].isalnum() or line[column - 1] == "_"):
                found += 1
                if found == occurrence:
                    return number, column + 1
            start = column + 1
    raise AssertionError(f"{key} not in the text")


@pytest.fixture
def misspelt(tmp_path: Path) -> Path:
    path = tmp_path / "misspelt.yaml"
    path.write_text(MISSPELT)
    return path


def test_each_unknown_field_is_a_problem_at_its_position_with_the_closest_known_name(misspelt: Path) -> None:
    problems = [p for p in defs.validate([misspelt]) if p.code == "unknown_field"]
    assert {p.field for p in problems} == set(EXPECTED)
    for problem in problems:
        assert f"did you mean {EXPECTED[problem.field]}?" in problem.message
        assert (problem.line, problem.column) == position(MISSPELT, problem.field.split(".")[-1])
    # nothing of the file is valid: each definition holds an unknown field
    assert defs.load([misspelt]).definitions == []


def test_a_json_file_reports_the_same_fields_at_their_positions(tmp_path: Path) -> None:
    body = {
        "resource": "posthog.accounts",
        "scope": {"project_id": 1},
        "definitions": [{"name": "Acme", "extrenal_id": "acme"}],
    }
    text = json.dumps(body, indent=2)
    path = tmp_path / "a.json"
    path.write_text(text)
    (problem,) = defs.validate([path])
    assert (problem.field, problem.code) == ("extrenal_id", "unknown_field")
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if '"extrenal_id"' in row)
    assert (problem.line, problem.column) == (line, text.splitlines()[line - 1].index('"extrenal_id"') + 1)


def test_every_output_format_names_the_field_its_position_and_the_suggestion(misspelt: Path) -> None:
    text = run("validate", str(misspelt))
    github = run("validate", str(misspelt), "--format", "github")
    as_json = run("validate", str(misspelt), "--format", "json")
    assert text.exit_code == github.exit_code == as_json.exit_code == 1
    listed = json.loads(as_json.stdout)
    assert listed["valid"] is False
    for field, suggestion in EXPECTED.items():
        line, column = position(MISSPELT, field.split(".")[-1])
        assert f"{misspelt}:{line}:{column}: {field}: unknown field; did you mean {suggestion}? [unknown_field]" in (
            text.stdout.splitlines()
        )
        assert any(
            f"file={str(misspelt).replace(':', '%3A')},line={line},col={column}," in row
            and f"::{field}: unknown field; did you mean {suggestion}? [unknown_field]" in row
            for row in github.stdout.splitlines()
        )
        assert {
            "file": str(misspelt),
            "line": line,
            "column": column,
            "field": field,
            "message": f"unknown field; did you mean {suggestion}?",
            "code": "unknown_field",
        } in listed["problems"]


def test_the_library_reports_what_the_cli_reports_and_plan_and_apply_refuse(misspelt: Path, tmp_path: Path) -> None:
    assert [str(p) for p in defs.validate([misspelt])] == run("validate", str(misspelt)).stdout.splitlines()
    store = mc.open_store("memory://")
    target = defs.open_target(store)
    with pytest.raises(defs.DefinitionsInvalid) as info:
        defs.plan([misspelt], target)
    assert {p.field for p in info.value.problems} >= set(EXPECTED)
    assert store.posthog.accounts(project_id=1).list().count == 0
    db = tmp_path / "db.sqlite"
    planned = run("plan", str(misspelt), "--target", f"sqlite:///{db}")
    applied = run("apply", str(misspelt), "--target", f"sqlite:///{db}", "--yes")
    assert planned.exit_code == applied.exit_code == 1
    for result in (planned, applied):
        assert "extrenal_id: unknown field; did you mean external_id?" in result.stdout
    assert not db.exists() or mc.open_store(f"sqlite:///{db}").posthog.accounts(project_id=1).list().count == 0


def test_a_record_field_a_scope_field_and_a_far_off_name_say_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(
        "resource: posthog.group_usage_metrics\n"
        "scope: {project_id: 1, group_type_index: 0}\n"
        "definitions:\n"
        "  - {name: Events, filters: {anything: [goes]}, id: 7, group_type_index: 0, zzzz: 1}\n"
        "definition: []\n"
    )
    found = {p.field: p.message for p in defs.validate([path])}
    assert "the server sets it" in found["id"] and "remove it" in found["id"]
    assert "belongs in the document's scope" in found["group_type_index"]
    assert found["zzzz"] == (
        "unknown field; known fields here: display, filters, format, interval, math, math_property, name"
    )
    assert found["definition"] == "unknown field; did you mean definitions?"
    assert "filters.anything" not in found  # free-form fields are not looked into


def test_an_unknown_scope_field_is_a_problem_too(tmp_path: Path) -> None:
    text = (
        "resource: posthog.group_usage_metrics\n"
        "scope: {project_id: 1, group_type_index: 0, group_typ_index: 1}\n"
        "definitions: [{name: Events, filters: {}}]\n"
    )
    path = tmp_path / "a.yaml"
    path.write_text(text)
    (problem,) = defs.validate([path])
    assert (problem.field, problem.code) == ("scope.group_typ_index", "unknown_field")
    assert problem.message == "unknown field; did you mean group_type_index?"
    assert (problem.line, problem.column) == position(text, "group_typ_index")
    with pytest.raises(defs.DefinitionsInvalid):
        defs.plan([path], defs.open_target(mc.open_store("memory://")))


def test_the_service_api_keeps_ignoring_unknown_fields_as_the_vendors_do() -> None:
    store = mc.open_store("memory://")
    record = store.posthog.accounts(project_id=1).create({"name": "Acme", "extrenal_id": "acme", "id": "x"})
    assert record["external_id"] is None and record["id"] != "x"
    metric = store.statsig.metrics(project_id="p").create(
        {"name": "signups", "type": "event_count_custom", "unitTypes": ["u"], "metricEvents": [{"name": "s", "x": 1}]}
    )
    assert metric["metricEvents"][0]["name"] == "s" and "x" not in metric["metricEvents"][0]


def test_the_json_schema_refuses_unknown_fields_at_every_level() -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="needs the dev extra: pip install 'metricscore[dev]'")
    validator = jsonschema.Draft202012Validator(json_schema())

    def document(payload: dict[str, Any]) -> dict[str, Any]:
        return {"resource": "statsig.metrics", "scope": {"project_id": "p"}, "definitions": [payload]}

    good = {"name": "abcd", "type": "sum", "unitTypes": ["u"], "metricEvents": [{"name": "e"}]}
    assert list(validator.iter_errors(document(good))) == []
    assert list(validator.iter_errors(document({**good, "tpye": "sum"})))
    assert list(validator.iter_errors(document({**good, "metricEvents": [{"name": "e", "nmae": "x"}]})))


# -- export, then plan: nothing to change --------------------------------------------------------

#: Every resource with every field set, nested objects included.
RICH: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {
    "posthog.accounts": (
        {"project_id": 1},
        [
            {
                "name": "Acme",
                "external_id": "acme",
                "tags": ["b", "a"],
                "properties": {"csm": {"id": 7, "email": "c@example.com"}, "stripe_customer_id": "cus_1"},
            }
        ],
    ),
    "posthog.group_usage_metrics": (
        {"project_id": 1, "group_type_index": 2},
        [
            {
                "name": "Revenue",
                "format": "currency",
                "interval": 30,
                "display": "sparkline",
                "filters": {"events": [{"id": "purchase", "type": "events"}], "filter_test_accounts": True},
                "math": "sum",
                "math_property": "amount",
            }
        ],
    ),
    "sequence.usage_metrics": (
        {"account_id": "acc"},
        [
            {
                "name": "API calls",
                "description": "calls",
                "metricType": "GROUPED",
                "eventType": "api_call",
                "aggregationType": "SUM",
                "aggregationProperty": "count",
                "groupingProperty": "region",
                "propertyFilters": {"plan": ["pro"]},
                "caseSensitive": True,
                "unit": "calls",
            }
        ],
    ),
    "statsig.metrics": (
        {"project_id": "p"},
        [
            {
                "name": "revenue",
                "type": "sum",
                "description": "money",
                "tags": ["growth"],
                "team": "t",
                "teamID": "t1",
                "directionality": "decrease",
                "isVerified": True,
                "isReadOnly": True,
                "isPermanent": True,
                "unitTypes": ["userID"],
                "metricEvents": [
                    {
                        "name": "purchase",
                        "type": "value",
                        "metadataKey": "amount",
                        "criteria": [
                            {
                                "type": "metadata",
                                "condition": "in",
                                "column": "plan",
                                "values": ["pro"],
                                "nullVacuousOverride": True,
                            }
                        ],
                    }
                ],
                "warehouseNative": {
                    "aggregation": "sum",
                    "metricSourceName": "orders",
                    "criteria": [{"type": "value", "condition": ">", "values": ["1"]}],
                    "funnelEvents": [{"name": "f", "metricSourceName": "orders", "criteria": []}],
                    "winsorizationHigh": 0.99,
                },
                "rollupTimeWindow": "custom",
                "customRollUpStart": 1,
                "customRollUpEnd": 7,
            },
            {
                "name": "checkout funnel",
                "type": "funnel",
                "funnelCountDistinct": "users",
                "funnelEventList": [{"name": "a", "type": "event_dau"}, {"name": "b", "type": "event_user"}],
            },
            {
                "name": "total",
                "type": "composite_sum",
                "unitTypes": ["userID"],
                "metricComponentMetrics": [
                    {"name": n, "type": t} for n, t in (("revenue", "sum"), ("checkout funnel", "funnel"))
                ],
            },
        ],
    ),
}


def test_rich_covers_every_resource() -> None:
    assert set(RICH) == set(KINDS)


@pytest.mark.parametrize("resource", sorted(RICH))
@pytest.mark.parametrize("style", ["yaml", "json"])
def test_an_export_of_every_resource_validates_and_plans_nothing(resource: str, style: str, tmp_path: Path) -> None:
    scope, payloads = RICH[resource]
    source = tmp_path / "source.json"
    source.write_text(json.dumps({"resource": resource, "scope": scope, "definitions": payloads}))
    target = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert run("validate", str(source)).exit_code == 0
    assert run("apply", str(source), "--target", target, "--yes").exit_code == 0
    exported = tmp_path / f"exported.{style}"
    scope_options = [part for name, value in scope.items() for part in ("--scope", f"{name}={value}")]
    result = run("export", "--target", target, "--resource", resource, *scope_options, "--format", style)
    assert result.exit_code == 0
    exported.write_text(result.stdout)
    checked = run("validate", str(exported))
    assert checked.exit_code == 0, checked.stdout
    planned = run("plan", str(exported), "--target", target, "--prune")
    assert planned.exit_code == 0, planned.stdout


class _VendorTarget:
    """A store target whose records carry fields the resource's create schema does not know, at
    every level, as a vendor's may (read-only fields, and keys inside nested objects)."""

    def __init__(self, store: mc.Store) -> None:
        self.inner = defs.StoreTarget(store)
        self.description = "vendor"

    def collection(self, kind: defs.Kind, scope: Mapping[str, Any]) -> defs.Collection:
        return _VendorCollection(self.inner.collection(kind, scope))

    def close(self) -> None:
        self.inner.close()


class _VendorCollection:
    def __init__(self, inner: defs.Collection) -> None:
        self.inner = inner

    def records(self) -> Iterator[dict[str, Any]]:
        for record in self.inner.records():
            extra = {**record, "vendorOnly": 1}
            if isinstance(record.get("metricEvents"), list):
                extra["metricEvents"] = [{**event, "vendorEventId": "e1"} for event in record["metricEvents"]]
            yield extra

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def batch(self) -> AbstractContextManager[defs.Collection]:
        return self.inner.batch()


def test_fields_a_vendor_record_adds_at_any_level_are_left_out_of_an_export() -> None:
    store = mc.open_store("memory://")
    target = _VendorTarget(store)
    scope, payloads = RICH["statsig.metrics"]
    body = {"resource": "statsig.metrics", "scope": scope, "definitions": payloads}
    loaded = defs.loading.load_documents([defs.Document(defs.Source("a.json", "", True), (0,), body)])
    assert defs.apply(defs.plan(loaded, target), target).ok
    assert defs.plan(loaded, target).empty
    exported = defs.export(target, "statsig.metrics", scope)
    text = json.dumps(exported)
    assert "vendorEventId" not in text and "vendorOnly" not in text
    again = defs.loading.load_documents([defs.Document(defs.Source("b.json", "", True), (0,), dict(exported))])
    assert again.problems == []
    assert defs.plan(again, target, prune=True).empty
