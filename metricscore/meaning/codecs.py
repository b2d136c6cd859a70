"""How dialects read payloads into meanings and write meanings back: contributions, readings,
writings, the codec registry and the helpers codecs share (see :mod:`metricscore.meaning`)."""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from enum import StrEnum
from typing import Any, Protocol

from .model import (
    Condition,
    Display,
    EventField,
    Events,
    Meaning,
    Op,
    TranslationError,
    Unit,
    UnitKind,
    Window,
    WindowKind,
)

__all__ = [
    "Contribution",
    "MeaningCodec",
    "Path",
    "Reading",
    "ReadingBuilder",
    "Writing",
    "WritingBuilder",
    "as_dict",
    "aspects",
    "codec",
    "condition_key",
    "data_keys_of",
    "describe",
    "format_path",
    "get_path",
    "meaning_of",
    "merged_conditions",
    "read",
    "register_codec",
    "translatable_resources",
    "walk",
    "wire_payload",
]

# -- comparing meanings ---------------------------------------------------------------------------


def aspects(meaning: Meaning) -> dict[str, Any]:
    """The meaning as ``{aspect: value}``: what a translation compares, aspect by aspect.

    Condition lists become frozensets (their order never matters) and ``events.where`` is folded
    into every source's conditions (an event must pass both, so where a condition is written does
    not change the meaning); each source is its own group of aspects (``events.sources[0].name``...),
    so a change to one source names that source.
    """
    out: dict[str, Any] = {}
    events = meaning.events
    out["events.source_count"] = len(events.sources)
    for index, source in enumerate(events.sources):
        prefix = f"events.sources[{index}]"
        out[f"{prefix}.name"] = source.name
        out[f"{prefix}.conditions"] = frozenset((*source.conditions, *events.where))
        out[f"{prefix}.measure"] = source.measure
    out["events.supersede"] = events.supersede
    out["events.table"] = events.table
    out["aggregation.kind"] = meaning.aggregation.kind
    out["aggregation.arithmetic"] = meaning.aggregation.arithmetic
    out["unit"] = meaning.unit
    out["group_by"] = meaning.group_by
    out["window"] = meaning.window
    for display_field in fields(meaning.display):
        out[f"display.{display_field.name}"] = getattr(meaning.display, display_field.name)
    return out


# -- what a dialect reads and writes ------------------------------------------------------------

#: A path to a value inside a payload: wire keys and list indexes, e.g. ``("metricEvents", 0, "name")``.
Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    """``("metricEvents", 0, "criteria", 1)`` -> ``metricEvents[0].criteria[1]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not isinstance(part, str):  # a key a JSON object cannot have (a caller's None, a tuple)
            out += f"[{part!r}]"
        elif part.isidentifier() or (part.startswith("$") and part[1:].isidentifier()):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


@dataclass(frozen=True)
class Contribution:
    """What one payload field put into a meaning: ``aspect`` (a key of :func:`aspects`) and the
    part it put there (the whole value, or one member of a set-valued aspect such as conditions)."""

    aspect: str
    part: Any
    member: bool = False

    def holds_in(self, target: Mapping[str, Any]) -> bool:
        """Does a meaning (as :func:`aspects`) still carry this contribution?"""
        if self.aspect not in target:
            return False
        if self.member:
            return self.part in target[self.aspect]
        return bool(_same(target[self.aspect], self.part))


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


@dataclass(frozen=True)
class Reading:
    """A validated payload read as a meaning.

    ``payload``: the validated payload in wire names (defaults applied), which ``fields`` and
    ``dropped`` refer to. ``fields``: each payload field (path) and what it contributed.
    ``dropped``: payload fields that have no place in the meaning, with the reason.
    """

    meaning: Meaning
    payload: Mapping[str, Any]
    fields: Mapping[Path, tuple[Contribution, ...]] = field(default_factory=dict)
    dropped: Mapping[Path, str] = field(default_factory=dict)


class ReadingBuilder:
    """Collects, while a codec reads a payload, what each field contributed and what was dropped."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        self.payload = payload
        self.fields: dict[Path, tuple[Contribution, ...]] = {}
        self.dropped: dict[Path, str] = {}

    def feeds(self, path: Path, aspect: str, part: Any, *, member: bool = False) -> None:
        """``path`` put ``part`` into ``aspect`` (a member of it when ``member``)."""
        self.fields[path] = (*self.fields.get(path, ()), Contribution(aspect, part, member))

    def drop(self, path: Path, reason: str) -> None:
        """``path`` has no place in the meaning, because ``reason``."""
        self.fields.pop(path, None)
        self.dropped[path] = reason

    def build(self, meaning: Meaning) -> Reading:
        return Reading(meaning, self.payload, dict(self.fields), dict(self.dropped))


