"""The OpenAPI 3 document of every route: request bodies from the marshmallow schemas (apispec),
records from each resource's record type, list envelopes from its pagination style, and every status an
operation can answer with its dialect's error body, so that a generated client is typed.

Needs the ``server`` extra (``pip install 'metricscore[server]'``), imported only when asked for.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import (
    TYPE_CHECKING,
    Any,
    Literal,
    NotRequired,
    Required,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

import marshmallow as ma

from ..dialect import dialect
from ..errors import ConfigurationError
from ..idempotency import MAX_KEY_LENGTH
from ..resource import Resource
from .dialect import HttpDialect
from .types import JSON_TYPE, Operation, QueryOperation, Route

if TYPE_CHECKING:
    from .core import App

__all__ = ["openapi_document", "record_schema"]

_STATUS_TEXT = {
    400: "Invalid request: malformed HTTP, or a body, query parameter or header not valid (every bad field named)",
    401: "No valid credentials",
    403: "Valid credentials without the scope or the project",
    404: "Not found (a record of another scope is not found either)",
    409: "Conflict: a unique key is taken, an idempotency key was used with another body, or the state refuses",
    413: "Request body too large",
    414: "Request line (path and query string) too long for the server",
    431: "Request headers too large for the server",
    406: "The Accept header allows no JSON answer",
    415: "Unsupported media type",
    429: "Rate limited: retry after Retry-After seconds",
    500: "Server error (storage unavailable, or a bug)",
    503: "Storage unavailable",
}
_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    Decimal: {"type": "number"},  # an exact number, a JSON number on the wire
    bool: {"type": "boolean"},
}


def record_schema(tp: Any, nested: Any = None) -> dict[str, Any]:
    """The OpenAPI 3.0 schema of a type of a record type (a ``TypedDict`` and what it holds).

    ``nested(schema_class)`` describes a marshmallow schema named by ``Annotated[..., SchemaClass]``;
    a dict in ``Annotated[..., {...}]`` adds to the schema (a format the server checks).
    """
    origin, args = get_origin(tp), get_args(tp)
    if origin is typing.Annotated:
        marks = [m for m in tp.__metadata__ if isinstance(m, type) and issubclass(m, ma.Schema)]
        base = nested(marks[0]) if marks and nested is not None else record_schema(args[0], nested)
        return base | {k: v for m in tp.__metadata__ if isinstance(m, dict) for k, v in m.items()}
    if origin in (Required, NotRequired):
        return record_schema(args[0], nested)
    if is_typeddict(tp):
        hints = get_type_hints(tp, include_extras=True)
        found: dict[str, Any] = {
            "type": "object",
            "properties": {key: record_schema(hint, nested) for key, hint in hints.items()},
        }
        required = [key for key in hints if key in tp.__required_keys__]
        if required:
            found["required"] = required
        return found
    if origin in (Union, types.UnionType):
        schemas: list[dict[str, Any]] = []
        for option in args:
            if option is not type(None) and (found := record_schema(option, nested)) not in schemas:
                schemas.append(found)
        numeric = all(found in _SCALARS.values() for found in schemas)
        if numeric and {found["type"] for found in schemas} == {"integer", "number"}:
            schemas = [{"type": "number"}]  # Decimal | int | float: a JSON number
        inner = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
        return {**inner, "nullable": True} if type(None) in args else inner
    if origin is Literal:
        return {"type": "string", "enum": list(args)}
    if origin is list:
        return {"type": "array", "items": record_schema(args[0], nested)}
    if origin in (dict, Mapping):
        value = args[1] if args else Any
        return {"type": "object"} if value is Any else {"type": "object", "additionalProperties": record_schema(value)}
    if tp is Any:
        return {}
    return dict(_SCALARS[tp])


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _parameter(name: str, schema: Mapping[str, Any], required: bool = False) -> dict[str, Any]:
    """A query parameter from its schema (a ``description`` in it describes the parameter)."""
    parameter: dict[str, Any] = {"name": name, "in": "query", "required": required}
    described = dict(schema)
    if "description" in described:
        parameter["description"] = described.pop("description")
    if "content" in described:  # a value encoded as a media type (a JSON list), not a schema's
        parameter["content"] = described["content"]
    else:
        parameter["schema"] = described
    return parameter


def _query_parameters(resource: Resource[Any]) -> list[dict[str, Any]]:
    """A list operation's query parameters: the resource's filters, then its pagination's."""
    declared = {**resource.list_parameters, **resource.pagination.parameters()}
    return [_parameter(name, schema) for name, schema in declared.items()]


def _statuses(face: HttpDialect, route: Route, method: str, operation: Operation) -> list[int]:
    """Every error status the operation can answer: the common ones, then its dialect's own."""
    item = "{id}" in route.template or "{name}" in route.template
    # A server refuses a request it cannot read, whatever its route: malformed HTTP (400), a
    # request line or headers beyond its limits (414, 431); metricscore serve answers these too.
    found = {400, 401, 414, 431, 500}
    if isinstance(operation, QueryOperation) and operation.request is not None:
        found.add(413)  # a body the handler reads itself
    if item:
        found.add(404)
    if method != "GET":
        found.add(409)
    if operation.body is not None:
        found.add(413)
    return sorted(face.openapi_statuses(route, method, operation, found))


