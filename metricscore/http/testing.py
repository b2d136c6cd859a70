"""``HttpContract``: the HTTP behaviour users rely on, as a pytest class to subclass.

Override the ``app`` fixture to return an :class:`~metricscore.http.App` (over any backend); every
test then runs in-process through ``app.handle``, with no sockets::

    from metricscore.http.testing import HttpContract

    class TestMyServer(HttpContract):
        @pytest.fixture
        def app(self):
            return App(mc.open_store("sqlite:///:memory:"))

Each test works in projects and accounts nobody used before, so the contract also holds on a
database that other tests have written to. Tests that need a different configuration (the rate
limit) build a second ``App`` over ``app.store``.
"""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar

import pytest

from ..testing import fresh_id
from .core import App, Request, Response
from .keys import NewKey
from .posthog import POSTHOG_SCOPES
from .ratelimit import Window

__all__ = ["DialectHttpContract", "HttpContract", "conforms", "fresh_id"]

WRITE_HEADERS = {"Content-Type": "application/json"}
SEQUENCE_METRIC = {
    "aggregationType": "COUNT",
    "eventType": "message_sent",
    "metricType": "SIMPLE",
    "name": "Messages sent",
}
STATSIG_METRIC = {
    "name": "TestMetricCapi",
    "type": "sum",
    "description": "Capi Metric",
    "unitTypes": ["userID"],
    "metricEvents": [{"name": "add_to_cart", "type": "metadata"}],
}
GROUP_METRIC = {"name": "Events", "filters": {"events": [{"id": "$pageview"}]}}


def call(
    app: App,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    json_body: Any = None,
    body: bytes | None = None,
    query: str = "",
) -> Response:
    """``app.handle`` for a request built from keyword arguments (``json_body`` is encoded)."""
    all_headers = {"Host": "testserver", **(headers or {})}
    if json_body is not None:
        body = json.dumps(json_body).encode("utf-8")
        all_headers.setdefault("Content-Type", "application/json")
    return app.handle(Request(method, path, query, all_headers, body or b""))


def bearer(key: NewKey) -> dict[str, str]:
    return {"Authorization": f"Bearer {key.token}"}


def basic(key: NewKey) -> dict[str, str]:
    encoded = base64.b64encode(f"{key.client_id}:{key.client_secret}".encode()).decode("ascii")
    return {"Authorization": f"Basic {encoded}"}


def statsig(key: NewKey) -> dict[str, str]:
    return {"STATSIG-API-KEY": key.token}