def describe(value: Any) -> str:
    """A short human text for a part of a meaning (used in translation reports)."""
    if isinstance(value, Condition):
        text = f"{value.field} {value.op.value}"
        if value.values:
            text += " " + ", ".join(json.dumps(v, ensure_ascii=False) for v in value.values)
        if not value.case_sensitive:
            text += " (case-insensitive)"
        if value.missing_passes and value.op is not Op.IS_NOT_SET:
            text += " (missing passes)"
        return text
    if isinstance(value, (frozenset, set)):
        return "{" + "; ".join(sorted(describe(item) for item in value)) + "}" if value else "none"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(describe(item) for item in value) + "]"
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, EventField):
        return str(value)
    if isinstance(value, Window):
        return f"trailing {value.days} days" if value.kind is WindowKind.TRAILING_DAYS else value.kind.value
    if isinstance(value, Unit):
        return (
            f"per {', '.join(value.id_types) or 'unit'}"
            if value.kind is UnitKind.ID_TYPE
            else f"per {value.kind.value}"
        )
    if is_dataclass(value) and not isinstance(value, type):
        return json.dumps(as_dict(value), ensure_ascii=False)
    if value is None:
        return "none"
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


def condition_key(condition: Condition) -> tuple[Any, ...]:
    """A total order on conditions, so writers list them the same way whatever the input order."""
    field_ = condition.field
    return (field_.kind.value, field_.name, condition.op.value, condition.values,
            condition.case_sensitive, condition.missing_passes)  # fmt: skip


def merged_conditions(events: Events) -> tuple[tuple[Condition, ...], ...]:
    """Each source's conditions with ``where`` folded in, deduplicated and sorted."""
    return tuple(
        tuple(sorted(set((*source.conditions, *events.where)), key=condition_key)) for source in events.sources
    )


class WritingBuilder:
    """Collects, while a codec writes a meaning, the notes on what it could not say and the defaults."""

    def __init__(self, resource: str) -> None:
        self.resource = resource
        self.notes: dict[str, tuple[str, ...]] = {}
        self.defaults: dict[str, str] = {}

    def note(self, aspect: str, text: str) -> None:
        """``aspect`` could not be written exactly, because ``text`` (notes on one aspect add up)."""
        if text not in self.notes.get(aspect, ()):
            self.notes[aspect] = (*self.notes.get(aspect, ()), text)

    def expect(self, aspect: str, actual: Any, wanted: Any, text: str) -> None:
        """Note ``text`` on ``aspect`` when the meaning has ``actual`` where the dialect can only say ``wanted``."""
        if actual != wanted:
            self.note(aspect, text)

    def display_facts(self, display: Display, facts: Mapping[str, str], dialect: str) -> None:
        """Note each display fact in ``facts`` (field -> wording) the meaning sets and ``dialect`` lacks."""
        for name, wording in facts.items():
            if getattr(display, name):
                self.note(f"display.{name}", f"{dialect} have no {wording}.")

    def default(self, wire_name: str, reason: str) -> None:
        self.defaults[wire_name] = reason

    def refuse(self, text: str) -> TranslationError:
        """The error to raise when the meaning cannot be said in this dialect at all."""
        return TranslationError(f"{self.resource} cannot express this definition: {text}")

    def build(self, payload: dict[str, Any]) -> Writing:
        return Writing(payload, dict(self.notes), dict(self.defaults))


@dataclass(frozen=True)
class Writing:
    """A meaning written as a dialect's payload.

    ``notes``: aspect -> why it could not be written exactly (the translation report shows the
    reasons beside the fields that fed that aspect). ``defaults``: target fields the meaning did not
    determine, filled with a value, each with the reason.
    """

    payload: dict[str, Any]
    notes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)


