"""A client generated from /openapi.json with openapi-python-client works against the running
reference server: create, get and list on one resource per dialect, over real HTTP, with typed
models for every answer (an undocumented status would raise ``UnexpectedStatus``).
"""

from __future__ import annotations

import base64
import importlib
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

import metricscore as mc

pytest.importorskip("apispec", reason="needs the server extra: pip install 'metricscore[server]'")
pytest.importorskip("httpx", reason="needs the dev extra: pip install 'metricscore[dev]'")
GENERATOR = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent)) or shutil.which(
    "openapi-python-client"
)
if GENERATOR is None:
    pytest.skip("needs openapi-python-client: pip install 'metricscore[dev]'", allow_module_level=True)

from metricscore.http import App  # noqa: E402
from metricscore.http.testing import call  # noqa: E402
from metricscore.http.wsgi import WSGIApp  # noqa: E402


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, App]]:
    """The reference server over a SQLite file, on a free port, in a background thread."""
    pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")
    store = mc.open_store(f"sqlite:///{tmp_path_factory.mktemp('server') / 'metrics.db'}")
    app = App(store)
    httpd: WSGIServer = make_server("127.0.0.1", 0, WSGIApp(app), handler_class=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", app
    httpd.shutdown()
    httpd.server_close()
    store.close()


@pytest.fixture(scope="module")
def client_package(server: tuple[str, App], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The package openapi-python-client generates from the server's own /openapi.json."""
    _, app = server
    work = tmp_path_factory.mktemp("client")
    (work / "openapi.json").write_bytes(call(app, "GET", "/openapi.json").body)
    (work / "config.yaml").write_text("package_name_override: metricscore_generated\npost_hooks: []\n")
    out = work / "metricscore_generated"
    generated = subprocess.run(
        [GENERATOR, "generate", "--path", str(work / "openapi.json"), "--config", str(work / "config.yaml"),
         "--meta", "none", "--output-path", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout + generated.stderr
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module("metricscore_generated")
    finally:
        sys.path.remove(str(work))
        for name in [m for m in sys.modules if m.startswith("metricscore_generated")]:
            del sys.modules[name]


def _module(package: Any, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_posthog_accounts_through_the_generated_client(server: tuple[str, App], client_package: Any) -> None:
    url, app = server
    key = app.keys.create_posthog_key(scopes=["*"], projects=[11])
    client = client_package.AuthenticatedClient(base_url=url, token=key.token, raise_on_unexpected_status=True)
    models = _module(client_package, "models")
    api = "api.posthog.posthog_accounts_"
    created = _module(client_package, api + "create").sync(
        project_id="11", client=client, body=models.PostHogAccountInput(name="Acme", tags=["Enterprise"])
    )
    assert isinstance(created, models.PostHogAccount)
    assert (created.name, created.tags, created.external_id) == ("Acme", ["enterprise"], None)
    read = _module(client_package, api + "retrieve").sync(project_id="11", id=created.id, client=client)
    assert isinstance(read, models.PostHogAccount) and read.to_dict() == created.to_dict()
    page = _module(client_package, api + "list").sync(project_id="11", client=client)
    assert isinstance(page, models.PostHogAccountPage)
    assert page.count == 1 and [a.id for a in page.results] == [created.id] and page.to_dict()["next"] is None
    by_name = _module(client_package, "models").PosthogAccountsListOrdering("name")
    _module(client_package, api + "create").sync(
        project_id="11", client=client, body=models.PostHogAccountInput(name="B")
    )
    first = _module(client_package, api + "list").sync(project_id="11", client=client, limit=1, ordering=by_name)
    second = _module(client_package, api + "list").sync(
        project_id="11", client=client, limit=1, offset=1, ordering=by_name
    )
    assert [a.name for a in first.results + second.results] == ["Acme", "B"] and first.count == 2
    assert first.to_dict()["next"].endswith("limit=1&offset=1&ordering=name")
    missing = _module(client_package, api + "retrieve").sync(project_id="11", id="nope", client=client)
    assert isinstance(missing, models.PostHogError) and missing.code == "not_found"
    invalid = _module(client_package, api + "create").sync(
        project_id="11", client=client, body=models.PostHogAccountInput(name="")
    )
    assert isinstance(invalid, models.PostHogError) and invalid.attr == "name"


def test_sequence_usage_metrics_through_the_generated_client(server: tuple[str, App], client_package: Any) -> None:
    url, app = server
    key = app.keys.create_sequence_credentials(account_id="acct-gen")
    token = base64.b64encode(f"{key.client_id}:{key.client_secret}".encode()).decode()
    client = client_package.AuthenticatedClient(
        base_url=url, token=token, prefix="Basic", raise_on_unexpected_status=True
    )
    models = _module(client_package, "models")
    api = "api.sequence.sequence_usage_metrics_"
    body = models.SequenceUsageMetricInput.from_dict(
        {"name": "Messages", "metricType": "SIMPLE", "eventType": "message_sent", "aggregationType": "COUNT"}
    )
    created = _module(client_package, api + "create").sync(client=client, body=body)
    assert isinstance(created, models.SequenceUsageMetric)
    assert (created.sequence_account_id, created.case_sensitive, created.deleted_at) == ("acct-gen", True, None)
    read = _module(client_package, api + "get").sync(id=created.id, client=client)
    assert isinstance(read, models.SequenceUsageMetric) and read.to_dict() == created.to_dict()
    page = _module(client_package, api + "list").sync(client=client)
    assert isinstance(page, models.SequenceUsageMetricPage)
    assert [m.id for m in page.items] == [created.id] and page.pagination.total_result_size == 1
    body.name = "Second"
    second = _module(client_package, api + "create").sync(client=client, body=body)
    first_page = _module(client_package, api + "list").sync(client=client, limit=1)
    after = first_page.pagination.after
    assert [m.id for m in first_page.items] == [created.id] and isinstance(after, str)
    next_page = _module(client_package, api + "list").sync(client=client, limit=1, after=after)
    assert [m.id for m in next_page.items] == [second.id]
    grouped = {"name": "x", "metricType": "GROUPED", "eventType": "e", "aggregationType": "SUM"}
    refused = _module(client_package, api + "create").sync(
        client=client, body=models.SequenceUsageMetricInput.from_dict(grouped)
    )
    assert isinstance(refused, models.SequenceError)
    assert {e.key for e in refused.errors} == {"aggregationProperty", "groupingProperty"}


def test_statsig_metrics_through_the_generated_client(server: tuple[str, App], client_package: Any) -> None:
    url, app = server
    key = app.keys.create_statsig_key(project_id="proj-gen")
    client = client_package.AuthenticatedClient(
        base_url=url, token=key.token, prefix="", auth_header_name="STATSIG-API-KEY", raise_on_unexpected_status=True
    )
    models = _module(client_package, "models")
    api = "api.statsig.statsig_metrics_"
    body = models.StatsigMetricInput.from_dict(
        {"name": "Revenue", "type": "sum", "unitTypes": ["userID"], "metricEvents": [{"name": "purchase"}]}
    )
    created = _module(client_package, api + "create").sync(client=client, body=body)
    assert created.message == "Metric created successfully."
    metric = created.data
    assert isinstance(metric, models.StatsigMetric)
    assert (metric.id, metric.lineage.events, metric.created_time > 0) == ("Revenue::sum", ["purchase"], True)
    read = _module(client_package, api + "read").sync(id="Revenue::sum", client=client)
    assert read.data.to_dict() == metric.to_dict()
    by_name = _module(client_package, api + "read_by_name").sync(name="Revenue", type_="sum", client=client)
    assert by_name.data.id == "Revenue::sum"
    page = _module(client_package, api + "list").sync(client=client)
    assert isinstance(page, models.StatsigMetricPage)
    assert [m.id for m in page.data] == ["Revenue::sum"] and page.pagination.total_items == 1
    assert _module(client_package, api + "list").sync(client=client, page=2, limit=1).data == []
    again = _module(client_package, api + "create").sync(client=client, body=body)
    assert isinstance(again, models.StatsigError) and again.status == 409