class HttpContract:
    """Every endpoint's statuses, envelopes, error bodies, authentication and isolation."""

    @pytest.fixture
    def app(self) -> App:
        raise NotImplementedError("Override the `app` fixture to return a metricscore.http.App.")

    @pytest.fixture
    def project(self) -> int:
        return fresh_id()

    @pytest.fixture
    def posthog_key(self, app: App, project: int) -> NewKey:
        return app.keys.create_posthog_key(scopes=POSTHOG_SCOPES, projects=[project], user_id=7)

    @pytest.fixture
    def sequence_key(self, app: App) -> NewKey:
        return app.keys.create_sequence_credentials(account_id=f"acct-{fresh_id()}")

    @pytest.fixture
    def statsig_key(self, app: App) -> NewKey:
        return app.keys.create_statsig_key(project_id=f"proj-{fresh_id()}")

    # -- PostHog accounts ------------------------------------------------------------------------

    @pytest.mark.parametrize("root", ["environments", "projects"])
    def test_posthog_account_lifecycle(self, app: App, project: int, posthog_key: NewKey, root: str) -> None:
        base = f"/api/{root}/{project}/accounts/"
        auth = bearer(posthog_key)
        created = call(app, "POST", base, headers=auth, json_body={"name": " Acme ", "tags": ["B", "a"]})
        assert created.status == 201
        assert created.header("Content-Type") == "application/json"
        account = created.json()
        assert list(account) == [
            "id",
            "name",
            "external_id",
            "properties",
            "tags",
            "created_at",
            "created_by",
            "updated_at",
        ]
        assert (account["name"], account["tags"], account["created_by"]) == ("Acme", ["a", "b"], 7)
        item = f"{base}{account['id']}/"
        assert call(app, "GET", item, headers=auth).json() == account
        assert call(app, "GET", item.rstrip("/"), headers=auth).json() == account  # trailing slash optional
        patched = call(app, "PATCH", item, headers=auth, json_body={"name": "Acme Inc"})
        assert patched.status == 200
        assert (patched.json()["name"], patched.json()["tags"]) == ("Acme Inc", ["a", "b"])
        replaced = call(app, "PUT", item, headers=auth, json_body={"name": "Acme 2"})
        assert replaced.status == 200 and replaced.json()["name"] == "Acme 2"
        deleted = call(app, "DELETE", item, headers=auth)
        assert (deleted.status, deleted.body) == (204, b"")
        missing = call(app, "GET", item, headers=auth)
        assert missing.status == 404
        assert missing.json() == {"type": "invalid_request", "code": "not_found", "detail": "Not found.", "attr": None}

    def test_posthog_list_envelope_links_come_from_the_request_url(
        self, app: App, project: int, posthog_key: NewKey
    ) -> None:
        base = f"/api/environments/{project}/accounts/"
        for name in ("a", "b", "c", "d", "e"):
            assert call(app, "POST", base, headers=bearer(posthog_key), json_body={"name": name}).status == 201
        page = call(app, "GET", base, headers=bearer(posthog_key), query="limit=2&offset=2&search=")
        assert page.status == 200
        body = page.json()
        assert list(body) == ["count", "next", "previous", "results"]
        assert body["count"] == 5 and [r["name"] for r in body["results"]] == ["c", "b"]
        assert body["next"] == f"http://testserver{base}?limit=2&offset=4&search="
        assert body["previous"] == f"http://testserver{base}?limit=2&search="

    def test_posthog_validation_errors_show_the_first_error(self, app: App, project: int, posthog_key: NewKey) -> None:
        base = f"/api/environments/{project}/accounts/"
        response = call(app, "POST", base, headers=bearer(posthog_key), json_body={"tags": "x"})
        assert response.status == 400
        assert response.json()["type"] == "validation_error"
        assert response.json()["attr"] in ("name", "tags")
        required = call(app, "POST", base, headers=bearer(posthog_key), json_body={})
        assert required.json() == {
            "type": "validation_error",
            "code": "required",
            "detail": "This field is required.",
            "attr": "name",
        }

    @pytest.mark.parametrize("body", [b"{", b"name=string", b'{"name": "x"', b"\xff\xfe"])
    def test_posthog_malformed_json_is_a_400(self, app: App, project: int, posthog_key: NewKey, body: bytes) -> None:
        headers = {**bearer(posthog_key), **WRITE_HEADERS}
        response = call(app, "POST", f"/api/environments/{project}/accounts/", headers=headers, body=body)
        assert response.status == 400
        assert response.json()["type"] == "invalid_request"  # drf-exceptions-hog: ParseError
        assert response.json()["code"] == "parse_error"
        assert response.json()["attr"] is None

    @pytest.mark.parametrize("payload", [[], ["name"], 5, "name", None, True])
    def test_posthog_body_of_the_wrong_type_is_a_400(
        self, app: App, project: int, posthog_key: NewKey, payload: Any
    ) -> None:
        headers = {**bearer(posthog_key), **WRITE_HEADERS}
        body = json.dumps(payload).encode()
        response = call(app, "POST", f"/api/environments/{project}/accounts/", headers=headers, body=body)
        assert response.status == 400
        assert response.json()["type"] == "validation_error"

    def test_posthog_form_bodies_are_accepted(self, app: App, project: int, posthog_key: NewKey) -> None:
        headers = {**bearer(posthog_key), "Content-Type": "application/x-www-form-urlencoded"}
        response = call(app, "POST", f"/api/environments/{project}/accounts/", headers=headers, body=b"name=string")
        assert response.status == 201 and response.json()["name"] == "string"

    def test_posthog_authentication(self, app: App, project: int, posthog_key: NewKey) -> None:
        path = f"/api/environments/{project}/accounts/"
        for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Token abc"}):
            response = call(app, "GET", path, headers=headers)
            assert response.status == 401
            assert response.json() == {
                "type": "authentication_error",
                "code": "not_authenticated",
                "detail": "Authentication credentials were not provided.",
                "attr": None,
            }
        for token in ("phx_nope", posthog_key.token[:-1] + "x", "phx_" + "0" * 60):
            bad = call(app, "GET", path, headers={"Authorization": f"Bearer {token}"})
            assert bad.status == 401 and bad.json()["type"] == "authentication_error"
            assert bad.json()["code"] == "authentication_failed"  # sent but invalid: DRF's AuthenticationFailed
        assert call(app, "GET", path, headers=bearer(posthog_key)).status == 200
        assert app.keys.revoke(posthog_key.key_id)
        assert call(app, "GET", path, headers=bearer(posthog_key)).status == 401

    @pytest.mark.parametrize(
        ("method", "suffix", "scope", "allowed_status"),
        [
            ("GET", "accounts/", "account:read", 200),
            ("POST", "accounts/", "account:write", 400),  # the empty body reaches validation
            ("GET", "accounts/00000000-0000-0000-0000-000000000000/", "account:read", 404),
            ("PATCH", "accounts/00000000-0000-0000-0000-000000000000/", "account:write", 404),
            ("PUT", "accounts/00000000-0000-0000-0000-000000000000/", "account:write", 400),
            ("DELETE", "accounts/00000000-0000-0000-0000-000000000000/", "account:write", 404),
            ("GET", "groups_types/0/metrics/", "usage_metric:read", 200),
            ("POST", "groups_types/0/metrics/", "usage_metric:write", 400),
            ("GET", "groups_types/0/metrics/00000000-0000-0000-0000-000000000000/", "usage_metric:read", 404),
            ("PATCH", "groups_types/0/metrics/00000000-0000-0000-0000-000000000000/", "usage_metric:write", 404),
            ("PUT", "groups_types/0/metrics/00000000-0000-0000-0000-000000000000/", "usage_metric:write", 400),
            ("DELETE", "groups_types/0/metrics/00000000-0000-0000-0000-000000000000/", "usage_metric:write", 404),
        ],
    )
    def test_posthog_scopes_and_projects(
        self, app: App, project: int, method: str, suffix: str, scope: str, allowed_status: int
    ) -> None:
        path = f"/api/projects/{project}/{suffix}"
        others = [s for s in POSTHOG_SCOPES if s != scope]
        lacking = app.keys.create_posthog_key(scopes=others, projects=[project])
        denied = call(app, method, path, headers=bearer(lacking), json_body={})
        assert denied.status == 403
        assert denied.json() == {
            "type": "authentication_error",
            "code": "permission_denied",
            "detail": f"API key missing required scope '{scope}'",
            "attr": None,
        }
        elsewhere = app.keys.create_posthog_key(scopes=[scope], projects=[project + 1])
        foreign = call(app, method, path, headers=bearer(elsewhere), json_body={})
        assert foreign.status == 403
        assert foreign.json()["detail"] == "You don't have access to the project."
        allowed = app.keys.create_posthog_key(scopes=[scope], projects=[project])
        # Past authorisation, the request meets the handler: a page, a validation error for the
        # empty body, or a missing record, in PostHog's own body (never a 5xx).
        answer = call(app, method, path, headers=bearer(allowed), json_body={})
        assert answer.status == allowed_status, answer.json()
        if allowed_status != 200:
            assert answer.json()["type"] == ("validation_error" if allowed_status == 400 else "invalid_request")

    def test_posthog_another_projects_record_is_not_found(self, app: App, project: int) -> None:
        key = app.keys.create_posthog_key(scopes=["*"])  # every project
        created = call(app, "POST", f"/api/projects/{project}/accounts/", headers=bearer(key), json_body={"name": "a"})
        other = f"/api/projects/{project + 1}/accounts/{created.json()['id']}/"
        for method in ("GET", "PATCH", "PUT", "DELETE"):
            assert call(app, method, other, headers=bearer(key), json_body={"name": "b"}).status == 404

    def test_posthog_unknown_method_is_405(self, app: App, project: int, posthog_key: NewKey) -> None:
        response = call(app, "DELETE", f"/api/projects/{project}/accounts/", headers=bearer(posthog_key))
        assert response.status == 405
        assert response.json()["code"] == "method_not_allowed"

    # -- PostHog group usage metrics ------------------------------------------------------------

    def test_group_usage_metric_lifecycle(self, app: App, project: int, posthog_key: NewKey) -> None:
        base = f"/api/projects/{project}/groups_types/1/metrics/"
        auth = bearer(posthog_key)
        created = call(app, "POST", base, headers=auth, json_body=GROUP_METRIC)
        assert created.status == 201
        metric = created.json()
        assert list(metric) == ["id", "name", "format", "interval", "display", "filters", "math", "math_property"]
        assert (metric["format"], metric["interval"], metric["display"], metric["math"]) == (
            "numeric",
            7,
            "number",
            "count",
        )
        item = f"{base}{metric['id']}"
        assert call(app, "GET", item, headers=auth).json() == metric
        other_index = f"/api/projects/{project}/groups_types/2/metrics/{metric['id']}/"
        assert call(app, "GET", other_index, headers=auth).status == 404
        listed = call(app, "GET", base, headers=auth).json()
        assert listed["count"] == 1 and listed["results"] == [metric]
        assert call(app, "PATCH", item, headers=auth, json_body={"interval": 30}).json()["interval"] == 30
        assert call(app, "PUT", item, headers=auth, json_body=GROUP_METRIC).json()["interval"] == 7
        duplicate = call(app, "POST", base, headers=auth, json_body=GROUP_METRIC)
        assert duplicate.status == 400 and (duplicate.json()["code"], duplicate.json()["attr"]) == ("unique", "name")
        rule = call(app, "POST", base, headers=auth, json_body={**GROUP_METRIC, "name": "s", "math": "sum"})
        assert rule.status == 400 and rule.json()["attr"] == "math_property"
        assert call(app, "DELETE", item, headers=auth).status == 204
        assert call(app, "GET", item, headers=auth).status == 404

    def test_group_type_index_must_be_an_index(self, app: App, project: int, posthog_key: NewKey) -> None:
        for index in ("x", "-1", "99"):
            path = f"/api/projects/{project}/groups_types/{index}/metrics/"
            assert call(app, "GET", path, headers=bearer(posthog_key)).status == 404

    # -- Sequence --------------------------------------------------------------------------------

    @pytest.mark.parametrize("root", ["/api/usage-metrics", "/usage-metrics"])
    def test_sequence_lifecycle(self, app: App, sequence_key: NewKey, root: str) -> None:
        auth = basic(sequence_key)
        created = call(app, "POST", root, headers=auth, json_body=SEQUENCE_METRIC)
        assert created.status == 201
        metric = created.json()
        assert metric["sequenceAccountId"] == sequence_key.key.subject
        assert (metric["propertyFilters"], metric["caseSensitive"], metric["deletedAt"]) == ({}, True, None)
        item = f"{root}/{metric['id']}"
        assert call(app, "GET", item, headers=auth).json() == metric
        replaced = call(app, "PUT", item, headers=auth, json_body={**SEQUENCE_METRIC, "name": "Renamed"})
        assert replaced.status == 200 and replaced.json()["name"] == "Renamed"
        listed = call(app, "GET", root, headers=auth, query="limit=10").json()
        assert listed["items"] == [replaced.json()]
        assert listed["pagination"] == {"after": None, "before": None, "totalResultSize": 1}
        deleted = call(app, "DELETE", item, headers=auth)
        assert deleted.status == 200 and deleted.json()["deletedAt"] is not None
        assert call(app, "GET", item, headers=auth).status == 404
        assert call(app, "GET", root, headers=auth).json()["items"] == []

    def test_sequence_errors(self, app: App, sequence_key: NewKey) -> None:
        auth = basic(sequence_key)
        invalid = call(app, "POST", "/api/usage-metrics", headers=auth, json_body={"metricType": "X"})
        assert invalid.status == 400
        keys = {error["key"] for error in invalid.json()["errors"]}
        assert {"name", "metricType", "eventType", "aggregationType"} <= keys
        malformed = call(app, "POST", "/api/usage-metrics", headers=auth, body=b"[1,")
        assert malformed.status == 400 and list(malformed.json()) == ["errors"]
        assert call(app, "GET", "/api/usage-metrics", headers=auth, query="limit=0").status == 400
        assert call(app, "GET", "/api/usage-metrics/nope", headers=auth).status == 404
        assert call(app, "PATCH", "/api/usage-metrics/nope", headers=auth).status == 405

    def test_sequence_authentication_and_isolation(self, app: App, sequence_key: NewKey) -> None:
        wrong_secret = base64.b64encode(f"{sequence_key.client_id}:nope".encode()).decode()
        for headers in ({}, {"Authorization": f"Basic {wrong_secret}"}, {"Authorization": "Basic !!"}):
            response = call(app, "GET", "/api/usage-metrics", headers=headers)
            assert response.status == 401 and list(response.json()) == ["errors"]
        created = call(app, "POST", "/api/usage-metrics", headers=basic(sequence_key), json_body=SEQUENCE_METRIC)
        other = app.keys.create_sequence_credentials(account_id=f"acct-{fresh_id()}")
        assert call(app, "GET", f"/api/usage-metrics/{created.json()['id']}", headers=basic(other)).status == 404
        assert call(app, "GET", "/api/usage-metrics", headers=basic(other)).json()["items"] == []
        app.keys.revoke(sequence_key.client_id)
        assert call(app, "GET", "/api/usage-metrics", headers=basic(sequence_key)).status == 401

    def test_sequence_idempotency_key(self, app: App, sequence_key: NewKey) -> None:
        headers = {**basic(sequence_key), "Idempotency-Key": "create-1"}
        first = call(app, "POST", "/api/usage-metrics", headers=headers, json_body=SEQUENCE_METRIC)
        again = call(app, "POST", "/api/usage-metrics", headers=headers, json_body=SEQUENCE_METRIC)
        assert (first.status, again.status) == (201, 201) and first.json() == again.json()
        listed = call(app, "GET", "/api/usage-metrics", headers=basic(sequence_key)).json()
        assert listed["pagination"]["totalResultSize"] == 1
        renamed = {**SEQUENCE_METRIC, "name": "x"}
        other_body = call(app, "POST", "/api/usage-metrics", headers=headers, json_body=renamed)
        assert other_body.status == 409
        item = f"/api/usage-metrics/{first.json()['id']}"
        delete_headers = {**basic(sequence_key), "Idempotency-Key": "delete-1"}
        deleted = call(app, "DELETE", item, headers=delete_headers)
        assert call(app, "DELETE", item, headers=delete_headers).json() == deleted.json()

    # -- Statsig ---------------------------------------------------------------------------------

    def test_statsig_lifecycle(self, app: App, statsig_key: NewKey) -> None:
        auth = statsig(statsig_key)
        created = call(app, "POST", "/console/v1/metrics", headers=auth, json_body=STATSIG_METRIC)
        assert created.status == 201
        body = created.json()
        assert body["message"] == "Metric created successfully."
        assert body["data"]["id"] == "TestMetricCapi::sum"
        assert body["data"]["creatorName"] == "CONSOLE API"
        assert body["data"]["lineage"] == {"events": ["add_to_cart"], "metrics": []}
        read = call(app, "GET", "/console/v1/metrics/TestMetricCapi::sum", headers=auth)
        assert read.status == 200 and read.json() == {"message": "Metric read successfully.", "data": body["data"]}
        by_name = call(app, "GET", "/console/v1/metrics/TestMetricCapi/sum", headers=auth)
        assert by_name.json()["data"]["id"] == "TestMetricCapi::sum"
        updated = call(
            app, "POST", "/console/v1/metrics/TestMetricCapi::sum", headers=auth, json_body={"description": "new"}
        )
        assert updated.status == 200 and updated.json()["message"] == "Metric updated successfully."
        assert updated.json()["data"]["description"] == "new"
        refused = call(app, "POST", "/console/v1/metrics/TestMetricCapi::sum", headers=auth, json_body={"type": "mean"})
        assert refused.status == 400 and refused.json()["status"] == 400 and "type" in refused.json()["errors"]
        for action in ("schedule_archive", "cancel_archive"):
            response = call(app, "PUT", f"/console/v1/metrics/TestMetricCapi::sum/{action}", headers=auth)
            assert response.status == 200 and response.json()["message"].startswith("Metric ")
        listed = call(app, "GET", "/console/v1/metrics/list", headers=auth, query="page=1&limit=5").json()
        assert listed["message"] == "Metrics listed successfully."
        assert listed["pagination"] == {
            "itemsPerPage": 5,
            "pageNumber": 1,
            "totalItems": 1,
            "nextPage": None,
            "previousPage": None,
            "all": "/console/v1/metrics/list",
        }
        deleted = call(app, "DELETE", "/console/v1/metrics/TestMetricCapi::sum", headers=auth)
        assert (deleted.status, deleted.json()) == (200, {"message": "Metric deleted successfully."})
        missing = call(app, "GET", "/console/v1/metrics/TestMetricCapi::sum", headers=auth)
        assert (missing.status, missing.json()) == (
            404,
            {"status": 404, "message": "Not Found. The requested resource could not be found."},
        )

    def test_statsig_dry_run_stores_nothing(self, app: App, statsig_key: NewKey) -> None:
        auth = statsig(statsig_key)
        dry = call(app, "POST", "/console/v1/metrics", headers=auth, json_body={**STATSIG_METRIC, "dryRun": True})
        assert dry.status == 201 and dry.json()["data"]["id"] == "TestMetricCapi::sum"
        assert call(app, "GET", "/console/v1/metrics/TestMetricCapi::sum", headers=auth).status == 404

    def test_statsig_names_with_slashes_are_percent_encoded(self, app: App, statsig_key: NewKey) -> None:
        auth = statsig(statsig_key)
        metric = {**STATSIG_METRIC, "name": "a/b c"}
        assert call(app, "POST", "/console/v1/metrics", headers=auth, json_body=metric).status == 201
        read = call(app, "GET", "/console/v1/metrics/a%2Fb%20c::sum", headers=auth)
        assert read.status == 200 and read.json()["data"]["name"] == "a/b c"

    def test_statsig_errors(self, app: App, statsig_key: NewKey) -> None:
        auth = statsig(statsig_key)
        invalid = call(app, "POST", "/console/v1/metrics", headers=auth, json_body={"name": "ab", "type": "sum"})
        assert invalid.status == 400
        assert invalid.json()["message"] == "Invalid request. Please check the request input and try again."
        assert {"name", "unitTypes", "metricEvents"} <= set(invalid.json()["errors"])
        malformed = call(app, "POST", "/console/v1/metrics", headers=auth, body=b"{nope")
        assert malformed.status == 400 and malformed.json()["status"] == 400
        wrong_type = call(app, "POST", "/console/v1/metrics", headers=auth, json_body=["x"])
        assert wrong_type.status == 400 and wrong_type.json()["status"] == 400
        assert call(app, "POST", "/console/v1/metrics", headers=auth, json_body=STATSIG_METRIC).status == 201
        assert call(app, "POST", "/console/v1/metrics", headers=auth, json_body=STATSIG_METRIC).status == 409

    def test_statsig_authentication_and_isolation(self, app: App, statsig_key: NewKey) -> None:
        for sent in ("", "console-nope", "secret-abc"):
            headers = {"STATSIG-API-KEY": sent} if sent else {}
            response = call(app, "GET", "/console/v1/metrics/list", headers=headers)
            assert response.status == 401
            assert response.json() == {
                "status": 401,
                "message": "This endpoint only accepts an active CONSOLE key, but an invalid key was sent. Key: "
                + sent,
            }
        call(app, "POST", "/console/v1/metrics", headers=statsig(statsig_key), json_body=STATSIG_METRIC)
        other = app.keys.create_statsig_key(project_id=f"proj-{fresh_id()}")
        assert call(app, "GET", "/console/v1/metrics/TestMetricCapi::sum", headers=statsig(other)).status == 404
        assert call(app, "GET", "/console/v1/metrics/list", headers=statsig(other)).json()["data"] == []

    def test_statsig_mutation_rate_limit(self, app: App) -> None:
        limited = App(app.store, statsig_limits=(Window(3, 3600),))
        key = limited.keys.create_statsig_key(project_id=f"proj-{fresh_id()}")
        auth = statsig(key)
        for index in range(3):
            metric = {**STATSIG_METRIC, "name": f"metric{index}"}
            assert call(limited, "POST", "/console/v1/metrics", headers=auth, json_body=metric).status == 201
        refused = call(limited, "POST", "/console/v1/metrics", headers=auth, json_body=STATSIG_METRIC)
        assert refused.status == 429
        assert refused.json()["status"] == 429
        retry_after = refused.header("Retry-After")
        assert retry_after is not None and int(retry_after) >= 1
        assert call(limited, "GET", "/console/v1/metrics/list", headers=auth).status == 200  # reads are not limited
        other = limited.keys.create_statsig_key(project_id=f"proj-{fresh_id()}")
        elsewhere = call(limited, "POST", "/console/v1/metrics", headers=statsig(other), json_body=STATSIG_METRIC)
        assert elsewhere.status == 201

    # -- everything ------------------------------------------------------------------------------

    def test_unknown_paths_are_404(self, app: App) -> None:
        """A path no route matches is a 404 in the format of the dialect its prefix suggests."""
        posthog_404 = {"type": "invalid_request", "code": "not_found", "detail": "Not found.", "attr": None}
        for path in ("/", "/api/nope", "/api/environments/1/nope/"):
            response = call(app, "GET", path)
            assert (response.status, response.json()) == (404, posthog_404), path
        statsig_404 = call(app, "GET", "/console/v1/gates")
        assert (statsig_404.status, statsig_404.json()) == (404, {"status": 404, "message": "Not found."})
        sequence_404 = call(app, "GET", "/usage-metrics/a/b")
        assert (sequence_404.status, sequence_404.json()) == (404, {"errors": [{"key": "", "error": "Not found."}]})

    def test_a_project_id_that_is_no_number_is_404_once_authenticated(self, app: App, posthog_key: NewKey) -> None:
        path = "/api/environments/abc/accounts/"
        assert call(app, "GET", path).status == 401  # the route matches: credentials come first
        response = call(app, "GET", path, headers=bearer(posthog_key))
        assert response.status == 404 and response.json()["code"] == "not_found"

    def test_openapi_document_lists_every_route(self, app: App) -> None:
        response = call(app, "GET", "/openapi.json")
        assert response.status == 200
        document = response.json()
        assert document["openapi"].startswith("3.")
        for route in app.routes:
            assert route.template in document["paths"], route.template
            for method in route.operations:
                assert method.lower() in document["paths"][route.template]


