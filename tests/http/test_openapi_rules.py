"""The cross-field rules the request schemas state in OpenAPI (``openapi_rules``) are the server's:
a body the document allows is accepted, and one it forbids is refused, naming the field.

Found by schemathesis: the document was looser than validation (SUM needs an aggregationProperty,
a funnel metric its funnel fields...), so most of its schema-valid bodies got a 400.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import metricscore as mc

pytest.importorskip("apispec", reason="needs the server extra: pip install 'metricscore[server]'")
validator = pytest.importorskip(
    "openapi_schema_validator", reason="needs the dev extra: pip install 'metricscore[dev]'"
)

from metricscore.http.core import App  # noqa: E402
from metricscore.http.testing import GROUP_METRIC, SEQUENCE_METRIC, STATSIG_METRIC, basic, bearer, call, statsig  # noqa: E402

EVENT = {"name": "add_to_cart", "type": "metadata"}
CRITERION = {"type": "value", "condition": ">", "values": ["1"]}
FUNNEL_STEP = {"name": "view", "type": "event_user"}
COMPONENT = {"name": "Component one", "type": "sum"}
USAGE_EVENT = {"eventType": "message_sent", "customerAlias": "acme"}
#: (component, a valid base body, a change the document allows, a change it forbids, the field named).
CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any], str]] = [
    (
        "SequenceUsageMetricInput",
        SEQUENCE_METRIC,
        {"aggregationType": "SUM", "aggregationProperty": "amount"},
        {"aggregationType": "SUM", "aggregationProperty": "  "},
        "aggregationProperty",
    ),
    (
        "SequenceUsageMetricInput",
        SEQUENCE_METRIC,
        {"aggregationType": "COUNT", "aggregationProperty": None},
        {"aggregationType": "UNIQUE"},
        "aggregationProperty",
    ),
    (
        "SequenceUsageMetricInput",
        SEQUENCE_METRIC,
        {"metricType": "GROUPED", "groupingProperty": "plan"},
        {"metricType": "GROUPED", "groupingProperty": None},
        "groupingProperty",
    ),
    (
        "StatsigMetricInput",
        STATSIG_METRIC,
        {"type": "event_user", "unitTypes": [], "metricEvents": [{**EVENT, "criteria": [CRITERION]}]},
        {"unitTypes": []},
        "unitTypes",
    ),
    (
        "PostHogGroupUsageMetricInput",
        GROUP_METRIC,
        {"math": "sum", "math_property": "$revenue"},
        {"math": "sum"},
        "math_property",
    ),
    (
        "PostHogGroupUsageMetricInput",
        GROUP_METRIC,
        {"math": "sum", "math_property": "\ufeff"},
        {"math": "sum", "math_property": "\x1c "},
        "math_property",
    ),
    (
        "PostHogGroupUsageMetricInput",
        GROUP_METRIC,
        {"math_property": "\x1c\x85 "},
        {"math_property": "$revenue"},
        "math_property",
    ),
    (
        "PostHogGroupUsageMetricInput",
        GROUP_METRIC,
        {"math": "count", "math_property": None},
        {"math": "count", "math_property": "x"},
        "math_property",
    ),
    # a number is text to PostHog (DRF's CharField), so it is a math_property, never a blank one
    (
        "PostHogGroupUsageMetricInput",
        GROUP_METRIC,
        {"math": "sum", "math_property": 5},
        {"math_property": 5},
        "math_property",
    ),
    # the length is counted once trimmed
    ("PostHogGroupUsageMetricInput", GROUP_METRIC, {"name": f" {'n' * 255}\n"}, {"name": "n" * 256}, "name"),
    ("SequenceUsageMetricInput", SEQUENCE_METRIC, {"name": " Sent\t"}, {"name": "Sent\x00"}, "name"),  # no NUL
    ("SequenceUsageMetricInput", SEQUENCE_METRIC, {"unit": "  "}, {"unit": "\x00"}, "unit"),
    ("StatsigMetricInput", STATSIG_METRIC, {"tags": "vip"}, {"tags": 5}, "tags"),
    ("StatsigMetricInput", STATSIG_METRIC, {"tags": ["  ", "vip"]}, {"tags": ["vip", ""]}, "tags"),
    ("StatsigMetricInput", STATSIG_METRIC, {"tags": ["t"] * 100}, {"tags": ["t"] * 101}, "tags"),
    ("StatsigMetricInput", STATSIG_METRIC, {"team": "Growth"}, {"team": "Gro\x00wth"}, "team"),
    ("SequenceUsageEventInput", USAGE_EVENT, {"eventType": " sent "}, {"eventType": " \n"}, "eventType"),
    ("SequenceUsageEventInput", USAGE_EVENT, {"customerAlias": "a c"}, {"customerAlias": "ac\x00"}, "customerAlias"),
    (
        "SequenceUsageEventInput",
        USAGE_EVENT,
        {"eventTimestamp": "2024-W01-1T10:00"},  # an ISO 8601 week date: no RFC 3339 date-time
        {"eventTimestamp": "2024-01-01"},
        "eventTimestamp",
    ),
    (
        "SequenceUsageEventInput",
        USAGE_EVENT,
        {"eventTimestamp": "2024-01-01 10:00:00.000000+01:00"},
        {"eventTimestamp": "2024-01-01T10:00:00.000000000000000000000000000000000000000000000000000Z"},
        "eventTimestamp",
    ),
    ("StatsigMetricInput", STATSIG_METRIC, {"name": "Revenue (USD) 50%: a/b"}, {"name": "Revenue!"}, "name"),
    ("StatsigMetricInput", STATSIG_METRIC, {"name": "    "}, {"name": "Tab\tname"}, "name"),
    (
        "StatsigMetricInput",
        STATSIG_METRIC,
        {"type": "composite", "metricEvents": [], "metricComponentMetrics": [COMPONENT]},
        {"metricEvents": []},
        "metricEvents",
    ),
    (
        "StatsigMetricInput",
        STATSIG_METRIC,
        {"type": "event_user", "metricEvents": [{**EVENT, "criteria": [CRITERION]}]},
        {"type": "event_user", "metricEvents": [EVENT]},
        "metricEvents",
    ),
    (
        "StatsigMetricInput",
        STATSIG_METRIC,
        {"type": "funnel", "funnelCountDistinct": "users", "funnelEventList": [FUNNEL_STEP, FUNNEL_STEP]},
        {"type": "funnel", "funnelCountDistinct": "users", "funnelEventList": [FUNNEL_STEP]},
        "funnelEventList",
    ),
    (
        "StatsigMetricInput",
        STATSIG_METRIC,
        {"type": "funnel", "funnelCountDistinct": "users", "funnelEventList": [FUNNEL_STEP, FUNNEL_STEP]},
        {"type": "funnel", "funnelEventList": [FUNNEL_STEP, FUNNEL_STEP]},
        "funnelCountDistinct",
    ),
    (
        "StatsigMetricInput",
        STATSIG_METRIC,
        {"type": "composite_sum", "metricComponentMetrics": [COMPONENT, {**COMPONENT, "name": "Component two"}]},
        {"type": "composite_sum", "metricComponentMetrics": [COMPONENT]},
        "metricComponentMetrics",
    ),
]


def _post(component: str, body: dict[str, Any]) -> tuple[bool, int, Any]:
    """Whether the document allows ``body``, and the server's status and answer to it."""
    app = App(mc.open_store("memory://"), statsig_limits=())
    for made in body.get("metricComponentMetrics") or ():  # a component must exist first
        app.store.statsig.metrics(project_id="p").create({**STATSIG_METRIC, **made})
    schemas = call(app, "GET", "/openapi.json").json()["components"]["schemas"]
    allowed = validator.OAS30Validator(schemas[component]).is_valid(body)
    if component.startswith("PostHog"):
        headers = bearer(app.keys.create_posthog_key(scopes=["*"], projects=[1]))
        path = "/api/projects/1/groups_types/0/metrics/"
        response = call(app, "POST", path, headers=headers, json_body=body)
    elif component.startswith("Sequence"):
        headers = basic(app.keys.create_sequence_credentials(account_id="acct"))
        path = "/usage-events" if component == "SequenceUsageEventInput" else "/usage-metrics"
        response = call(app, "POST", path, headers=headers, json_body=body)
    else:
        headers = statsig(app.keys.create_statsig_key(project_id="p"))
        response = call(app, "POST", "/console/v1/metrics", headers=headers, json_body=body)
    return allowed, response.status, response.json()


