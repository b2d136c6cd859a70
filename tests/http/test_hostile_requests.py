"""Requests an attacker would send (each found by fuzzing the server), on every backend.

Every request goes through a DocumentedApp: each answer must be a status the OpenAPI document lists
for the operation, with a body its schema accepts; none may be a 5xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
        assert (refused.status, refused.header("Allow")) == (405, "PUT, GET, HEAD")
    assert call(app, "GET", f"/console/v1/metrics/{created['name']}/{created['type']}", headers=console).status == 200


def test_head_is_answered_as_get_without_a_body(app: DocumentedApp, routes: Routes) -> None:
    # Found: HEAD on every read was a 405 (RFC 9110 requires HEAD wherever GET is; Django, under
    # PostHog, answers it as GET), and the 405's Allow did not offer it.
    from metricscore.http.wsgi import wsgi_app

    for path, headers in [*routes.lists, *routes.evaluations]:
        got, head = call(app, "GET", path, headers=headers), call(app, "HEAD", path, headers=headers)
        assert (head.status, head.header("Content-Type")) == (got.status, got.header("Content-Type")), path
        refused = call(app, "DELETE", path, headers=headers)
        if refused.status == 405:
            assert "HEAD" in (refused.header("Allow") or "").split(", "), path
    path, headers = routes.lists[-1]
    environ = {
        "REQUEST_METHOD": "HEAD",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        **{"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()},
    }
    started: list[Any] = []
    body = wsgi_app(app)(environ, lambda status, headers: started.append((status, dict(headers))))
    status, sent = started[0]
    assert status == "200 OK" and b"".join(body) == b""
    assert int(sent["Content-Length"]) == len(call(app, "GET", path, headers=headers).body)  # GET's length


def test_statsig_links_carry_the_request_query_correctly_encoded(app: DocumentedApp) -> None:
    # Found: nextPage/previousPage echoed the query as sent, so a space, a quote, "<" or a "%"
    # that starts no escape went into the link as it was: no valid URL. Escapes sent stay as sent.
    console = statsig(app.keys.create_statsig_key(project_id=f"p{fresh_id()}"))
    for number in range(3):
        body = {**STATSIG_METRIC, "name": f"Metric {number}"}
        assert call(app, "POST", "/console/v1/metrics", headers=console, json_body=body).status == 201
    query = "page=2&limit=1&a=b c&q=\"<x>'&p=100%&e=%2F%ff&t=x+y"
    pagination = call(app, "GET", "/console/v1/metrics/list", headers=console, query=query).json()["pagination"]
    rest = "&a=b%20c&q=%22%3Cx%3E'&p=100%25&e=%2F%ff&t=x+y"
    assert pagination["nextPage"] == f"/console/v1/metrics/list?page=3&limit=1{rest}"
    assert pagination["previousPage"] == f"/console/v1/metrics/list?page=1&limit=1{rest}"


@pytest.mark.parametrize("root", ["//evil.example", "///evil.example/", "//evil.example/mnt"])
def test_a_mount_prefix_of_several_slashes_never_links_to_another_host(app: DocumentedApp, root: str) -> None:
    # Found: a SCRIPT_NAME of "//evil.example" (gunicorn takes it from a header a trusted proxy
    # passes on) made Statsig's path links protocol-relative: "//evil.example/console/...".
    from urllib.parse import urlsplit

    from metricscore.http import Request

    console = statsig(app.keys.create_statsig_key(project_id=f"p{fresh_id()}"))
    project = fresh_id()
    posthog = bearer(app.keys.create_posthog_key(scopes=["*"], projects=[project]))
    accounts = f"/api/projects/{project}/accounts/"
    for number in range(3):
        body = {**STATSIG_METRIC, "name": f"Metric {number}"}
        assert call(app, "POST", "/console/v1/metrics", headers=console, json_body=body).status == 201
        assert call(app, "POST", accounts, headers=posthog, json_body={"name": f"a{number}"}).status == 201
    for path, query, headers in [
        ("/console/v1/metrics/list", "page=2&limit=1", console),
        (accounts, "limit=1&offset=1", posthog),
    ]:
        answer = app.handle(Request("GET", path, query, {**headers, "Host": "localhost"}, root_path=root)).json()
        links = answer.get("pagination", answer)
        for name in ("nextPage", "previousPage", "all", "next", "previous"):
            if name in links:
                link = urlsplit(links[name])
                assert link.netloc in ("", "localhost") and not link.path.startswith("//"), links[name]
                assert link.path.startswith("/evil.example"), links[name]  # still under the prefix


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("*", {"type": "invalid_request", "code": "not_found", "detail": "Not found.", "attr": None}),
        ("", {"type": "invalid_request", "code": "not_found", "detail": "Not found.", "attr": None}),
    ],
)
def test_a_path_no_route_matches_is_a_404_in_a_dialects_own_words(
    app: DocumentedApp, path: str, expected: dict[str, Any]
) -> None:
    # Found: OPTIONS * (a path without a leading slash) got {"detail": "Not found."}, no vendor's
    # body: PostHog's, the dialect of every path no other claims, answers it.
    for method in ("GET", "OPTIONS"):
        answer = call(app, method, path)
        assert (answer.status, answer.json()) == (404, expected)


@pytest.mark.parametrize(
    ("accept", "status"),
    [
        ("application/xml", 406),
        ("text/html", 406),
        ("*", 406),  # no media range
        ("text/html, application/xhtml+xml, application/xml;q=0.9, */*;q=0.8", 200),  # a browser's
        ("application/json; indent=4", 200),
        ("Application/JSON", 200),
        ("application/*", 200),
        ("", 200),
    ],
)
def test_posthog_negotiates_the_accept_header_as_drf_does(
    app: DocumentedApp, routes: Routes, accept: str, status: int
) -> None:
    # Found: PostHog's routes answered JSON whatever the Accept header said; DRF's content
    # negotiation (PostHog renders JSON only) refuses one that allows no JSON with a 406, before
    # it looks at the key. Sequence and Statsig answer JSON whatever the header says.
    refusal = {
        "type": "invalid_request",
        "code": "not_acceptable",
        "detail": "Could not satisfy the request Accept header.",
        "attr": None,
    }
    for path, headers in [*routes.lists, *routes.evaluations]:
        posthog = path.startswith("/api/") and not path.startswith("/api/usage-")
        for sent in (headers, {}):  # with the key and without
            plain = call(app, "GET", path, headers=sent)
            answer = call(app, "GET", path, headers={**sent, "Accept": accept})
            if posthog and status == 406:
                assert (answer.status, answer.json()) == (406, refusal), (path, accept)
            else:
                assert (answer.status, answer.json()) == (plain.status, plain.json()), (path, accept)


def test_the_openapi_document_answers_head_and_refuses_other_methods_in_posthogs_body(app: DocumentedApp) -> None:
    # Found: POST /openapi.json was a 405 {"detail": ...}, no vendor's body (PostHog answers for
    # every path no other dialect claims), and HEAD was refused.
    document = call(app, "GET", "/openapi.json")
    head = call(app, "HEAD", "/openapi.json")
    assert (head.status, head.header("Content-Type"), len(head.body)) == (200, "application/json", len(document.body))
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        refused = call(app, method, "/openapi.json")
        assert (refused.status, refused.header("Allow")) == (405, "GET, HEAD")
        assert refused.json() == {
            "type": "invalid_request",
            "code": "method_not_allowed",
            "detail": f'Method "{method}" not allowed.',
            "attr": None,
        }