def conforms(value: Any, schema: dict[str, Any]) -> bool:
    """Whether ``value`` has the object shape ``schema`` documents: its type, required keys and the
    declared types of the properties it has (enough to tell one dialect's error body from another's)."""
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict) or not set(schema.get("required", ())) <= set(value):
            return False
        properties = schema.get("properties", {})
        return all(conforms(value[key], properties[key]) for key in value if key in properties)
    simple: dict[str, type | tuple[type, ...]] = {
        "string": str,
        "integer": int,
        "array": list,
        "boolean": bool,
        "number": (int, float),
    }
    if kind in simple:
        return (value is None and bool(schema.get("nullable"))) or isinstance(value, simple[str(kind)])
    return True


class DialectHttpContract:
    """What any dialect's HTTP face promises (a built-in's or a third party's), as a pytest class.

    Override ``app``, ``headers`` (valid credentials: a key made with ``app.keys.create``) and the
    class attributes: ``dialect`` (its name), ``collection`` (a path that lists and creates),
    ``valid`` and ``invalid`` payloads. Every error body must conform to the dialect's documented
    error schema, and ``/openapi.json`` must document every route with its security scheme.
    """

    dialect: ClassVar[str]
    collection: ClassVar[str]
    valid: ClassVar[dict[str, Any]]
    invalid: ClassVar[Any]

    @pytest.fixture
    def app(self) -> App:
        raise NotImplementedError("Override the `app` fixture to return an App.")

    @pytest.fixture
    def headers(self, app: App) -> dict[str, str]:
        raise NotImplementedError("Override `headers`: the headers of valid credentials.")

    def _error_schema(self, app: App) -> dict[str, Any]:
        return app.dialects[self.dialect].error_schema[1]

    def test_lifecycle(self, app: App, headers: dict[str, str]) -> None:
        created = call(app, "POST", self.collection, headers=headers, json_body=self.valid)
        assert created.status == 201, created.json()
        item = f"{self.collection.rstrip('/')}/{created.json()['id']}"
        assert call(app, "GET", item, headers=headers).json() == created.json()
        listed = call(app, "GET", self.collection, headers=headers)
        assert listed.status == 200 and created.json() in _values(listed.json()), listed.json()
        assert call(app, "DELETE", item, headers=headers).status in (200, 204)
        gone = call(app, "GET", item, headers=headers)
        assert gone.status == 404 and conforms(gone.json(), self._error_schema(app)), gone.json()

    def test_credentials_are_required(self, app: App, headers: dict[str, str]) -> None:
        for sent in ({}, {name: value + "x" for name, value in headers.items()}):
            refused = call(app, "GET", self.collection, headers=sent)
            assert refused.status == 401 and conforms(refused.json(), self._error_schema(app)), refused.json()

    def test_an_invalid_body_is_a_400_in_the_dialects_format(self, app: App, headers: dict[str, str]) -> None:
        body: Any
        for body in (self.invalid, [], "x"):
            refused = call(app, "POST", self.collection, headers=headers, json_body=body)
            assert refused.status == 400 and conforms(refused.json(), self._error_schema(app)), refused.json()
        listed = call(app, "GET", self.collection, headers=headers)
        assert listed.status == 200

    def test_an_unknown_path_of_the_dialect_is_its_404(self, app: App) -> None:
        face = app.dialects[self.dialect]
        for prefix in face.prefixes:
            missing = call(app, "GET", prefix.rstrip("/") + "/no/such/route/here")
            assert missing.status == 404 and conforms(missing.json(), self._error_schema(app)), missing.json()

    def test_the_openapi_document_documents_its_routes(self, app: App) -> None:
        document = call(app, "GET", "/openapi.json").json()
        face = app.dialects[self.dialect]
        scheme, error = face.security_scheme[0], face.error_schema[0]
        assert scheme in document["components"]["securitySchemes"]
        assert error in document["components"]["schemas"]
        routes = [route for route in app.routes if route.dialect == self.dialect]
        assert routes
        for route in routes:
            for method in route.operations:
                entry = document["paths"][route.template][method.lower()]
                assert entry["security"] == [{scheme: []}]
                assert entry["responses"]["401"]["content"]["application/json"]["schema"] == {
                    "$ref": f"#/components/schemas/{error}"
                }


def _values(value: Any) -> list[Any]:
    """Every dict nested in ``value`` (to find a record inside any list envelope)."""
    found: list[Any] = []
    if isinstance(value, dict):
        found.append(value)
        for inner in value.values():
            found += _values(inner)
    elif isinstance(value, list):
        for inner in value:
            found += _values(inner)
    return found