@pytest.mark.parametrize(("component", "base", "allowed", "forbidden", "field"), CASES)
def test_a_body_the_document_allows_is_accepted_and_one_it_forbids_is_refused(
    component: str, base: dict[str, Any], allowed: dict[str, Any], forbidden: dict[str, Any], field: str
) -> None:
    documented, status, answer = _post(component, {**base, **allowed})
    assert documented and status == 201, answer
    documented, status, answer = _post(component, {**base, **forbidden})
    assert not documented
    assert status == 400 and field in str(answer), answer


QUERY = {"customerAliases": "acme", "periodStart": "2024-01-01", "periodEnd": "2024-01-31"}
#: (dialect, a valid query, a parameter, a value the document allows, one it forbids).
QUERY_CASES = [
    ("sequence", QUERY, "periodStart", " 2024-01-01 ", "01/01/2024"),
    ("sequence", QUERY, "periodEnd", "2024-01-31", "2024-1-31"),
    ("sequence", QUERY, "periodStart", "\x1c2024-01-02\u3000", "2024-13-01"),  # no month 13; trimmed
    ("sequence", QUERY, "customerAliases", " ,acme", " , "),
    ("sequence", QUERY, "customerAliases", "\ufeff", "\t"),
    ("statsig", {"date_from": "2024-01-01", "date_to": "2024-01-31"}, "date_from", "2024-01-02", "yesterday"),
    ("statsig", {"date_from": "2024-01-01", "date_to": "2024-01-31"}, "date_to", "2024-01-02", "2024-01"),
]


