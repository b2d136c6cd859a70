"""An App that checks each of its answers against its own OpenAPI document (a test helper).

Used by test_openapi_responses.py (the whole HttpContract) and test_evaluation_routes.py. Needs the
dev extra (openapi-schema-validator): import it after ``pytest.importorskip``.
"""

from __future__ import annotations

import json
from typing import Any

import openapi_schema_validator as validators

import metricscore as mc
from metricscore.http import App, Request, Response


def _closed(schema: Any) -> Any:
    """``schema`` with every object that lists its properties closed to other keys."""
    if isinstance(schema, dict):
        closed = {key: _closed(value) for key, value in schema.items()}
        if "properties" in closed and "additionalProperties" not in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


class DocumentedApp(App):
    """An App that checks each of its answers against its own OpenAPI document."""

    def __init__(self, store: mc.Store) -> None:
        super().__init__(store)
        document = json.loads(super().handle(Request("GET", "/openapi.json")).body)
        self.document = document
        self.components = _closed(document["components"])
        self.seen: set[tuple[str, str, int]] = set()

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        if request.path == "/openapi.json":
            return response
        method = "GET" if request.method == "HEAD" else request.method  # HEAD is answered as GET
        found = self.route(request.method, request.path)
        if found is None or method not in found[0].operations:
            assert response.status in (404, 405)  # no operation to document it on
            return response
        route = found[0]
        operation = self.document["paths"][route.template][method.lower()]
        documented = operation["responses"].get(str(response.status))
        assert documented is not None, f"{request.method} {route.template} answered an undocumented {response.status}"
        content = documented.get("content")
        if content is None:
            assert response.body == b"", f"{request.method} {route.template} {response.status} has an undocumented body"
        else:
            schema = {**content["application/json"]["schema"], "components": self.components}
            errors = [e.message for e in validators.OAS30Validator(schema).iter_errors(response.json())]
            assert not errors, f"{request.method} {route.template} {response.status}: {errors}"
        for header in documented.get("headers", {}):
            assert response.header(header) is not None, f"{response.status} lacks the documented {header}"
        self.seen.add((route.template, method, response.status))
        return response