def _string_field(field: Any) -> dict[str, Any]:
    """The OpenAPI schema of what a metricscore ``String`` field accepts, exactly: a trimming field
    counts its length after trimming (a pattern, not ``maxLength``), and one that coerces numbers
    (DRF's CharField) takes a JSON number whose text fits as well as a string."""
    from .. import validation as v

    blank = field.allow_blank or field.blank_as_none
    text: dict[str, Any] = {"type": "string"}
    if field.trim and (field.max_length is not None or field.min_length is not None):
        text["pattern"] = v.trimmed_text_pattern(field.min_length, field.max_length, blank)
    else:
        if field.max_length is not None:
            text["maxLength"] = field.max_length
        if field.trim:
            text["pattern"] = v.ANY_TEXT_PATTERN if blank else v.NON_BLANK_PATTERN
        else:  # untrimmed, only the empty text is blank
            text["pattern"] = v.ANY_TEXT_PATTERN
            shortest = max(field.min_length or 0, 0 if blank else 1)
            if shortest:
                text["minLength"] = shortest
    text.update(getattr(type(field), "openapi_schema", {}))  # a subclass's own format
    if not field.coerce_numbers:
        return text
    if field.allow_none:  # the null goes with the text (apispec marks the whole property nullable too)
        text["nullable"] = True
    return {"anyOf": [text, *v.number_text_schemas(field.max_length)]}


def _coded_field(self: Any, field: Any, **kwargs: Any) -> dict[str, Any]:
    """OpenAPI properties of metricscore's own marshmallow fields (apispec knows marshmallow's)."""
    from .. import validation as v

    if isinstance(field, v.Choice):
        return {"type": "string", "enum": sorted(field.choices)}
    if isinstance(field, v.String):
        return _string_field(field)
    if isinstance(field, v.Boolean):
        return {"type": "boolean"}
    if isinstance(field, v.Integer):
        return {"type": "integer", "minimum": field.min_value, "maximum": field.max_value}
    if isinstance(field, v.Float):
        found: dict[str, Any] = {"type": "number"}
        if field.min_value is not None:
            found["minimum"] = field.min_value
        if getattr(field, "max_value", None) is not None:
            found["maximum"] = field.max_value
        return found
    if isinstance(field, v.List):
        array: dict[str, Any] = {"type": "array", "items": self.field2property(field.inner)}
        if field.max_length is not None:
            array["maxItems"] = field.max_length
        return array
    if isinstance(field, v.Nested):
        return dict(self.schema2jsonschema(field.schema))
    declared = getattr(type(field), "openapi_schema", None)  # a dialect's own field says what it is
    if isinstance(declared, dict):
        return dict(declared)
    if isinstance(field, v.JSONObject):
        return {"type": "object"}
    return {}


