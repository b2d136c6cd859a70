"""The JSON Schema of definition files, generated from the resources' own marshmallow schemas.

The shipped copy (``definitions.schema.json`` beside this module) is what editors use; a test
checks it equals :func:`json_schema`. Regenerate it with
``python -m metricscore.definitions.schema > metricscore/definitions/definitions.schema.json``.
The schema describes shapes (types, enums, lengths, required fields, no unknown field); rules
across fields and across documents are checked by ``metricscore validate``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import marshmallow as ma

from .. import validation as v
from .kinds import KINDS, Kind

__all__ = ["SHIPPED", "json_schema", "shipped_schema"]

SHIPPED = Path(__file__).with_name("definitions.schema.json")
SCHEMA_ID = "https://metricscore.invalid/definitions.schema.json"


def _field(f: ma.fields.Field[Any]) -> dict[str, Any]:
    from ..dialects.posthog.accounts import ROLES, STRING_PROPERTIES, AccountProperties
    from ..dialects.sequence.usage_metrics import PropertyFilters
    from ..dialects.statsig.schemas import TAG_MAX, Tags

    found: dict[str, Any]
    if isinstance(f, v.Choice):
        found = {"enum": sorted(f.choices)}
    elif isinstance(f, v.String):
        found = {"type": "string"}
        if f.max_length is not None:
            found["maxLength"] = f.max_length
        if f.min_length is not None:
            found["minLength"] = f.min_length
    elif isinstance(f, v.Boolean):
        found = {"type": "boolean"}
    elif isinstance(f, v.Integer):
        found = {"type": "integer", "minimum": f.min_value, "maximum": f.max_value}
    elif isinstance(f, v.Float):
        found = {"type": "number"}
        if f.min_value is not None:
            found["minimum"] = f.min_value
        if f.max_value is not None:
            found["maximum"] = f.max_value
    elif isinstance(f, v.List):
        found = {"type": "array", "items": _field(f.inner)}
    elif isinstance(f, v.Nested):
        found = _object(f.schema)
    elif isinstance(f, Tags):
        tag = {"type": "string", "maxLength": TAG_MAX}
        found = {"oneOf": [tag, {"type": "array", "items": tag}]}
    elif isinstance(f, AccountProperties):
        role = {
            "type": ["object", "null"],
            "properties": {"id": {"type": "integer"}, "email": {"type": "string"}},
            "required": ["id", "email"],
            "additionalProperties": False,
        }
        properties = {name: role for name in ROLES}
        properties.update({name: {"type": ["string", "null"]} for name in STRING_PROPERTIES})
        found = {"type": "object", "properties": properties, "additionalProperties": False}
    elif isinstance(f, PropertyFilters):
        found = {
            "type": "object",
            "additionalProperties": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        }
    elif isinstance(f, v.JSONObject):
        found = {"type": "object"}
    else:
        found = {}
    if f.allow_none:
        found = _nullable(found)
    return found


def _nullable(found: dict[str, Any]) -> dict[str, Any]:
    kind = found.get("type")
    if isinstance(kind, str):
        return {**found, "type": [kind, "null"]}
    if "enum" in found:
        return {**found, "enum": [*found["enum"], None]}
    if "oneOf" in found:
        return {**found, "oneOf": [*found["oneOf"], {"type": "null"}]}
    return found


def _object(schema: ma.Schema) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, f in schema.load_fields.items():
        wire = f.data_key or name
        if wire == "dryRun":
            continue
        properties[wire] = _field(f)
        if f.required:
            required.append(wire)
    # A definition file holds no other field, at any level (``Kind.unknown_fields``).
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def _document(kind: Kind) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": "object",
        "properties": {name: _field(f) for name, f in kind.resource.scope_fields.items()},
        "required": list(kind.resource.scope_fields),
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "resource": {"const": kind.name},
            "scope": scope,
            "definitions": {"type": "array", "items": {"$ref": f"#/$defs/{kind.name}"}},
        },
        "required": ["resource", "scope", "definitions"],
        "additionalProperties": False,
    }


def json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of one file: a document, or a list of documents."""
    definitions = {name: _object(kind.resource.create_schema) for name, kind in sorted(KINDS.items())}
    documents = {f"{name}.document": _document(kind) for name, kind in sorted(KINDS.items())}
    document = {"oneOf": [{"$ref": f"#/$defs/{name}"} for name in documents]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "metricscore definition file",
        "description": "resource, scope and a list of payloads exactly as the vendor's create API takes them",
        "oneOf": [document, {"type": "array", "items": document}],
        "$defs": {**definitions, **documents},
    }


def dumps() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def shipped_schema() -> str:
    """The schema file shipped with the package."""
    return SHIPPED.read_text(encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(dumps())
