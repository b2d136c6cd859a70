"""Properties of definition files over every valid payload the strategies generate.

The strategies generate what the vendors' create APIs accept, read-only and unknown fields
included (the vendors ignore them). A definition file is stricter, deliberately: a field the
resource does not know would be dropped by the vendor, and the state applied would silently
differ from the file. So a payload is a valid definition exactly when it holds no such field.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import metricscore as mc
from metricscore import definitions as defs
from metricscore.definitions.kinds import KINDS
from metricscore.definitions.schema import shipped_schema
from metricscore.testing.strategies import payloads

SCOPES: dict[str, dict[str, Any]] = {
    "posthog.accounts": {"project_id": 1},
    "posthog.group_usage_metrics": {"project_id": 1, "group_type_index": 2},
    "sequence.usage_metrics": {"account_id": "acc"},
    "statsig.metrics": {"project_id": "p"},
}


def _known(resource: str) -> set[str]:
    """The fields a definition of ``resource`` may hold, as the shipped JSON Schema lists them."""
    import json

    properties: dict[str, Any] = json.loads(shipped_schema())["$defs"][resource]["properties"]
    return set(properties)


def _standalone(resource: str, payload: dict[str, Any]) -> bool:
    """Statsig composites need their components: generated names would not exist."""
    return resource != "statsig.metrics" or not payload.get("metricComponentMetrics")


def _definition(resource: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A generated payload as a definition: without the vendor's dry-run field (a file refuses it)."""
    return {key: value for key, value in payload.items() if key != KINDS[resource].dry_run_key}


documents = st.sampled_from(sorted(SCOPES)).flatmap(
    lambda resource: st.tuples(
        st.just(resource),
        payloads(resource).filter(lambda p: _standalone(resource, p)).map(lambda p: _definition(resource, p)),
    )
)


def _load(resource: str, payload: dict[str, Any], name: str = "gen.json") -> defs.DefinitionSet:
    body = {"resource": resource, "scope": SCOPES[resource], "definitions": [payload]}
    return defs.loading.load_documents([defs.Document(defs.Source(name, "", True), (0,), body)])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(documents)
# The marker line joins the trimmed description ("0\r" is stored "0"), or every plan shows a change.
@example(
    (
        "sequence.usage_metrics",
        {"name": "M", "metricType": "SIMPLE", "eventType": "e", "aggregationType": "COUNT", "description": "0\r"},
    )
)
def test_apply_then_plan_and_export_then_plan_change_nothing(document: tuple[str, dict[str, Any]]) -> None:
    resource, generated = document
    payload = {key: value for key, value in generated.items() if key in _known(resource)}
    scope = SCOPES[resource]
    store = mc.open_store("memory://")
    target = defs.open_target(store)
    loaded = _load(resource, payload)
    assert loaded.problems == []
    assert defs.apply(defs.plan(loaded, target), target).ok
    assert defs.plan(loaded, target).empty, defs.plan(loaded, target).render()
    exported = defs.export(target, resource, scope)
    again = defs.loading.load_documents([defs.Document(defs.Source("export.json", "", True), (0,), exported)])
    assert again.problems == []
    assert defs.plan(again, target, prune=True).empty


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(documents, st.data())
def test_a_payload_with_fields_the_resource_does_not_know_is_refused(
    document: tuple[str, dict[str, Any]], data: st.DataObject
) -> None:
    """The generated read-only and unknown fields, and a misspelt known field, are each a problem
    naming the field; nothing of the payload is planned."""
    resource, generated = document
    known = _known(resource)
    misspelt = data.draw(st.sampled_from(sorted(known)))
    payload = {**generated, misspelt + "x": generated.get(misspelt)}
    loaded = _load(resource, payload)
    unknown = {p.field: p.message for p in loaded.problems if p.code == "unknown_field"}
    assert set(unknown) == set(payload) - known
    assert f"did you mean {misspelt}?" in unknown[misspelt + "x"]
    assert loaded.definitions == []
    assert defs.validate(loaded) != []
