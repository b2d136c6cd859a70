"""Schemathesis against the WSGI app, in-process, for every operation of every dialect.

Each generated request (valid and invalid) must get no 5xx, and a status, content type and body
that the operation's OpenAPI document describes; the stateful test also follows the document's
links from each create to the operations on the record it made. Bounded and derandomized, so it
cannot flake (about 10 s); docs/http.md ("Fuzzing") has the longer run against a live server.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import metricscore as mc

pytest.importorskip("apispec", reason="needs the server extra: pip install 'metricscore[server]'")
schemathesis = pytest.importorskip("schemathesis", reason="needs the dev extra: pip install 'metricscore[dev]'")

from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from metricscore.http import App  # noqa: E402
from metricscore.http.testing import basic, bearer, statsig  # noqa: E402
from metricscore.http.wsgi import wsgi_app  # noqa: E402

pytestmark = pytest.mark.fuzz

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
BOUNDED = settings(
    max_examples=10,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


class FreshApp:
    """The WSGI app schemathesis calls: an App over a memory store and a key per dialect, replaced
    by a fresh one before each stateful run (a store that kept the earlier runs' records would
    change what a run reads, and Hypothesis refuses runs that do not replay alike)."""

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        core = App(mc.open_store("memory://"), statsig_limits=())
        self.wsgi = wsgi_app(core)
        self.credentials = {  # by the tag of the operations (the dialect's name)
            "posthog": bearer(core.keys.create_posthog_key(scopes=["*"])),
            "sequence": basic(core.keys.create_sequence_credentials(account_id="acct-fuzz")),
            "statsig": statsig(core.keys.create_statsig_key(project_id="p-fuzz")),
        }

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.wsgi(environ, start_response)

    def headers(self, case: Any) -> dict[str, str]:
        return self.credentials[case.operation.definition.raw["tags"][0]]


app = FreshApp()
schema = schemathesis.openapi.from_wsgi("/openapi.json", app)


@schema.parametrize()
@BOUNDED
def test_every_operation_answers_as_documented(case: Any) -> None:
    case.call_and_validate(headers=app.headers(case), checks=CHECKS)


class Workflow(schema.as_state_machine()):  # type: ignore[misc]
    """Sequences of calls that follow the document's links (create, then read, change, delete)."""

    def setup(self) -> None:
        app.renew()

    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": app.headers(case)}

    def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
        case.validate_response(response, checks=CHECKS)


TestWorkflow = Workflow.TestCase
TestWorkflow.settings = settings(BOUNDED, max_examples=15, stateful_step_count=6)
