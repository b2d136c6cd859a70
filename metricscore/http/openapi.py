"""The OpenAPI 3 document of every route, generated with apispec from the marshmallow schemas.

Needs the ``server`` extra (``pip install 'metricscore[server]'``), imported only when asked for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..errors import ConfigurationError
from .core import Route

__all__ = ["openapi_document", "openapi_path"]

_SECURITY = {
    "posthog": ("PostHogPersonalAPIKey", {"type": "http", "scheme": "bearer"}),
    "sequence": ("SequenceBasic", {"type": "http", "scheme": "basic"}),
    "statsig": ("StatsigConsoleKey", {"type": "apiKey", "in": "header", "name": "STATSIG-API-KEY"}),
}
_COMPONENT = {
    "posthog.accounts": "PostHogAccount",
    "posthog.group_usage_metrics": "PostHogGroupUsageMetric",
    "sequence.usage_metrics": "SequenceUsageMetric",
    "statsig.metrics": "StatsigMetric",
}


def openapi_path(route: Route) -> str:
    """The OpenAPI path of ``route`` (its template; a trailing slash is optional when serving)."""
    return route.template


def _resources() -> dict[str, Any]:
    from ..dialects.posthog.accounts import ACCOUNTS
    from ..dialects.posthog.group_usage_metrics import GROUP_USAGE_METRICS
    from ..dialects.sequence.usage_metrics import USAGE_METRICS
    from ..dialects.statsig.metrics import METRICS

    return {r.name: r for r in (ACCOUNTS, GROUP_USAGE_METRICS, USAGE_METRICS, METRICS)}


def _coded_field(self: Any, field: Any, **kwargs: Any) -> dict[str, Any]:
    """OpenAPI properties of metricscore's own marshmallow fields (apispec knows marshmallow's)."""
    from .. import validation as v

    if isinstance(field, v.Choice):
        return {"type": "string", "enum": sorted(field.choices)}
    if isinstance(field, v.String):
        found: dict[str, Any] = {"type": "string"}
        if field.max_length is not None:
            found["maxLength"] = field.max_length
        if field.min_length is not None:
            found["minLength"] = field.min_length
        return found
    if isinstance(field, v.Boolean):
        return {"type": "boolean"}
    if isinstance(field, v.Integer):
        return {"type": "integer", "minimum": field.min_value, "maximum": field.max_value}
    if isinstance(field, v.Float):
        found = {"type": "number"}
        if field.min_value is not None:
            found["minimum"] = field.min_value
        if getattr(field, "max_value", None) is not None:
            found["maximum"] = field.max_value
        return found
    if isinstance(field, v.List):
        return {"type": "array", "items": self.field2property(field.inner)}
    if isinstance(field, v.Nested):
        return dict(self.schema2jsonschema(field.schema))
    if isinstance(field, v.JSONObject) or type(field).__name__ in ("AccountProperties", "PropertyFilters"):
        return {"type": "object"}
    return {}


def openapi_document(routes: Sequence[Route]) -> dict[str, Any]:
    """The OpenAPI 3.0 document (a dict) describing ``routes``."""
    try:
        from apispec import APISpec
        from apispec.ext.marshmallow import MarshmallowPlugin
    except ModuleNotFoundError as error:  # pragma: no cover - depends on the installed extras
        raise ConfigurationError("The OpenAPI document needs apispec: pip install 'metricscore[server]'") from error
    from .. import __version__

    spec = APISpec(
        title="metricscore reference server",
        version=__version__,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "PostHog, Sequence and Statsig endpoints served by metricscore.http."},
    )
    plugin = spec.plugins[0]
    converter = getattr(plugin, "converter", None)
    if converter is not None:
        converter.add_attribute_function(_coded_field)
    for name, scheme in _SECURITY.values():
        spec.components.security_scheme(name, scheme)
    resources = _resources()
    registered: dict[str, str] = {}

    def component(resource_name: str, mode: str) -> str:
        resource = resources[resource_name]
        schema = (
            resource.create_schema if mode == "create" or resource.update_schema is None else resource.update_schema
        )
        base = _COMPONENT[resource_name]
        component_name = base + ("Update" if schema is not resource.create_schema else "")
        if component_name not in registered:
            spec.components.schema(component_name, schema=type(schema))
            registered[component_name] = component_name
        return component_name

    used_ids: set[str] = set()
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        path = openapi_path(route)
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{(\w+)\}", route.template)
        ]
        security_name = _SECURITY[route.dialect][0]
        operations: dict[str, Any] = {}
        for method, operation in route.operations.items():
            operation_id = f"{route.dialect}_{operation.name}"
            suffix = 2
            while operation_id in used_ids:
                operation_id = f"{route.dialect}_{operation.name}_{suffix}"
                suffix += 1
            used_ids.add(operation_id)
            description = ""
            if operation.scope:
                description = f"Required API key scope: `{operation.scope}`."
            responses: dict[str, Any] = {str(operation.status): {"description": operation.summary}}
            if operation.status != 204:
                responses[str(operation.status)]["content"] = {"application/json": {"schema": {"type": "object"}}}
            responses.update(
                {
                    "400": {"description": "Invalid request"},
                    "401": {"description": "No valid credentials"},
                    "404": {"description": "Not found"},
                }
            )
            if route.dialect == "posthog":
                responses["403"] = {"description": "Missing scope or no access to the project"}
            if operation.mutation:
                responses["429"] = {"description": "Rate limited (see Retry-After)"}
            entry: dict[str, Any] = {
                "operationId": operation_id,
                "summary": operation.summary,
                "tags": [route.dialect],
                "security": [{security_name: []}],
                "responses": responses,
            }
            if description:
                entry["description"] = description
            query = [
                {"name": name, "in": "query", "required": required, "description": text, "schema": {"type": "string"}}
                for name, required, text in getattr(operation, "query", ())
            ]
            if parameters or query:
                entry["parameters"] = [*parameters, *query]
            if method in ("POST", "PUT", "DELETE") and route.dialect == "sequence":
                entry.setdefault("parameters", []).append(
                    {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"}}
                )
            if operation.body is not None:
                name = component(*operation.body)
                entry["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
                }
            operations[method.lower()] = entry
        paths.setdefault(path, {}).update(operations)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