class MeaningCodec(Protocol):
    """A dialect's two mappings for one resource."""

    #: The resource's dotted name, e.g. ``"sequence.usage_metrics"``.
    resource: str
    #: The names of the resource's scope (e.g. ``("project_id", "group_type_index")``).
    scope: tuple[str, ...]

    def read(self, payload: Any) -> Reading:
        """Validate ``payload`` (a create body or a stored record as the API renders it) and read it.

        Raises :class:`~metricscore.ValidationError` when the payload is invalid, and
        :class:`TranslationError` when the payload is valid but has no canonical meaning (a
        Statsig funnel, for instance).
        """
        ...

    def write(self, meaning: Meaning) -> Writing:
        """A payload valid for this resource's own validation that says ``meaning`` as closely as
        the dialect can; raises :class:`TranslationError` when the dialect cannot say it at all."""
        ...


#: Resource name -> "module:attribute" of its codec, imported on first use.
_BUILTIN: dict[str, str] = {
    "posthog.group_usage_metrics": "metricscore.dialects.posthog.meaning:GROUP_USAGE_METRIC_MEANING",
    "sequence.usage_metrics": "metricscore.dialects.sequence.meaning:USAGE_METRIC_MEANING",
    "statsig.metrics": "metricscore.dialects.statsig.meaning:METRIC_MEANING",
}
#: Resources that exist but have no metric meaning, with the reason a translation gives.
_NO_MEANING: dict[str, str] = {
    "posthog.accounts": (
        "posthog.accounts are customer accounts, not metric definitions: no other dialect has a "
        "counterpart, so they are not translated."
    ),
}
_runtime: dict[str, MeaningCodec] = {}
_lock = threading.Lock()


def register_codec(codec: MeaningCodec) -> None:
    """Make a third-party dialect's resource translatable (replaces an earlier registration)."""
    with _lock:
        _runtime[codec.resource] = codec


def translatable_resources() -> list[str]:
    """The resources that have a canonical meaning, sorted."""
    return sorted({*_BUILTIN, *_runtime})


def codec(resource: Any) -> MeaningCodec:
    """The codec of ``resource`` (its dotted name); a :class:`TranslationError` for any other value."""
    if isinstance(resource, str):
        resource = str.__str__(resource)  # a str subclass's own __eq__ / __hash__ are not trusted
        with _lock:
            found = _runtime.get(resource)
        if found is not None:
            return found
        if resource in _BUILTIN:
            module_name, _, attribute = _BUILTIN[resource].partition(":")
            loaded: MeaningCodec = getattr(importlib.import_module(module_name), attribute)
            return loaded
        if resource in _NO_MEANING:
            raise TranslationError(_NO_MEANING[resource], code="unknown_resource")
    known = ", ".join(translatable_resources())
    shown = resource if isinstance(resource, str) else type(resource).__name__
    raise TranslationError(f"{str(shown)[:100]!r} is not a metric resource; known: {known}.", code="unknown_resource")


def read(resource: str, payload: Any) -> Reading:
    """Validate ``payload`` as ``resource`` and read its meaning (see :meth:`MeaningCodec.read`)."""
    return codec(resource).read(payload)


def meaning_of(resource: str, payload: Any) -> Meaning:
    """The canonical meaning of a ``resource`` payload (a create body or a rendered record)."""
    return read(resource, payload).meaning


# -- helpers for codecs ------------------------------------------------------------------------


def wire_payload(load: Callable[[Any], dict[str, Any]], data_keys: Mapping[str, str], payload: Any) -> dict[str, Any]:
    """Validate with ``load`` (attribute names out) and rename to wire names with ``data_keys``."""
    validated = load(payload)
    return {data_keys.get(name, name): value for name, value in validated.items()}


def data_keys_of(schema: Any) -> dict[str, str]:
    """Attribute name -> wire name of a marshmallow schema's fields."""
    return {name: (schema_field.data_key or name) for name, schema_field in schema.fields.items()}


def walk(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every (path, value) of a JSON value, depth first, containers before their items."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, (*path, index))


def get_path(payload: Any, path: Path) -> Any:
    """The value at ``path``; a :class:`KeyError` when there is none."""
    value = payload
    for part in path:
        if isinstance(part, int):
            if not isinstance(value, list) or not -len(value) <= part < len(value):
                raise KeyError(path)
        elif not isinstance(value, dict) or part not in value:
            raise KeyError(path)
        value = value[part]
    return value


def as_dict(value: Any) -> Any:
    """A meaning (or any part of it) as plain JSON-able data, for reports and debugging."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_dict(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, (tuple, list, frozenset, set)):
        items = [as_dict(item) for item in value]
        return sorted(items, key=json.dumps) if isinstance(value, (frozenset, set)) else items
    return value
