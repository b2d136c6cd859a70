"""Property: whatever valid payload a file holds, apply then plan changes nothing, and so does export."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import metricscore as mc
from metricscore import definitions as defs
from metricscore.definitions.kinds import KINDS
from metricscore.testing.strategies import payloads

SCOPES: dict[str, dict[str, Any]] = {
    "posthog.accounts": {"project_id": 1},
    "posthog.group_usage_metrics": {"project_id": 1, "group_type_index": 2},
    "sequence.usage_metrics": {"account_id": "acc"},
    "statsig.metrics": {"project_id": "p"},
}


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
    resource, payload = document
    scope = SCOPES[resource]
    store = mc.open_store("memory://")
    target = defs.open_target(store)
    body = {"resource": resource, "scope": scope, "definitions": [payload]}
    loaded = defs.loading.load_documents([defs.Document(defs.Source("gen.json", "", True), (0,), body)])
    assert loaded.problems == []
    assert defs.apply(defs.plan(loaded, target), target).ok
    assert defs.plan(loaded, target).empty, defs.plan(loaded, target).render()
    exported = defs.export(target, resource, scope)
    again = defs.loading.load_documents([defs.Document(defs.Source("export.json", "", True), (0,), exported)])
    assert again.problems == []
    assert defs.plan(again, target, prune=True).empty
