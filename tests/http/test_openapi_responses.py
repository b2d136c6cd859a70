"""/openapi.json describes every answer: each status a route gives is documented for it, and each
body matches the documented schema (records, envelopes, each dialect's error body).

The whole shipped HttpContract runs through an App that checks every response against the document
(with ``additionalProperties: false`` added, so an undocumented key fails too); the statuses the
contract does not reach (413, 415, 500, 503) are asked for here. The Statsig record schema is compared
field by field with the seed's ExternalMetricDefinitionContractDto.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import metricscore as mc

pytest.importorskip("apispec", reason="needs the server extra: pip install 'metricscore[server]'")
validators = pytest.importorskip(
    "openapi_schema_validator", reason="needs the dev extra: pip install 'metricscore[dev]'"
)
yaml = pytest.importorskip("yaml", reason="needs the dev extra: pip install 'metricscore[dev]'")

from documented import DocumentedApp  # noqa: E402

from metricscore.http import App  # noqa: E402
from metricscore.http.posthog import POSTHOG_SCOPES  # noqa: E402
from metricscore.http.testing import HttpContract, basic, bearer, call, statsig  # noqa: E402

SEED = Path(__file__).parent.parent / "fixtures" / "statsig-read-metric-openapi.yaml"


class TestEveryContractAnswerIsDocumented(HttpContract):
    @pytest.fixture
    def app(self) -> Iterator[App]:
        store = mc.open_store("memory://")
        yield DocumentedApp(store)
        store.close()


@pytest.fixture
def app() -> Iterator[DocumentedApp]:
    store = mc.open_store("memory://")
    yield DocumentedApp(store)
    store.close()


def test_large_bodies_unsupported_media_and_storage_failures_are_documented(app: DocumentedApp) -> None:
    small = DocumentedApp(app.store)
    small.max_body = 10
    posthog = bearer(app.keys.create_posthog_key(scopes=POSTHOG_SCOPES, projects=[1]))
    sequence = basic(app.keys.create_sequence_credentials(account_id="acct"))
    statsig_key = statsig(app.keys.create_statsig_key(project_id="proj"))
    big = {"name": "x" * 50}
    assert call(small, "POST", "/api/projects/1/accounts/", headers=posthog, json_body=big).status == 413
    assert call(small, "POST", "/usage-metrics", headers=sequence, json_body=big).status == 413
    assert call(small, "POST", "/console/v1/metrics", headers=statsig_key, json_body=big).status == 413
    xml = {**posthog, "Content-Type": "application/xml"}
    assert call(app, "POST", "/api/projects/1/accounts/", headers=xml, body=b"<a/>").status == 415

    class Down(type(app.store.backend)):  # type: ignore[misc]
        def unit_of_work(self, *, write: bool = True) -> Any:
            raise mc.StorageError("database unavailable")

    down = DocumentedApp(app.store)
    down.store = mc.open_store(Down(), clock=app.store.clock)
    down.keys = app.keys
    for path, headers, status in (
        ("/api/projects/1/accounts/", posthog, 503),
        ("/usage-metrics", sequence, 500),
        ("/console/v1/metrics/list", statsig_key, 500),
    ):
        assert call(down, "GET", path, headers=headers).status == status


def test_every_operation_documents_its_success_and_errors(app: DocumentedApp) -> None:
    """No operation is left with an untyped answer: each status has a schema (but 204's empty body)."""
    for path, operations in app.document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "500"} <= set(responses), (path, method)
            for status, answer in responses.items():
                if status != "204":
                    assert "$ref" in json.dumps(answer["content"]["application/json"]["schema"]), (path, method, status)


def _compare(ours: dict[str, Any], seed: dict[str, Any], path: str, differences: list[str]) -> None:
    """Record every way ``ours`` disagrees with ``seed``; ``integer`` where the seed says ``number`` agrees."""
    seed_type, our_type = seed.get("type"), ours.get("type")
    if seed_type != our_type and not (seed_type == "number" and our_type == "integer"):
        differences.append(f"{path}: type {our_type} != {seed_type}")
    if ours.get("nullable") and not seed.get("nullable"):
        differences.append(f"{path}: nullable here only")
    if "enum" in seed and set(ours.get("enum", ())) != set(seed["enum"]):
        extra = set(ours.get("enum", ())) - set(seed["enum"])
        if set(seed["enum"]) < set(ours.get("enum", ())):
            differences.append(f"{path}: enum adds {sorted(extra)}")
        else:
            differences.append(f"{path}: enum {sorted(ours.get('enum', ()))} != {sorted(seed['enum'])}")
    optional_here = set(seed.get("required", ())) - set(ours.get("required", ()))
    if optional_here:
        differences.append(f"{path}: required {sorted(optional_here)} optional here")
    if "items" in seed:
        _compare(ours.get("items", {}), seed["items"], f"{path}[]", differences)
    seed_properties, our_properties = seed.get("properties", {}), ours.get("properties", {})
    for name in sorted(set(seed_properties) | set(our_properties)):
        if name not in our_properties:
            differences.append(f"{path}.{name}: only in the seed")
        elif name not in seed_properties:
            differences.append(f"{path}.{name}: only here")
        else:
            _compare(our_properties[name], seed_properties[name], f"{path}.{name}", differences)