def openapi_document(app: App) -> dict[str, Any]:
    """The OpenAPI 3.0 document (a dict) of every route ``app`` serves, each dialect contributing
    its security scheme, error body, extra components and parameters (see
    :class:`~metricscore.http.dialect.HttpDialect`)."""
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
        info={"description": f"{_titles(app)} endpoints served by metricscore.http."},
    )
    plugin = spec.plugins[0]
    converter = getattr(plugin, "converter", None)
    if converter is not None:
        converter.add_attribute_function(_coded_field)
    faces = app.dialects
    for face in faces.values():
        spec.components.security_scheme(*face.security_scheme)
    resources = {r.name: r for name in faces for r in dialect(name).resources}

    def nested(schema_class: type[ma.Schema]) -> dict[str, Any]:
        return dict(converter.schema2jsonschema(schema_class)) if converter is not None else {"type": "object"}

    for face in faces.values():
        spec.components.schema(face.error_schema[0], component=face.error_schema[1])
    for resource in resources.values():
        record = resource.title
        spec.components.schema(record, component=record_schema(resource.record_type, nested))
        spec.components.schema(f"{record}Page", component=resource.pagination.envelope_schema(_ref(record)))
    for face in faces.values():
        for component_name, component in face.openapi_components().items():
            spec.components.schema(component_name, component=component)
    registered: set[str] = set()

    def request_component(resource_name: str, mode: str) -> str:
        resource = resources[resource_name]
        schema = (
            resource.create_schema if mode == "create" or resource.update_schema is None else resource.update_schema
        )
        name = resource.title + ("UpdateInput" if schema is not resource.create_schema else "Input")
        if name not in registered:
            # A schema's cross-field rules, when it states them in OpenAPI, beside its fields.
            rules = getattr(type(schema), "openapi_rules", None)
            spec.components.schema(name, component=rules, schema=type(schema))
            registered.add(name)
        return name

    def success(face: HttpDialect, operation: Operation) -> dict[str, Any]:
        answer: dict[str, Any] = {"description": operation.summary}
        if isinstance(operation, QueryOperation) and operation.answer is not None:
            name, answer_type = operation.answer
            if name not in registered:
                spec.components.schema(name, component=record_schema(answer_type, nested))
                registered.add(name)
            answer["content"] = {"application/json": {"schema": _ref(name)}}
            return answer
        if operation.response is None:
            return answer
        resource_name, shape = operation.response
        record = resources[resource_name].title
        schema = face.response_schema(shape, _ref(record), _ref(f"{record}Page"))
        answer["content"] = {"application/json": {"schema": schema}}
        return answer

    def failure(face: HttpDialect, status: int) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "description": _STATUS_TEXT[status],
            "content": {"application/json": {"schema": _ref(face.error_schema[0])}},
        }
        return face.openapi_error(status, answer)

    used_ids: set[str] = set()
    paths: dict[str, dict[str, Any]] = {}
    for route in app.routes:
        face = faces[route.dialect]
        path = route.template
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{(\w+)\}", route.template)
        ]
        security_name = face.security_scheme[0]
        operations: dict[str, Any] = {}
        for method, operation in route.operations.items():
            operation_id = f"{route.dialect}_{operation.name}"
            suffix = 2
            while operation_id in used_ids:
                operation_id = f"{route.dialect}_{operation.name}_{suffix}"
                suffix += 1
            used_ids.add(operation_id)
            responses: dict[str, Any] = {str(operation.status): success(face, operation)}
            for status in _statuses(face, route, method, operation):
                responses[str(status)] = failure(face, status)
            entry: dict[str, Any] = {
                "operationId": operation_id,
                "summary": operation.summary,
                "tags": [route.dialect],
                "security": [{security_name: []}],
                "responses": responses,
            }
            if operation.scope:
                entry["description"] = f"Required API key scope: `{operation.scope}`."
            if parameters:
                entry["parameters"] = list(parameters)
            if operation.response is not None and operation.response[1] == "page":
                entry.setdefault("parameters", []).extend(_query_parameters(resources[operation.response[0]]))
            if isinstance(operation, QueryOperation):
                # A ``parameters`` schema named in ``query`` refines that parameter (its format).
                entry.setdefault("parameters", []).extend(
                    _parameter(
                        name,
                        {
                            "type": "string",
                            "description": text,
                            **({"minLength": 1} if required else {}),
                            **operation.parameters.get(name, {}),
                        },
                        required,
                    )
                    for name, required, text in operation.query
                )
                queried = {name for name, _, _ in operation.query}
                entry["parameters"].extend(
                    _parameter(name, schema) for name, schema in operation.parameters.items() if name not in queried
                )
                if operation.request is not None:
                    name, request_type = operation.request
                    if name not in registered:
                        spec.components.schema(name, component=record_schema(request_type, nested))
                        registered.add(name)
                    entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(name)}}}
            if operation.idempotency_key:
                entry.setdefault("parameters", []).append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "A repeat with the same key and body answers the first result, "
                        "storing nothing again; the same key with another body is a 409.",
                        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
                    }
                )
            face.openapi_operation(route, method, operation, entry)
            if operation.body is not None:
                name = request_component(*operation.body)
                entry["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(name)}},
                }
            operations[method.lower()] = entry
        paths.setdefault(path, {}).update(operations)
    _link_creates(paths)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _id_pointer(schema: Mapping[str, Any]) -> str | None:
    """Where a record's ``id`` is in a success body of ``schema``: the record itself, or a
    property holding it (Statsig's ``{message, data}``); ``None`` for anything else."""
    if "$ref" in schema:
        return "/id"
    for name, inner in schema.get("properties", {}).items():
        if "$ref" in inner:
            return f"/{name}/id"
    return None


def _link_creates(paths: dict[str, dict[str, Any]]) -> None:
    """OpenAPI links from each create (``POST`` on a collection) to the operations on the record it
    made (the paths under ``{collection}/{id}``), so that clients and stateful testers can follow them."""
    for collection, operations in paths.items():
        create = operations.get("post")
        if create is None or "{id}" in collection:
            continue
        status, answer = next(iter(create["responses"].items()))
        pointer = _id_pointer(answer.get("content", {}).get(JSON_TYPE, {}).get("schema", {}))
        if pointer is None or not status.startswith("2"):
            continue
        links: dict[str, Any] = {}
        for path, targets in paths.items():
            if not path.startswith(f"{collection.rstrip('/')}/{{id}}"):
                continue
            parameters = {name: f"$request.path.{name}" for name in re.findall(r"\{(\w+)\}", path)}
            parameters["id"] = f"$response.body#{pointer}"
            for target in targets.values():
                links[target["operationId"]] = {"operationId": target["operationId"], "parameters": parameters}
        if links:
            answer["links"] = links


def _titles(app: App) -> str:
    titles = [dialect(name).title or name for name in app.dialects]
    return ", ".join(titles[:-1]) + f" and {titles[-1]}" if len(titles) > 1 else "".join(titles)
