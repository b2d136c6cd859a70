"""The evaluation routes: Sequence's calculate endpoint and the PostHog / Statsig extensions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import metricscore as mc
from metricscore.http import App
from metricscore.http.keys import POSTHOG_SCOPES
from metricscore.http.testing import basic, bearer, call, fresh_id, statsig

T = datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[App]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'eval.db'}"
    store = mc.open_store(url)
    yield App(store)
    store.close()


def test_sequence_calculate_answers_as_the_docs_describe(app: App) -> None:
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


def test_posthog_usage_extension(app: App) -> None:
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


def test_statsig_evaluate_extension(app: App) -> None:
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


def test_the_routes_are_in_the_openapi_document(app: App) -> None:
    paths = call(app, "GET", "/openapi.json").json()["paths"]
    calculate = paths["/usage-metrics/{id}/calculate"]["get"]
    assert [p["name"] for p in calculate["parameters"] if p["in"] == "query"] == [
        "customerAliases",
        "periodStart",
        "periodEnd",
    ]
    assert "/console/v1/metrics/{id}/evaluate" in paths
    assert "/api/projects/{project_id}/groups_types/{group_type_index}/metrics/{id}/usage/" in paths
