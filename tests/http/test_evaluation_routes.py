"""The evaluation routes: Sequence's calculate endpoint and the PostHog / Statsig extensions.

Every request goes through a DocumentedApp: each answer (200, 400, 401, 404...) must be a status
the OpenAPI document lists for the operation, with a body its schema accepts (closed objects).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import metricscore as mc

pytest.importorskip("apispec", reason="needs the server extra: pip install 'metricscore[server]'")
pytest.importorskip("openapi_schema_validator", reason="needs the dev extra: pip install 'metricscore[dev]'")

from documented import DocumentedApp

from metricscore.http.posthog import POSTHOG_SCOPES
from metricscore.http.testing import basic, bearer, call, fresh_id, statsig

T = datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)
CALCULATE = "/usage-metrics/{id}/calculate"
USAGE = "/api/projects/{project_id}/groups_types/{group_type_index}/metrics/{id}/usage/"
EVALUATE = "/console/v1/metrics/{id}/evaluate"


@pytest.fixture(params=["memory", "sqlite"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DocumentedApp]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'eval.db'}"
    store = mc.open_store(url)
    yield DocumentedApp(store)
    store.close()


def _answered(app: DocumentedApp, template: str) -> set[int]:
    """The statuses ``template`` answered and the document checked."""
    return {status for path, method, status in app.seen if (path, method) == (template, "GET")}


def test_sequence_calculate_answers_as_the_docs_describe(app: DocumentedApp) -> None:
    account = f"acct-{fresh_id()}"
    key = app.keys.create_sequence_credentials(account_id=account)
    created = call(
        app,
        "POST",
        "/usage-metrics",
        headers=basic(key),
        json_body={
            "name": "total_messages_sent",
            "metricType": "SIMPLE",
            "eventType": "message_sent",
            "aggregationType": "SUM",
            "aggregationProperty": "bytes",
            "unit": "bytes",
        },
    ).json()
    events = app.store.sequence.usage_metrics(account_id=account).events
    events.append(
        [
            {
                "id": "0183d0f1",
                "name": "message_sent",
                "timestamp": T,
                "customer": "cust-1",
                "properties": {"bytes": "150.03"},
            },
            {
                "id": "0183ea03",
                "name": "message_sent",
                "timestamp": T,
                "customer": "alias-2",
                "properties": {"bytes": 0.005},
            },
            {
                "id": "0183ffff",
                "name": "message_sent",
                "timestamp": T + timedelta(microseconds=1),
                "customer": "cust-1",
            },
        ]
    )
    query = "customerAliases=cust-1,%20alias-2&periodStart=2026-01-01&periodEnd=2026-01-31"
    response = call(app, "GET", f"/usage-metrics/{created['id']}/calculate", headers=basic(key), query=query)
    assert response.status == 200
    assert response.json() == {
        "name": "total_messages_sent",
        "metricType": "SIMPLE",
        "eventType": "message_sent",
        "aggregationType": "SUM",
        "eventCount": 2,
        "value": 150.035,
        "unit": "bytes",
        "minEventId": "0183d0f1",
        "maxEventId": "0183ea03",
    }
    # customParameters feeds CUSTOM metrics only: any value leaves a SUM metric's answer as it is.
    for custom in ("customParameters=region:eu", "customParameters=", "customParameters=%7B%22a%22%3A1%7D"):
        with_custom = call(
            app, "GET", f"/usage-metrics/{created['id']}/calculate", headers=basic(key), query=f"{query}&{custom}"
        )
        assert (with_custom.status, with_custom.json()) == (200, response.json())
    bad = call(
        app, "GET", f"/api/usage-metrics/{created['id']}/calculate", headers=basic(key), query="periodEnd=31-01-2026"
    )
    assert bad.status == 400
    text = bad.body.decode()
    assert "customerAliases" in text and "periodStart" in text and "periodEnd" in text
    missing = call(app, "GET", "/usage-metrics/nope/calculate", headers=basic(key), query=query)
    assert missing.status == 404
    other = app.keys.create_sequence_credentials(account_id=f"acct-{fresh_id()}")
    assert (
        call(app, "GET", f"/usage-metrics/{created['id']}/calculate", headers=basic(other), query=query).status == 404
    )
    assert call(app, "GET", f"/usage-metrics/{created['id']}/calculate", query=query).status == 401
    grouped = call(
        app,
        "POST",
        "/usage-metrics",
        headers=basic(key),
        json_body={
            "name": "by_region",
            "metricType": "GROUPED",
            "eventType": "message_sent",
            "aggregationType": "COUNT",
            "groupingProperty": "region",
        },
    ).json()
    events.append(
        [{"id": "0184", "name": "message_sent", "timestamp": T, "customer": "cust-1", "properties": {"region": "eu"}}]
    )
    by_region = call(app, "GET", f"/usage-metrics/{grouped['id']}/calculate", headers=basic(key), query=query)
    assert by_region.json()["groups"] == [
        {"group": "eu", "eventCount": 1, "value": 1},
        {"group": None, "eventCount": 2, "value": 2},
    ]
    answered = _answered(app, CALCULATE) | _answered(app, "/api" + CALCULATE)
    assert answered == {200, 400, 401, 404}


def test_posthog_usage_extension(app: DocumentedApp) -> None:
    project = fresh_id()
    key = app.keys.create_posthog_key(scopes=POSTHOG_SCOPES, projects=[project], user_id=7)
    root = f"/api/projects/{project}/groups_types/0/metrics/"
    metric = call(
        app, "POST", root, headers=bearer(key), json_body={"name": "Calls", "filters": {"events": [{"id": "call"}]}}
    ).json()
    now = datetime(2025, 10, 9, 12, 11, tzinfo=UTC)
    app.store.posthog.group_usage_metrics(project_id=project, group_type_index=0).events.append(
        [
            {"id": f"c{d}", "name": "call", "timestamp": now - timedelta(days=d), "properties": {"$group_0": "acme"}}
            for d in (0, 1, 8)
        ]
    )
    response = call(
        app, "GET", f"{root}{metric['id']}/usage/", headers=bearer(key), query="group_key=acme&now=2025-10-09T12:11:00Z"
    )
    assert response.status == 200
    body = response.json()
    assert (body["value"], body["previous"], body["change_from_previous_pct"]) == (2.0, 1.0, 100.0)
    assert body["timeseries"] is None
    assert call(app, "GET", f"{root}{metric['id']}/usage/", headers=bearer(key)).status == 400
    at = "group_key=acme&now=2025-10-09T12:11:00Z"
    sparkline = call(
        app,
        "POST",
        root,
        headers=bearer(key),
        json_body={"name": "Daily", "display": "sparkline", "filters": {"events": [{"id": "call"}]}},
    ).json()
    series = call(app, "GET", f"{root}{sparkline['id']}/usage/", headers=bearer(key), query=at).json()
    assert series["timeseries"] == [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    assert series["timeseries_labels"][-1] == "2025-10-09"
    everything = call(app, "POST", root, headers=bearer(key), json_body={"name": "All", "filters": {}}).json()
    skipped = call(app, "GET", f"{root}{everything['id']}/usage/", headers=bearer(key), query=at).json()
    assert skipped == {
        "id": everything["id"],
        "name": "All",
        "skipped": True,
        "reason": "Events metrics with no real filter would scan all events; they are skipped.",
    }
    assert call(app, "GET", f"{root}missing/usage/", headers=bearer(key), query=at).status == 404
    reader = app.keys.create_posthog_key(scopes=["account:read"], projects=[project])
    assert call(app, "GET", f"{root}{metric['id']}/usage/", headers=bearer(reader), query=at).status == 403
    assert call(app, "GET", f"{root}{metric['id']}/usage/", query=at).status == 401
    assert _answered(app, USAGE) == {200, 400, 401, 403, 404}


def test_statsig_evaluate_extension(app: DocumentedApp) -> None:
    project = f"proj-{fresh_id()}"
    key = app.keys.create_statsig_key(project_id=project)
    body: dict[str, Any] = {
        "name": "checkouts",
        "type": "event_count_custom",
        "unitTypes": ["userID"],
        "metricEvents": [{"name": "checkout"}],
    }
    created = call(app, "POST", "/console/v1/metrics", headers=statsig(key), json_body=body).json()["data"]
    app.store.statsig.metrics(project_id=project).events.append(
        [{"id": "x1", "name": "checkout", "timestamp": "2026-03-01T07:59:59Z", "customer": "u1"}]
    )
    response = call(
        app,
        "GET",
        f"/console/v1/metrics/{created['id']}/evaluate",
        headers=statsig(key),
        query="date_from=2026-02-28&date_to=2026-02-28",
    )
    assert response.status == 200
    assert response.json()["data"] == [
        {"date": "2026-02-28", "unitType": "userID", "unitId": "u1", "value": 1, "numerator": None, "denominator": None}
    ]
    mean = {"name": "order_value", "type": "mean", "unitTypes": ["userID"], "metricEvents": [{"name": "purchase"}]}
    created_mean = call(app, "POST", "/console/v1/metrics", headers=statsig(key), json_body=mean).json()["data"]
    app.store.statsig.metrics(project_id=project).events.append(
        [
            {"id": f"p{i}", "name": "purchase", "timestamp": "2026-03-01T08:00:00Z", "customer": "u1", "value": v}
            for i, v in enumerate(["1.5", 2, "n/a"])
        ]
    )
    means = call(
        app,
        "GET",
        f"/console/v1/metrics/{created_mean['id']}/evaluate",
        headers=statsig(key),
        query="date_from=2026-03-01&date_to=2026-03-01&day_start_utc_offset=-08:00",
    )
    assert means.json() == {
        "message": "Metric evaluated successfully.",
        "data": [
            {
                "date": "2026-03-01",
                "unitType": "userID",
                "unitId": "u1",
                "value": 1.75,
                "numerator": 3.5,
                "denominator": 2,
            }
        ],
    }
    backwards = "date_from=2026-03-02&date_to=2026-03-01"
    assert (
        call(
            app, "GET", f"/console/v1/metrics/{created_mean['id']}/evaluate", headers=statsig(key), query=backwards
        ).status
        == 400
    )
    assert call(app, "GET", "/console/v1/metrics/missing/evaluate", headers=statsig(key), query=backwards).status == 404
    assert call(app, "GET", f"/console/v1/metrics/{created_mean['id']}/evaluate", query=backwards).status == 401
    assert _answered(app, EVALUATE) == {200, 400, 401, 404}


def test_the_routes_are_in_the_openapi_document(app: DocumentedApp) -> None:
    paths = call(app, "GET", "/openapi.json").json()["paths"]
    calculate = paths["/usage-metrics/{id}/calculate"]["get"]
    assert [p["name"] for p in calculate["parameters"] if p["in"] == "query"] == [
        "customerAliases",
        "periodStart",
        "periodEnd",
        "customParameters",
    ]
    custom = next(p for p in calculate["parameters"] if p["name"] == "customParameters")
    assert custom["required"] is False
    assert "/console/v1/metrics/{id}/evaluate" in paths
    assert "/api/projects/{project_id}/groups_types/{group_type_index}/metrics/{id}/usage/" in paths
    schemas = app.document["components"]["schemas"]
    for template, component in (
        (CALCULATE, "SequenceUsageMetricCalculation"),
        (USAGE, "PostHogGroupUsage"),
        (EVALUATE, "StatsigMetricEvaluation"),
    ):
        answer = paths[template]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert answer == {"$ref": f"#/components/schemas/{component}"}
        assert "400" in paths[template]["get"]["responses"]
    assert schemas["SequenceUsageMetricCalculation"]["properties"]["value"] == {"type": "number", "nullable": True}
    assert "groups" not in schemas["SequenceUsageMetricCalculation"]["required"]
    assert len(schemas["PostHogGroupUsage"]["anyOf"]) == 2
