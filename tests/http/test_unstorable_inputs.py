"""NUL and lone surrogates in credentials, path ids and query values, over HTTP, on every backend.

Each is answered as the vendor answers a bad or unknown value: 401 for credentials, 404 for ids, no
match for a filter value, 400 for a cursor; never a 5xx.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

import metricscore as mc
from backends import BACKENDS, store_url
from metricscore.http import App
from metricscore.http.keys import NewKey
from metricscore.http.testing import GROUP_METRIC, SEQUENCE_METRIC, call, fresh_id

UNSTORABLE = ("\x00", "a\x00b", "\ud800", "x\udfff")


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[App]:
    store = mc.open_store(store_url(request.param, tmp_path))
    yield App(store, key_cache_seconds=0)
    store.close()


def _basic(client_id: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")
    return {"Authorization": f"Basic {encoded}"}


def test_sequence_basic_credentials(app: App) -> None:
    key = app.keys.create_sequence_credentials(account_id=f"acct-{fresh_id()}")
    assert call(app, "GET", "/usage-metrics", headers=_basic(key.client_id, key.client_secret)).status == 200
    for bad in UNSTORABLE:
        for client_id, secret in (
            (bad * 16, key.client_secret),
            (key.client_id[:-1] + bad, key.client_secret),
            (key.client_id, key.client_secret + bad),
            (key.client_id, bad),
        ):
            # A lone surrogate cannot be sent as UTF-8; a client sends its escaped bytes.
            raw = f"{client_id}:{secret}".encode("utf-8", "surrogatepass")
            headers = {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
            response = call(app, "GET", "/usage-metrics", headers=headers)
            assert response.status == 401, (client_id, secret, response.body)
            assert response.header("WWW-Authenticate") is not None


def test_posthog_and_statsig_tokens(app: App) -> None:
    project = fresh_id()
    posthog = app.keys.create_posthog_key(scopes=["*"], projects=[project])
    statsig = app.keys.create_statsig_key(project_id=f"p{project}")
    accounts = f"/api/environments/{project}/accounts/"
    for bad in UNSTORABLE:
        for token in (posthog.token + bad, "phx_" + bad * 16 + "secret", posthog.token[:-1] + bad):
            response = call(app, "GET", accounts, headers={"Authorization": f"Bearer {token}"})
            assert response.status == 401, response.body
            assert response.json()["type"] == "authentication_error"
        if bad.isascii():  # echoed in Statsig's message; encoding that is the HTTP layer's concern
            for token in (statsig.token + bad, statsig.token[:8] + bad + statsig.token[9:]):
                response = call(app, "GET", "/console/v1/metrics/list", headers={"STATSIG-API-KEY": token})
                assert response.status == 401, response.body
    assert call(app, "GET", accounts, headers={"Authorization": f"Bearer {posthog.token}"}).status == 200


def _posthog(app: App) -> tuple[int, NewKey]:
    project = fresh_id()
    return project, app.keys.create_posthog_key(scopes=["*"], projects=[project])


def test_path_ids_and_query_values(app: App) -> None:
    project, key = _posthog(app)
    headers = {"Authorization": f"Bearer {key.token}"}
    root = f"/api/environments/{project}/accounts/"
    created = call(app, "POST", root, headers=headers, json_body={"name": "Acme"}).json()
    for encoded in ("%00", "a%00b", created["id"] + "%00"):
        assert call(app, "GET", f"{root}{encoded}/", headers=headers).status == 404
        assert call(app, "DELETE", f"{root}{encoded}/", headers=headers).status == 404
        page = call(app, "GET", root, headers=headers, query=f"search={encoded}").json()
        assert page["count"] == 0, encoded
    for escaped in ("%5Cu0000", "%5Cud800", "a%5Cudfff"):  # tags=["\u0000"]: JSON escapes in the filter
        page = call(app, "GET", root, headers=headers, query=f"tags=%5B%22{escaped}%22%5D").json()
        assert page["count"] == 0, escaped
    response = call(app, "GET", root, headers=headers, query="tags=%5B%22%00%22%5D")  # a raw NUL is not JSON
    assert (response.status, response.json()["attr"]) == (400, "tags")
    assert call(app, "GET", root, headers=headers, query="search=acme").json()["count"] == 1

    sequence = app.keys.create_sequence_credentials(account_id=f"acct-{project}")
    auth = _basic(sequence.client_id, sequence.client_secret)
    assert call(app, "GET", "/usage-metrics/%00", headers=auth).status == 404
    page = call(app, "GET", "/usage-metrics", headers=auth, query="name=%00").json()
    assert page["pagination"]["totalResultSize"] == 0
    response = call(app, "GET", "/usage-metrics", headers=auth, query="after=%00")
    assert (response.status, response.json()) == (400, {"errors": [{"key": "after", "error": "Invalid cursor."}]})

    statsig = app.keys.create_statsig_key(project_id=f"p{project}")
    console = {"STATSIG-API-KEY": statsig.token}
    assert call(app, "GET", "/console/v1/metrics/%00", headers=console).status == 404
    assert call(app, "GET", "/console/v1/metrics/a%00/sum", headers=console).status == 404
    assert call(app, "GET", "/console/v1/metrics/list", headers=console, query="tags=%00").status == 200


def test_evaluation_parameters(app: App) -> None:
    # Found: on PostgreSQL a NUL in PostHog's group_key or Sequence's customerAliases reached the
    # driver: a StorageError, answered with a 503. (A lone surrogate cannot arrive in a query string:
    # it is decoded with replacement characters; tests/evaluation has the library's side.)
    project, key = _posthog(app)
    headers = {"Authorization": f"Bearer {key.token}"}
    group = f"/api/projects/{project}/groups_types/0/metrics/"
    usage = f"{group}{call(app, 'POST', group, headers=headers, json_body=GROUP_METRIC).json()['id']}/usage/"
    sequence = app.keys.create_sequence_credentials(account_id=f"acct-{project}")
    auth = _basic(sequence.client_id, sequence.client_secret)
    metric = call(app, "POST", "/usage-metrics", headers=auth, json_body=SEQUENCE_METRIC).json()
    calculate, period = f"/usage-metrics/{metric['id']}/calculate", "periodStart=2026-01-01&periodEnd=2026-02-01"
    for encoded in ("%00", "a%00b"):
        response = call(app, "GET", usage, headers=headers, query=f"group_key={encoded}")
        assert (response.status, response.json()["attr"]) == (400, "group_key"), response.body
        for aliases in (encoded, f"ok,{encoded}"):
            response = call(app, "GET", calculate, headers=auth, query=f"customerAliases={aliases}&{period}")
            assert response.status == 400, response.body
            assert [error["key"] for error in response.json()["errors"]] == ["customerAliases"]
    assert call(app, "GET", usage, headers=headers, query="group_key=g").status == 200
    assert call(app, "GET", calculate, headers=auth, query=f"customerAliases=c&{period}").status == 200
