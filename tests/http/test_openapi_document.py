"""The generated OpenAPI document is itself a valid OpenAPI 3.0 document."""

from __future__ import annotations

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
