"""What definitions as code needs to know about each resource, declared once per resource.

Everything else (validation, defaults, the fields a payload may carry) comes from the resource's
own declaration in its dialect (:class:`~metricscore.resource.Resource`): the create schema gives
the managed fields and their defaults, ``initial_values`` the values a new record starts from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import marshmallow as ma

from ..jsonvalue import copy_json
from ..resource import Resource

__all__ = ["KINDS", "DescriptionMarker", "Kind", "Marker", "ObjectKeyMarker", "TagMarker", "kind_named"]


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
        """A stored record (wire shape) cut down to the managed fields."""
        return {wire: copy_json(record.get(wire)) for wire in self.fields()}

    def archived(self, record: Mapping[str, Any]) -> bool:
        return self.removal == "archive" and record.get("archiveTime") is not None


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
