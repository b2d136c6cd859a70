"""What definitions as code needs to know about each resource, declared once per resource.

Everything else (validation, defaults, the fields a payload may carry) comes from the resource's
own declaration in its dialect (:class:`~metricscore.resource.Resource`): the create schema gives
the managed fields and their defaults, ``initial_values`` the values a new record starts from.
The create schema also says which fields are known, at every level of a payload: a definition
file may hold no other (:meth:`Kind.unknown_fields`), while the service API ignores them as the
vendors do.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import marshmallow as ma

from .. import validation as v
from ..jsonvalue import copy_json
from ..resource import Resource
from .problems import shown

__all__ = [
    "KINDS",
    "DescriptionMarker",
    "Kind",
    "Marker",
    "ObjectKeyMarker",
    "TagMarker",
    "UnknownField",
    "kind_named",
    "unknown_field_message",
    "unknown_resource",
]


class Marker:
    """How a record carries "managed by metricscore" in a field the vendor's payload already has."""

    field: str
    description: str

    def add(self, wire: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def strip(self, wire: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def present(self, wire: Mapping[str, Any]) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class TagMarker(Marker):
    """A tag in the record's tag list."""

    field: str
    tag: str

    @property
    def description(self) -> str:  # type: ignore[override]
        return f"the tag `{self.tag}` in `{self.field}`"

    def _tags(self, wire: Mapping[str, Any]) -> list[Any]:
        tags = wire.get(self.field)
        if isinstance(tags, str):
            return [tags]
        return list(tags) if isinstance(tags, list) else []

    def add(self, wire: dict[str, Any]) -> dict[str, Any]:
        tags = self._tags(wire)
        if self.tag not in tags:
            tags.append(self.tag)
        return {**wire, self.field: tags}

    def strip(self, wire: dict[str, Any]) -> dict[str, Any]:
        if self.field not in wire:
            return wire
        return {**wire, self.field: [tag for tag in self._tags(wire) if tag != self.tag]}

    def present(self, wire: Mapping[str, Any]) -> bool:
        return self.tag in self._tags(wire)


@dataclass(frozen=True)
class DescriptionMarker(Marker):
    """A line at the end of a free-text description."""

    field: str
    text: str
    #: What an empty description is stored as (``None`` or ``""``).
    empty: Any = None

    @property
    def description(self) -> str:  # type: ignore[override]
        return f"the line `{self.text}` at the end of `{self.field}`"

    def add(self, wire: dict[str, Any]) -> dict[str, Any]:
        current = wire.get(self.field)
        if isinstance(current, str) and self.text in current:
            return wire
        value = f"{current}\n\n{self.text}" if isinstance(current, str) and current else self.text
        return {**wire, self.field: value}

    def strip(self, wire: dict[str, Any]) -> dict[str, Any]:
        current = wire.get(self.field)
        if not isinstance(current, str) or self.text not in current:
            return wire
        value = current.replace(f"\n\n{self.text}", "").replace(self.text, "")
        return {**wire, self.field: value or self.empty}

    def present(self, wire: Mapping[str, Any]) -> bool:
        current = wire.get(self.field)
        return isinstance(current, str) and self.text in current


@dataclass(frozen=True)
class ObjectKeyMarker(Marker):
    """A key inside a free-form JSON object field."""

    field: str
    key: str

    @property
    def description(self) -> str:  # type: ignore[override]
        return f'the key `"{self.key}": true` inside `{self.field}`'

    def add(self, wire: dict[str, Any]) -> dict[str, Any]:
        current = wire.get(self.field)
        if not isinstance(current, dict):
            return wire
        return {**wire, self.field: {**current, self.key: True}}

    def strip(self, wire: dict[str, Any]) -> dict[str, Any]:
        current = wire.get(self.field)
        if not isinstance(current, dict) or self.key not in current:
            return wire
        return {**wire, self.field: {k: v for k, v in current.items() if k != self.key}}

    def present(self, wire: Mapping[str, Any]) -> bool:
        current = wire.get(self.field)
        return isinstance(current, dict) and current.get(self.key) is True


UpdateStyle = Literal["patch", "put", "restricted"]
_FIELDS: dict[str, dict[str, tuple[str, ma.fields.Field[Any]]]] = {}
PayloadPath = tuple[str | int, ...]


@dataclass(frozen=True)
class UnknownField:
    """A key of a payload (at any depth) that the resource's create schema does not know."""

    #: Where it is within the payload, e.g. ``("metricEvents", 0, "nmae")``.
    path: PayloadPath
    #: Why it is refused, with the closest known field when one is close.
    message: str

    @property
    def name(self) -> str:
        """The dotted path, e.g. ``metricEvents.0.nmae``."""
        return ".".join(str(part) for part in self.path)


_SCHEMA_FIELDS: dict[int, tuple[ma.Schema, dict[str, ma.fields.Field[Any]]]] = {}


def _wire_fields(schema: ma.Schema) -> dict[str, ma.fields.Field[Any]]:
    """Wire name -> field of every key ``schema`` reads."""
    cached = _SCHEMA_FIELDS.get(id(schema))
    if cached is None or cached[0] is not schema:
        fields = {(f.data_key or attribute): f for attribute, f in schema.load_fields.items()}
        cached = _SCHEMA_FIELDS[id(schema)] = (schema, fields)
    return cached[1]


def _unknown_keys(
    fields: Mapping[str, ma.fields.Field[Any]], value: Any, path: PayloadPath
) -> Iterator[tuple[PayloadPath, Mapping[str, ma.fields.Field[Any]]]]:
    """(path, the known fields beside it) of each key of ``value`` that ``fields`` does not know,
    and of those inside its known fields whose shape is a schema (nested objects, lists of them).
    Free-form fields (JSON objects, PostHog's ``filters``) and fields that check their own keys
    (PostHog's ``properties``, Sequence's ``propertyFilters``) are not looked into."""
    if type(value) is not dict:
        return
    for key, item in value.items():
        f = fields.get(key) if type(key) is str else None
        if f is None:
            yield (*path, key), fields
            continue
        yield from _unknown_in_field(f, item, (*path, key))


def _unknown_in_field(
    f: ma.fields.Field[Any], value: Any, path: PayloadPath
) -> Iterator[tuple[PayloadPath, Mapping[str, ma.fields.Field[Any]]]]:
    if isinstance(f, v.Nested):
        yield from _unknown_keys(_wire_fields(f.schema), value, path)
    elif isinstance(f, v.List) and type(value) is list:
        for index, item in enumerate(value):
            yield from _unknown_in_field(f.inner, item, (*path, index))


def unknown_resource(resource: Any) -> str:
    """The message for a resource name that is not one of :data:`KINDS`."""
    return f"unknown resource {shown(resource)}; expected one of {', '.join(sorted(KINDS))}"


def _squashed(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name ``name`` most likely misspells: the same but for case and ``_``/``-``
    (``aggregation_type`` for ``aggregationType``), else a close spelling (``extrenal_id``)."""
    by_squashed = {_squashed(known_name): known_name for known_name in known}
    squashed = _squashed(name)
    if squashed in by_squashed:
        return by_squashed[squashed]
    found = difflib.get_close_matches(squashed, list(by_squashed), n=1, cutoff=0.75)
    return by_squashed[found[0]] if found else None


@dataclass(frozen=True)
class Kind:
    """Definitions-as-code facts about one resource."""

    resource: Resource[Any]
    #: Documented in docs/definitions.md: which record is "the same" across files and target.
    natural_key: Callable[[Mapping[str, Any]], str]
    natural_key_doc: str
    marker: Marker
    #: ``patch``: partial update of the changed fields (PostHog); ``put``: full replace (Sequence);
    #: ``restricted``: partial update limited to :attr:`updatable` (Statsig), else delete + create.
    update_style: UpdateStyle
    removal: Literal["delete", "archive"] = "delete"
    updatable: frozenset[str] | None = None

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def dialect(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def collection(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def scope_names(self) -> tuple[str, ...]:
        return tuple(self.resource.scope_fields)

    @property
    def dry_run_key(self) -> str | None:
        """The payload field asking the vendor for a dry run (Statsig's ``dryRun``), if any."""
        attribute = self.resource.dry_run_field
        if attribute is None:
            return None
        f = self.resource.create_schema.load_fields.get(attribute)
        return (f.data_key or attribute) if f is not None else attribute

    def fields(self) -> dict[str, tuple[str, ma.fields.Field[Any]]]:
        """Wire name -> (attribute, field) of every field a create payload may carry."""
        found = _FIELDS.get(self.name)
        if found is None:
            schema = self.resource.create_schema
            found = _FIELDS[self.name] = {
                (f.data_key or attribute): (attribute, f)
                for attribute, f in schema.load_fields.items()
                if attribute != self.resource.dry_run_field
            }
        return found

    def default(self, attribute: str, f: ma.fields.Field[Any]) -> Any:
        """The value a record has for a field its create payload left out."""
        default = f.load_default
        if default is not ma.missing:
            return default() if callable(default) else copy_json(default)
        return copy_json(self.resource.initial_values.get(attribute))

    def normalize(self, loaded: Mapping[str, Any]) -> dict[str, Any]:
        """A validated create payload (attribute names) as the record's managed wire fields."""
        # ``loaded`` is fresh from validation (nothing else holds its values): no copy needed.
        return {
            wire: loaded[attribute] if attribute in loaded else self.default(attribute, f)
            for wire, (attribute, f) in self.fields().items()
        }

    def project(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A stored record (wire shape) cut down to the managed fields, at every level: a key the
        create schema does not know inside a nested object (one a vendor's record may carry) is
        left out too, so that an export holds nothing a definition file refuses."""
        projected = {wire: copy_json(record.get(wire)) for wire in self.fields()}
        for path, _ in list(_unknown_keys(self.fields_by_wire(), projected, ())):
            parent: Any = projected
            for part in path[:-1]:
                parent = parent[part]
            del parent[path[-1]]
        return projected

    def fields_by_wire(self) -> dict[str, ma.fields.Field[Any]]:
        """Wire name -> field of every key a create payload may carry (the dry-run flag too)."""
        return _wire_fields(self.resource.create_schema)

    def unknown_fields(self, payload: Any) -> list[UnknownField]:
        """Every key of ``payload``, at any depth, that the resource's create schema does not know.

        The vendors (and the service API) ignore such keys; a definition file may not hold them,
        as the state applied would silently differ from the file. Each message names the closest
        known field when one is close, and says so when the key is a field of the server's record
        (``id``, ``created_at``...) or of the document's scope.
        """
        found = _unknown_keys(self.fields_by_wire(), payload, ())
        return [UnknownField(path, self._unknown_message(path, known)) for path, known in found]

    def _unknown_message(self, path: PayloadPath, known: Mapping[str, ma.fields.Field[Any]]) -> str:
        key = path[-1]
        if type(key) is not str:
            return f"unknown field: a key must be text, not {shown(key)}"
        if len(path) == 1:
            if key in self.resource.scope_fields:
                return "unknown field: it belongs in the document's scope, not in a definition"
            record = self.resource.record_type
            if key in (record.__required_keys__ | record.__optional_keys__):
                return "unknown field: the server sets it, a create payload cannot; remove it"
        return unknown_field_message(key, [name for name in known if name != self.dry_run_key])

    def archived(self, record: Mapping[str, Any]) -> bool:
        return self.removal == "archive" and record.get("archiveTime") is not None


def unknown_field_message(key: str, known: Iterable[str]) -> str:
    """``unknown field; did you mean <the closest known name>?``, else the known names."""
    names = sorted(known)
    suggestion = closest(key, names)
    if suggestion is not None:
        return f"unknown field; did you mean {suggestion}?"
    return f"unknown field; known fields here: {', '.join(names)}"


def _account_key(wire: Mapping[str, Any]) -> str:
    external_id = wire.get("external_id")
    if isinstance(external_id, str) and external_id.strip():
        return f"external_id={external_id.strip()}"
    return f"name={str(wire.get('name', '')).strip()}"


def _name(wire: Mapping[str, Any]) -> str:
    name = wire.get("name")
    return name.strip() if isinstance(name, str) else str(name)


def _statsig_key(wire: Mapping[str, Any]) -> str:
    return f"{wire.get('name')}::{wire.get('type')}"


MANAGED = "metricscore-managed"


def _kinds() -> dict[str, Kind]:
    from ..dialects import RESOURCES
    from ..dialects.statsig.schemas import UPDATABLE

    kinds = (
        Kind(
            RESOURCES["posthog.accounts"],
            _account_key,
            "`external_id` when set, else `name`",
            TagMarker("tags", MANAGED),
            "patch",
        ),
        Kind(
            RESOURCES["posthog.group_usage_metrics"],
            _name,
            "`name` within its project and group type",
            ObjectKeyMarker("filters", "metricscore_managed"),
            "patch",
        ),
        Kind(
            RESOURCES["sequence.usage_metrics"],
            _name,
            "`name` within the Sequence account",
            DescriptionMarker("description", "[managed by metricscore]"),
            "put",
        ),
        Kind(
            RESOURCES["statsig.metrics"],
            _statsig_key,
            "`name::type` (Statsig's own metric id) within the project",
            TagMarker("tags", MANAGED),
            "restricted",
            removal="archive",
            updatable=frozenset(UPDATABLE) - {"dryRun"},
        ),
    )
    by_name = {kind.name: kind for kind in kinds}
    # In the registry's order; tests/definitions/test_files.py checks every resource has a Kind.
    return {name: by_name[name] for name in RESOURCES if name in by_name}


KINDS: dict[str, Kind] = _kinds()


def kind_named(name: Any) -> Kind | None:
    return KINDS.get(name) if isinstance(name, str) else None
