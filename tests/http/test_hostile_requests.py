"""Requests an attacker would send (each found by fuzzing the server), on every backend.

Every request goes through a DocumentedApp: each answer must be a status the OpenAPI document lists
for the operation, with a body its schema accepts; none may be a 5xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import metricscore as mc

pytest.importorskip("apispec", reason="needs the server extra: pip install 'metricscore[server]'")
pytest.importorskip("openapi_schema_validator", reason="needs the dev extra: pip install 'metricscore[dev]'")

from documented import DocumentedApp

from backends import BACKENDS, store_url
from metricscore.http.testing import (
    GROUP_METRIC,
    SEQUENCE_METRIC,
    STATSIG_METRIC,
    basic,
    bearer,
    call,
    fresh_id,
    statsig,
)


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DocumentedApp]:
    store = mc.open_store(store_url(request.param, tmp_path))
    yield DocumentedApp(store)
    store.close()


@dataclass
class Routes:
    """One stored metric per dialect, and the list and evaluation routes with their credentials."""

    lists: list[tuple[str, dict[str, str]]]
    evaluations: list[tuple[str, dict[str, str]]]


@pytest.fixture
def routes(app: DocumentedApp) -> Routes:
    project = fresh_id()  # a project and accounts no earlier run used (the server databases persist)
    posthog = bearer(app.keys.create_posthog_key(scopes=["*"], projects=[project]))
    sequence = basic(app.keys.create_sequence_credentials(account_id=f"acct-{project}"))
    console = statsig(app.keys.create_statsig_key(project_id=f"p{project}"))
    group_metrics = f"/api/projects/{project}/groups_types/0/metrics/"
    group = call(app, "POST", group_metrics, headers=posthog, json_body=GROUP_METRIC)
    usage = call(app, "POST", "/usage-metrics", headers=sequence, json_body=SEQUENCE_METRIC)
    metric = call(app, "POST", "/console/v1/metrics", headers=console, json_body=STATSIG_METRIC)
    assert (group.status, usage.status, metric.status) == (201, 201, 201)
    return Routes(
        lists=[
            (f"/api/environments/{project}/accounts/", posthog),
            (group_metrics, posthog),
            ("/api/usage-metrics", sequence),
            ("/api/usage-events", sequence),
            ("/console/v1/metrics/list", console),
        ],
        evaluations=[
            (f"{group_metrics}{group.json()['id']}/usage/", posthog),
            (f"/api/usage-metrics/{usage.json()['id']}/calculate", sequence),
            (f"/console/v1/metrics/{metric.json()['data']['id']}/evaluate", console),
        ],
    )


#: Query parameter names that are the names of the library calls' own arguments (``list(self,
#: **params)``, ``evaluate(self, id, *, events, **params)``) and no vendor's parameter there.
LIST_ARGUMENTS = ("self", "params")
EVALUATE_ARGUMENTS = ("self", "id", "events", "params")


def test_query_parameters_named_like_the_calls_arguments_are_ignored(app: DocumentedApp, routes: Routes) -> None:
    # Found: ?self=x on a list, ?id=x or ?events=x on an evaluation reached list(**query) and
    # evaluate(id, **query) as Python's own arguments: a TypeError, answered with a 500.
    cases = [(route, LIST_ARGUMENTS) for route in routes.lists]
    cases += [(route, EVALUATE_ARGUMENTS) for route in routes.evaluations]
    for (path, headers), names in cases:
        plain = call(app, "GET", path, headers=headers)
        for name in names:
            answer = call(app, "GET", path, headers=headers, query=f"{name}=x")
            assert (answer.status, answer.json()) == (plain.status, plain.json()), (path, name)


def test_evaluation_periods_beyond_the_calendar_are_a_400(app: DocumentedApp, routes: Routes) -> None:
    # Found: periodEnd=9999-12-31, now=0001-01-01T00:00:00Z, or date_from=0001-01-01 with a +14:00
    # day start overflowed Python's dates: a 500 (Sequence, Statsig) or a 503 (PostHog).
    queries = [
        "group_key=g&now=0001-01-01T00:00:00Z",
        "customerAliases=c&periodStart=2026-01-01&periodEnd=9999-12-31",
        "date_from=0001-01-01&date_to=0001-01-01&day_start_utc_offset=%2B14:00",
    ]
    for (path, headers), query in zip(routes.evaluations, queries, strict=True):
        assert call(app, "GET", path, headers=headers, query=query).status == 400, (path, query)


def test_a_metric_whose_type_names_an_archive_action_is_read_by_name_and_type(app: DocumentedApp) -> None:
    # Found (schemathesis): GET /console/v1/metrics/{name}/cancel_archive matched the PUT-only
    # archive route first: a 405 that GET {name}/{type} does not document.
    console = statsig(app.keys.create_statsig_key(project_id=f"p{fresh_id()}"))
    created = call(app, "POST", "/console/v1/metrics", headers=console, json_body=STATSIG_METRIC).json()["data"]
    for action in ("schedule_archive", "cancel_archive", "unarchive"):
        path = f"/console/v1/metrics/{created['name']}/{action}"
        assert call(app, "GET", path, headers=console).status == 404  # no metric of that type
        assert call(app, "PUT", path, headers=console).status == 404  # the action: no metric of that id
        refused = call(app, "DELETE", path, headers=console)
        assert (refused.status, refused.header("Allow")) == (405, "PUT, GET")
    assert call(app, "GET", f"/console/v1/metrics/{created['name']}/{created['type']}", headers=console).status == 200