def _query(dialect: str, query: dict[str, str], name: str, value: str) -> tuple[bool, int, Any]:
    """Whether the document allows ``name=value``, and the server's status and answer."""
    from urllib.parse import urlencode

    app = App(mc.open_store("memory://"), statsig_limits=())
    if dialect == "sequence":
        headers = basic(app.keys.create_sequence_credentials(account_id="acct"))
        made = call(app, "POST", "/usage-metrics", headers=headers, json_body=SEQUENCE_METRIC).json()["id"]
        template = "/usage-metrics/{id}/calculate"
    else:
        headers = statsig(app.keys.create_statsig_key(project_id="p"))
        made = call(app, "POST", "/console/v1/metrics", headers=headers, json_body=STATSIG_METRIC).json()["data"]["id"]
        template = "/console/v1/metrics/{id}/evaluate"
    parameters = call(app, "GET", "/openapi.json").json()["paths"][template]["get"]["parameters"]
    [parameter] = [found for found in parameters if found["name"] == name]
    allowed = validator.OAS30Validator(parameter["schema"]).is_valid(value)
    response = call(app, "GET", template.format(id=made), headers=headers, query=urlencode({**query, name: value}))
    return allowed, response.status, response.json()


@pytest.mark.parametrize(("dialect", "query", "name", "allowed", "forbidden"), QUERY_CASES)
def test_a_query_value_the_document_allows_is_accepted_and_one_it_forbids_is_refused(
    dialect: str, query: dict[str, str], name: str, allowed: str, forbidden: str
) -> None:
    documented, status, answer = _query(dialect, query, name, allowed)
    assert documented and status == 200, answer
    documented, status, answer = _query(dialect, query, name, forbidden)
    assert not documented
    assert status == 400 and name in str(answer), answer


@pytest.mark.parametrize(
    ("allowed", "forbidden"),
    [('["vip", "trial"]', '"vip"'), ("[]", "vip,trial"), (json.dumps(["t"] * 100), json.dumps(["t"] * 101))],
)
def test_a_json_tags_filter_the_document_allows_is_accepted_and_one_it_forbids_is_refused(
    allowed: str, forbidden: str
) -> None:
    from urllib.parse import urlencode

    app = App(mc.open_store("memory://"))
    headers = bearer(app.keys.create_posthog_key(scopes=["*"], projects=[1]))
    path = "/api/projects/{project_id}/accounts/"
    parameters = call(app, "GET", "/openapi.json").json()["paths"][path]["get"]["parameters"]
    [tags] = [found for found in parameters if found["name"] == "tags"]
    schema = tags["content"]["application/json"]["schema"]  # JSON in the query string

    def documented(value: str) -> bool:
        try:
            return bool(validator.OAS30Validator(schema).is_valid(json.loads(value)))
        except ValueError:
            return False

    def status(value: str) -> tuple[int, Any]:
        response = call(app, "GET", path.format(project_id=1), headers=headers, query=urlencode({"tags": value}))
        return response.status, response.json()

    assert documented(allowed) and status(allowed)[0] == 200, status(allowed)
    refused, answer = status(forbidden)
    assert not documented(forbidden) and refused == 400 and "tags" in str(answer), answer


def test_an_update_the_document_allows_is_accepted_and_one_with_another_field_is_refused() -> None:
    app = App(mc.open_store("memory://"), statsig_limits=())
    headers = statsig(app.keys.create_statsig_key(project_id="p"))
    made = call(app, "POST", "/console/v1/metrics", headers=headers, json_body=STATSIG_METRIC).json()["data"]["id"]
    schema = call(app, "GET", "/openapi.json").json()["components"]["schemas"]["StatsigMetricUpdateInput"]
    path = f"/console/v1/metrics/{made}"
    allowed = {"name": STATSIG_METRIC["name"], "description": "Changed", "dryRun": True}
    forbidden = {**allowed, "type": "mean"}
    assert validator.OAS30Validator(schema).is_valid(allowed)
    assert call(app, "POST", path, headers=headers, json_body=allowed).status == 200
    assert not validator.OAS30Validator(schema).is_valid(forbidden)
    refused = call(app, "POST", path, headers=headers, json_body=forbidden)
    assert refused.status == 400 and "type" in refused.json()["errors"], refused.json()
