"""The HTTP core knows no vendor: App serves the dialects it is given, each through its HttpDialect."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metricscore as mc
import metricscore.http
from metricscore.http import App, HttpDialect
from metricscore.http.testing import STATSIG_METRIC, bearer, call, statsig

#: The modules of the HTTP core: every vendor's face lives in its own module beside them.
CORE = ("core.py", "dialect.py", "openapi.py", "types.py", "wsgi.py", "asgi.py", "serve.py", "links.py")


@pytest.mark.parametrize("module", CORE)
def test_the_http_core_names_no_vendor_in_code(module: str) -> None:
    tree = ast.parse((Path(metricscore.http.__file__).parent / module).read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value
        elif isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.alias):
            text = node.name
        elif isinstance(node, ast.ImportFrom):
            text = node.module
        if (text and any(vendor in text.lower() for vendor in ("posthog", "statsig"))) or text in ("sequence",):
            found.append((node.lineno if hasattr(node, "lineno") else 0, text))
    assert found == []


def test_an_app_serves_only_the_dialects_it_is_given() -> None:
    app = App(mc.open_store("memory://"), dialects=["statsig"])
    assert list(app.dialects) == ["statsig"] and {route.dialect for route in app.routes} == {"statsig"}
    assert all(isinstance(face, HttpDialect) for face in app.dialects.values())
    key = app.keys.create("statsig", subject="p1")
    assert call(app, "GET", "/console/v1/metrics/list", headers=statsig(key)).status == 200
    posthog_key = app.keys.create_posthog_key(scopes=["*"])
    # PostHog is not served: its paths are nobody's, and the answer is the plain fallback body.
    missing = call(app, "GET", "/api/environments/1/accounts/", headers=bearer(posthog_key))
    assert (missing.status, missing.json()) == (404, {"detail": "Not found."})
    assert set(call(app, "GET", "/openapi.json").json()["paths"]) == {route.template for route in app.routes}


def test_dialect_options_go_to_their_dialect_and_unknown_ones_are_refused() -> None:
    from metricscore.http.ratelimit import Window

    app = App(mc.open_store("memory://"), statsig_limits=(Window(1, 60),))
    assert app.dialects["statsig"].options["statsig_limits"] == (Window(1, 60),)
    with pytest.raises(TypeError, match="'colour'"):
        App(mc.open_store("memory://"), colour="red")
    with pytest.raises(mc.ConfigurationError, match="No dialect 'nosuch'"):
        App(mc.open_store("memory://"), dialects=["nosuch"])


_OPTION_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(st.characters(codec=None), max_size=20),
    st.lists(st.one_of(st.integers(), st.text(max_size=10), st.tuples(st.integers(), st.integers())), max_size=3),
    st.sampled_from(["http://[::1", "posthog", "abc", "https://api.example.com/m"]),
)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["max_body", "public_url", "allowed_hosts", "dialects", "statsig_limits", "key_cache_seconds"]),
    _OPTION_VALUES,
)
def test_app_options_are_taken_or_refused_with_a_configuration_error(option: str, value: object) -> None:
    # Found: max_body="x", statsig_limits="x" or [(1, 2)] were taken and failed every request they
    # reached (a 500); public_url=5, public_url="http://[::1", allowed_hosts=5 or dialects=5 raised
    # AttributeError, ValueError or TypeError; allowed_hosts="abc" allowed the hosts a, b and c.
    try:
        app = App(mc.open_store("memory://"), **{option: value})
    except mc.MetricscoreError:
        return
    key = app.keys.create_statsig_key(project_id="p")
    for method in ("GET", "POST"):
        answer = call(app, method, "/console/v1/metrics", headers=statsig(key), json_body=STATSIG_METRIC)
        assert answer.status < 500, (option, value, answer.body)


def test_a_key_of_one_kind_never_opens_another_dialect() -> None:
    app = App(mc.open_store("memory://"))
    posthog_key = app.keys.create("posthog", scopes=["*"], projects=[1])
    forged = {"STATSIG-API-KEY": posthog_key.token.replace("phx_", "console-", 1)}
    assert call(app, "GET", "/console/v1/metrics/list", headers=forged).status == 401
    with pytest.raises(mc.ValidationError, match="kind"):
        app.keys.create("nosuch")
    with pytest.raises(mc.ValidationError) as caught:
        app.keys.create("statsig", subject="p1", scopes=["*"])
    assert "scopes" in caught.value.errors