def test_the_statsig_record_schema_agrees_with_the_seed_field_by_field(app: DocumentedApp) -> None:
    seed = yaml.safe_load(SEED.read_text())["components"]["schemas"]["ExternalMetricDefinitionContractDto"]
    ours = app.document["components"]["schemas"]["StatsigMetric"]
    differences: list[str] = []
    _compare(ours, seed, "StatsigMetric", differences)
    # The deliberate differences: dryRun is a request field only; archiveTime is the archive schedule;
    # criteria also take is_true / is_false, which the newer Console API spec lists and the seed does not.
    booleans = [
        f"StatsigMetric.{criteria}[].condition: enum adds ['is_false', 'is_true']"
        for criteria in (
            "metricEvents[].criteria",
            "warehouseNative.criteria",
            "warehouseNative.denominatorCriteria",
            "warehouseNative.funnelEvents[].criteria",
        )
    ]
    assert differences == ["StatsigMetric.archiveTime: only here", "StatsigMetric.dryRun: only in the seed", *booleans]


def test_the_seed_comparison_notices_a_changed_field(app: DocumentedApp) -> None:
    seed = yaml.safe_load(SEED.read_text())["components"]["schemas"]["ExternalMetricDefinitionContractDto"]
    ours = copy.deepcopy(app.document["components"]["schemas"]["StatsigMetric"])
    ours["properties"]["metricEvents"]["items"]["properties"]["criteria"]["items"]["properties"]["column"] = {
        "type": "integer"
    }
    ours["properties"]["team"].pop("nullable")
    ours["properties"]["creatorName"]["nullable"] = True
    differences: list[str] = []
    _compare(ours, seed, "S", differences)
    assert "S.metricEvents[].criteria[].column: type integer != string" in differences
    assert not any(d.startswith("S.team") for d in differences)  # never null here: agrees
    assert "S.creatorName: nullable here only" not in differences  # the seed allows null


def test_the_idempotency_key_header_is_documented_where_it_is_read(app: DocumentedApp) -> None:
    """Every create (an extension on PostHog and Statsig) and Sequence's PUT and DELETE; a key that
    is refused is a documented 400 on each of them."""
    taking = {
        (path, method)
        for path, operations in app.document["paths"].items()
        for method, operation in operations.items()
        if any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in operation.get("parameters", ()))
    }
    assert taking == {
        ("/api/environments/{project_id}/accounts/", "post"),
        ("/api/projects/{project_id}/accounts/", "post"),
        ("/api/projects/{project_id}/groups_types/{group_type_index}/metrics/", "post"),
        *((root, "post") for root in ("/api/usage-metrics", "/usage-metrics", "/api/usage-events", "/usage-events")),
        *((f"{root}/csv", "post") for root in ("/api/usage-events", "/usage-events")),
        *(
            (f"{root}/{{id}}", method)
            for root in ("/api/usage-metrics", "/usage-metrics")
            for method in ("put", "delete")
        ),
        ("/console/v1/metrics", "post"),
    }
    posthog = bearer(app.keys.create_posthog_key(scopes=POSTHOG_SCOPES, projects=[1]))
    sequence = basic(app.keys.create_sequence_credentials(account_id="acct"))
    statsig_key = statsig(app.keys.create_statsig_key(project_id="proj"))
    too_long = {"Idempotency-Key": "k" * 1000}
    for path, headers, body in (
        ("/api/projects/1/accounts/", posthog, {"name": "Acme"}),
        ("/api/projects/1/groups_types/0/metrics/", posthog, {"name": "Events", "filters": {}}),
        (
            "/usage-metrics",
            sequence,
            {"name": "n", "metricType": "SIMPLE", "eventType": "e", "aggregationType": "COUNT"},
        ),
        (
            "/console/v1/metrics",
            statsig_key,
            {**json.loads((Path(__file__).parent / "statsig_create_metric.json").read_text()), "dryRun": False},
        ),
    ):
        response = call(app, "POST", path, headers={**headers, **too_long}, json_body=body)
        assert response.status == 400 and "Idempotency-Key" in response.body.decode(), (path, response.json())
    response = call(app, "DELETE", "/usage-metrics/x", headers={**sequence, **too_long})
    assert response.status == 400 and "Idempotency-Key" in response.body.decode()


def test_list_caps_are_documented_as_max_items(app: DocumentedApp) -> None:
    from metricscore.dialects.posthog.accounts import LIMITS as POSTHOG_LIMITS
    from metricscore.dialects.statsig.schemas import LIMITS as STATSIG_LIMITS

    schemas = app.document["components"]["schemas"]
    assert schemas["PostHogAccountInput"]["properties"]["tags"]["maxItems"] == POSTHOG_LIMITS["tags"]
    assert schemas["StatsigMetricInput"]["properties"]["metricEvents"]["maxItems"] == STATSIG_LIMITS["metricEvents"]
