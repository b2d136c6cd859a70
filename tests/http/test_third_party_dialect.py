"""A dialect written outside metricscore (examples/acme_dialect), installed as a package with a
``metricscore.dialects`` entry point, served by ``metricscore serve`` and passing the shipped
contracts, without a line of metricscore knowing it.

The package is built and installed once (``pip install --target``, no index, a few seconds) into a
directory put on ``sys.path`` and on the server's ``PYTHONPATH``; the directory goes away after
this module, so no other test sees the dialect.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import metricscore as mc
from metricscore import dialect as registry
from metricscore.backends.memory import MemoryBackend
from metricscore.http import App
from metricscore.http.testing import DialectHttpContract, conforms
from metricscore.repository import Backend
from metricscore.testing.conformance import ResourceContract

pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")
EXAMPLE = Path(__file__).parents[2] / "examples" / "acme_dialect"


@pytest.fixture(scope="module", autouse=True)
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    target = tmp_path_factory.mktemp("acme-site")
    build = tmp_path_factory.mktemp("acme-build")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(EXAMPLE)],
        check=True, capture_output=True, env={**os.environ, "TMPDIR": str(build)},
    )  # fmt: skip
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    registry.dialect_names(refresh=True)
    yield target
    sys.path.remove(str(target))
    for name in [m for m in sys.modules if m == "acme_dialect" or m.startswith("acme_dialect.")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    registry._loaded.pop("acme", None)
    registry.dialect_names(refresh=True)


def test_it_is_found_through_its_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    found = [ep for ep in metadata.entry_points(group="metricscore.dialects") if ep.name == "acme"]
    assert [(ep.value, ep.dist.name if ep.dist else None) for ep in found] == [("acme_dialect:DIALECT", "acme-dialect")]
    widgets = mc.open_store("memory://").acme.widgets(tenant="t1")
    assert widgets.create({"name": "Sprocket"})["size"] == 1
    # Without the entry-point lookup nothing else knows it.
    registry._loaded.pop("acme", None)
    real = metadata.entry_points
    monkeypatch.setattr(
        metadata, "entry_points", lambda **kw: metadata.EntryPoints([]) if "group" in kw else real(**kw)
    )
    monkeypatch.setattr(registry, "_entry_points", None)
    with pytest.raises(AttributeError):
        mc.open_store("memory://").acme  # noqa: B018
    monkeypatch.undo()
    registry.dialect_names(refresh=True)


class WidgetContract(ResourceContract):
    valid = {"name": "Sprocket", "size": 3}
    invalid = ({"name": "", "size": 2000}, "name")
    change = {"name": "Gear"}

    @pytest.fixture
    def service(self, store: mc.Store) -> Callable[[str], Any]:
        return lambda tenant: store.acme.widgets(tenant=tenant)


class TestWidgetsOnMemory(WidgetContract):
    @pytest.fixture
    def backend(self) -> Backend:
        return MemoryBackend()


class TestWidgetsOnSQLite(WidgetContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[Backend]:
        from metricscore.backends.sql import SQLBackend

        backend = SQLBackend.from_url(f"sqlite:///{tmp_path / 'acme.db'}")
        yield backend
        backend.close()


class AcmeHttpContract(DialectHttpContract):
    dialect = "acme"
    collection = "/acme/v1/widgets"
    valid = {"name": "Sprocket"}
    invalid = {"size": "big"}

    @pytest.fixture
    def headers(self, app: App) -> dict[str, str]:
        return {"X-Acme-Key": app.keys.create("acme", subject=f"tenant-{id(app)}").token}


class TestAcmeHttpOnMemory(AcmeHttpContract):
    @pytest.fixture
    def app(self) -> App:
        return App(mc.open_store("memory://"))


class TestAcmeHttpOnSQLite(AcmeHttpContract):
    @pytest.fixture
    def app(self, tmp_path: Path) -> App:
        return App(mc.open_store(f"sqlite:///{tmp_path / 'acme.db'}"))


def test_the_builtins_are_unchanged_beside_it() -> None:
    app = App(mc.open_store("memory://"))
    assert list(app.dialects) == ["acme", "posthog", "sequence", "statsig"]
    key = app.keys.create_posthog_key(scopes=["*"], projects=[1])
    from metricscore.http.testing import bearer, call

    assert call(app, "GET", "/api/environments/1/accounts/", headers=bearer(key)).status == 200
    # PostHog's catch-all 404 still answers paths nobody claims; Acme's prefix gets Acme's.
    assert call(app, "GET", "/nowhere").json()["type"] == "invalid_request"
    assert call(app, "GET", "/acme/nowhere").json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_metricscore_serve_serves_its_routes_auth_errors_and_openapi(
    installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serving import create_key, serve

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(installed), os.environ.get("PYTHONPATH")])))
    with serve(tmp_path, workers=1) as server:
        made = create_key(server.url, "acme", "--subject", "t1")
        assert made["header"] == f"X-Acme-Key: {made['token']}" and made["token"].startswith("acme_")
        auth = {"X-Acme-Key": made["token"], "Content-Type": "application/json"}
        created = server.request("POST", "/acme/v1/widgets", auth, json.dumps({"name": "Sprocket", "size": 2}).encode())
        widget = created.json()
        assert created.status == 201 and widget["name"] == "Sprocket" and widget["tenant"] == "t1"
        listed = server.request("GET", "/acme/v1/widgets", auth)
        assert (listed.status, listed.json()) == (200, {"widgets": [widget], "total": 1, "offset": 0})
        refused = server.request("GET", "/acme/v1/widgets", {"X-Acme-Key": "acme_bad"})
        assert (refused.status, refused.json()) == (
            401,
            {"error": {"code": "not_authenticated", "message": "A valid X-Acme-Key header is required."}},
        )
        invalid = server.request("POST", "/acme/v1/widgets", auth, json.dumps({"name": "", "size": 5000}).encode())
        assert invalid.status == 400 and set(invalid.json()["error"]["fields"]) == {"name", "size"}
        document = server.request("GET", "/openapi.json").json()
        assert {"/acme/v1/widgets", "/acme/v1/widgets/{id}"} <= set(document["paths"])
        assert conforms(refused.json(), document["components"]["schemas"]["AcmeError"])
        assert document["components"]["schemas"]["AcmeWidgetPage"]["required"] == ["widgets", "total", "offset"]


def test_its_code_type_checks_against_the_public_api(tmp_path: Path) -> None:
    """A dialect's author gets ``mypy --strict`` on what they write with metricscore's types."""
    api = pytest.importorskip("mypy.api", reason="needs the dev extra: pip install 'metricscore[dev]'")
    stdout, stderr, status = api.run(
        ["--strict", "--follow-imports=silent", "--no-error-summary", "--cache-dir", str(tmp_path / "cache"),
         str(EXAMPLE / "acme_dialect")]
    )  # fmt: skip
    assert (status, stdout) == (0, ""), stdout + stderr
