"""The generated OpenAPI document is itself a valid OpenAPI 3.0 document."""

from __future__ import annotations

from typing import Any

import pytest

import metricscore as mc

pytest.importorskip("apispec", reason="needs the server extra: pip install 'metricscore[server]'")
validator = pytest.importorskip("openapi_spec_validator", reason="needs the dev extra: pip install 'metricscore[dev]'")

from metricscore.http.core import App  # noqa: E402
from metricscore.http.testing import call  # noqa: E402


def test_the_document_validates_against_the_openapi_30_schema() -> None:
    response = call(App(mc.open_store("memory://")), "GET", "/openapi.json")
    assert response.status == 200
    document = response.json()
    validator.validate(document)  # raises on any violation of the OpenAPI 3.0 schema
    # One path per seed endpoint family: PostHog (both prefixes), Sequence, Statsig.
    assert {
        "/api/environments/{project_id}/accounts/{id}/",
        "/api/projects/{project_id}/accounts/{id}/",
        "/api/projects/{project_id}/groups_types/{group_type_index}/metrics/{id}/",
        "/usage-metrics/{id}",
        "/console/v1/metrics/list",
        "/console/v1/metrics/{name}/{type}",
        "/console/v1/metrics/{id}/schedule_archive",
    } <= set(document["paths"])


def _resolve(expression: str, params: dict[str, str], body: Any) -> Any:
    """A link parameter's runtime expression: ``$request.path.<name>`` or ``$response.body#/<pointer>``."""
    if expression.startswith("$request.path."):
        return params[expression.removeprefix("$request.path.")]
    found = body
    for key in expression.removeprefix("$response.body#/").split("/"):
        found = found[key]
    return found


def test_creates_link_to_the_operations_on_the_record_they_made() -> None:
    from metricscore.http.testing import GROUP_METRIC, SEQUENCE_METRIC, STATSIG_METRIC, basic, bearer, statsig

    app = App(mc.open_store("memory://"))
    document = call(app, "GET", "/openapi.json").json()
    by_id = {
        entry["operationId"]: (path, method) for path, ops in document["paths"].items() for method, entry in ops.items()
    }
    posthog = bearer(app.keys.create_posthog_key(scopes=["*"], projects=[1]))
    creates = {  # collection template -> (its path parameters, credentials, a valid body)
        "/api/environments/{project_id}/accounts/": ({"project_id": "1"}, posthog, {"name": "Acme"}),
        "/api/projects/{project_id}/accounts/": ({"project_id": "1"}, posthog, {"name": "Acme"}),
        "/api/projects/{project_id}/groups_types/{group_type_index}/metrics/": (
            {"project_id": "1", "group_type_index": "0"},
            posthog,
            GROUP_METRIC,
        ),
        "/api/usage-metrics": ({}, basic(app.keys.create_sequence_credentials(account_id="a")), SEQUENCE_METRIC),
        "/usage-metrics": ({}, basic(app.keys.create_sequence_credentials(account_id="b")), SEQUENCE_METRIC),
        "/console/v1/metrics": ({}, statsig(app.keys.create_statsig_key(project_id="p")), STATSIG_METRIC),
    }
    followed: set[str] = set()
    for template, (params, headers, body) in creates.items():
        created = call(app, "POST", template.format(**params), headers=headers, json_body=body)
        links = document["paths"][template]["post"]["responses"][str(created.status)]["links"]
        for link in links.values():
            path, method = by_id[link["operationId"]]
            values = {name: _resolve(value, params, created.json()) for name, value in link["parameters"].items()}
            if method == "get":  # reads: the record the link names is found
                answer = call(app, "GET", path.format(**values), headers=headers)
                assert answer.status != 404, (link, answer.json())
            followed.add(path)
    # Every operation on a record is reached from its create.
    assert {path for path in document["paths"] if "{id}" in path} == followed


def test_the_request_schemas_refuse_the_blank_strings_the_server_refuses() -> None:
    # Found: schemathesis sent whitespace-only names the document allowed and the server refused as
    # blank ("Schema validation mismatch"), so its stateful runs rarely created anything to follow.
    from openapi_schema_validator import OAS30Validator

    from metricscore.http.testing import GROUP_METRIC, SEQUENCE_METRIC, STATSIG_METRIC

    store = mc.open_store("memory://")
    components = call(App(store), "GET", "/openapi.json").json()["components"]["schemas"]
    cases = [
        ("PostHogAccountInput", store.posthog.accounts(project_id=1), {"name": "Acme"}),
        (
            "PostHogGroupUsageMetricInput",
            store.posthog.group_usage_metrics(project_id=1, group_type_index=0),
            GROUP_METRIC,
        ),
        ("SequenceUsageMetricInput", store.sequence.usage_metrics(account_id="a"), SEQUENCE_METRIC),
        ("StatsigMetricInput", store.statsig.metrics(project_id="p"), STATSIG_METRIC),
    ]
    checked = 0
    for component, service, valid in cases:
        for name, schema in components[component]["properties"].items():
            if schema.get("type") != "string" or "enum" in schema:
                continue
            try:
                service.validate({**valid, name: "   "})
                server_refuses = False
            except mc.ValidationError as error:
                server_refuses = name in error.errors
            assert OAS30Validator(schema).is_valid("   ") is not server_refuses, (component, name, schema)
            checked += 1
    assert checked >= 8


def test_required_query_parameters_are_documented_non_empty() -> None:
    # The server answers an empty group_key, customerAliases, periodStart... as missing (a 400).
    from openapi_schema_validator import OAS30Validator

    document = call(App(mc.open_store("memory://")), "GET", "/openapi.json").json()
    required = [
        parameter
        for operations in document["paths"].values()
        for entry in operations.values()
        for parameter in entry.get("parameters", [])
        if parameter["in"] == "query" and parameter["required"]
    ]
    assert {parameter["name"] for parameter in required} >= {"group_key", "customerAliases", "date_from"}
    assert not any(OAS30Validator(parameter["schema"]).is_valid("") for parameter in required)
