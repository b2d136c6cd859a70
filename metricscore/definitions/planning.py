"""plan (what would change), apply (carry it out) and export (files from what a target holds).

A record is matched to its definition by the resource's natural key (:mod:`.kinds`). Both sides
are compared on the fields a create payload may carry, after the server's defaults are applied
to the definition, and without the ownership marker, so an unchanged file plans nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypedDict, Unpack, overload

from ..errors import MetricscoreError, ValidationError
from ..generics import TypeVar
from .kinds import Kind, kind_named, unknown_resource
from .loading import Definition, DefinitionSet, scope_key, validate
from .problems import Problem
from .targets import Collection, Target, checked_target

if TYPE_CHECKING:  # the create payloads an export holds, per resource
    from ..dialects.posthog import AccountCreate, GroupUsageMetricCreate
    from ..dialects.sequence import UsageMetricCreate
    from ..dialects.statsig import StatsigMetricCreate

__all__ = [
    "ApplyReport",
    "Change",
    "DefinitionsInvalid",
    "ExportOptions",
    "ExportedDocument",
    "FieldDiff",
    "Plan",
    "PlanError",
    "apply",
    "export",
    "plan",
]

Action = Literal["create", "update", "replace", "remove"]
SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "remove": "-"}


class DefinitionsInvalid(MetricscoreError):
    """The files have problems; nothing was planned or applied."""

    code = "invalid_definitions"
    status = 400

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the definition files; run validate to list them")


class PlanError(MetricscoreError):
    """The target cannot be planned against (e.g. two of its records share a natural key)."""

    code = "plan_error"
    status = 409


@dataclass(frozen=True)
class FieldDiff:
    field: str
    before: Any
    after: Any


@dataclass
class Change:
    action: Action
    kind: Kind
    scope: dict[str, Any]
    key: str
    #: The target record's id (updates, replacements, removals).
    id: str | None = None
    diffs: list[FieldDiff] = field(default_factory=list)
    #: The body sent to the target (creates, updates, replacements).
    payload: dict[str, Any] | None = None
    #: Statsig: the record is archived (or scheduled) and is restored first.
    restore: bool = False
    #: ``file:line:column`` of the definition.
    where: str | None = None
    record: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        scope = ",".join(f"{k}={v}" for k, v in self.scope.items())
        return f"{self.kind.name}[{scope}] {self.key}"

    @property
    def idempotency_key(self) -> str:
        """The same change always sends the same key, so a rerun after a lost reply is safe."""
        body = json.dumps(
            [self.action, self.kind.name, self.scope, self.key, self.id, self.payload], sort_keys=True, default=str
        )
        return "metricscore-" + hashlib.sha256(body.encode()).hexdigest()[:48]

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "resource": self.kind.name,
            "scope": self.scope,
            "key": self.key,
            "id": self.id,
            "restore": self.restore,
            "where": self.where,
            "diffs": [{"field": d.field, "before": d.before, "after": d.after} for d in self.diffs],
        }

    def describe(self) -> str:
        verb = "archive" if self.action == "remove" and self.kind.removal == "archive" else self.action
        lines = [f"{SYMBOLS[self.action]} {verb} {self.label}" + (f"  ({self.where})" if self.where else "")]
        if self.restore:
            lines.append("    restore from archive")
        for diff in self.diffs:
            if self.action == "create":
                lines.append(f"    {diff.field}: {_show(diff.after)}")
            else:
                lines.append(f"    {diff.field}: {_show(diff.before)} -> {_show(diff.after)}")
        return "\n".join(lines)


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    target: str = ""

    @property
    def empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "replace": 0, "remove": 0}
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def summary(self) -> str:
        if self.empty:
            return f"No changes: {self.unchanged} definition(s) match {self.target}."
        c = self.counts()
        return (
            f"Plan: {c['create']} to create, {c['update']} to update, {c['replace']} to replace, "
            f"{c['remove']} to remove ({self.unchanged} unchanged)."
        )

    def render(self) -> str:
        return "\n".join([*(change.describe() for change in self.changes), self.summary()])

    def as_dict(self) -> dict[str, Any]:
        return {"changes": [c.as_dict() for c in self.changes], "unchanged": self.unchanged, "counts": self.counts()}


def _definitions(definitions: DefinitionSet | Iterable[Any], target: Target) -> DefinitionSet:
    from .loading import load

    loaded = definitions if isinstance(definitions, DefinitionSet) else load(definitions)
    problems = validate(loaded, target=target)
    if problems:
        raise DefinitionsInvalid(problems)
    return loaded


def plan(definitions: DefinitionSet | Iterable[Any], target: Target, *, prune: bool = False) -> Plan:
    """What ``apply`` would do to make ``target`` match the files.

    ``definitions``: a :class:`DefinitionSet` or paths (validated first: DefinitionsInvalid lists
    the problems). ``prune``: also remove records of the same resource and scope that carry the
    ownership marker but are no longer in the files (Statsig metrics are archived, not deleted).
    """
    target = checked_target(target)
    loaded = _definitions(definitions, target)
    result = Plan(target=target.description)
    groups = loaded.scopes()
    for identity, (kind, scope) in loaded.declared.items():
        group = groups.get(identity, [])
        collection = target.collection(kind, scope)
        existing = _index(kind, collection)
        wanted: set[str] = set()
        changes: list[Change] = []
        for definition in group:
            wanted.add(definition.key)
            matches = existing.get(definition.key, [])
            if len(matches) > 1:
                raise PlanError(
                    f"{definition.where}: {len(matches)} records of {kind.name} in the target have the natural key "
                    f"{definition.key!r}; make them unique first"
                )
            change = _change(definition, matches[0] if matches else None)
            if change is None:
                result.unchanged += 1
            else:
                changes.append(change)
        result.changes.extend(_ordered(changes))
        if prune:
            for key, records in existing.items():
                for record in records:
                    if key not in wanted and kind.marker.present(record) and not kind.archived(record):
                        result.changes.append(Change("remove", kind, scope, key, id=str(record["id"]), record=record))
    return result


def _index(kind: Kind, collection: Collection) -> dict[str, list[dict[str, Any]]]:
    index: dict[str, list[dict[str, Any]]] = {}
    for record in collection.records():
        index.setdefault(kind.natural_key(kind.project(record)), []).append(record)
    return index


def _change(definition: Definition, record: dict[str, Any] | None) -> Change | None:
    kind = definition.kind
    marker = kind.marker
    want = marker.strip(definition.desired)
    if record is None:
        payload = _marked(definition)
        diffs = [FieldDiff(name, None, value) for name, value in definition.payload.items()]
        return Change(
            "create", kind, definition.scope, definition.key, payload=payload, diffs=diffs, where=definition.where
        )
    have = marker.strip(kind.project(record))
    diffs = [FieldDiff(name, have.get(name), value) for name, value in want.items() if have.get(name) != value]
    restore = kind.archived(record)
    if not diffs and not restore:
        return None
    changed = {d.field for d in diffs}
    action: Action = "update"
    if kind.update_style == "put":
        payload = marker.add({name: value for name, value in want.items()})
    elif kind.update_style == "restricted" and kind.updatable is not None and not changed <= kind.updatable:
        action = "replace"
        payload = _marked(definition)
    else:
        payload = marker.add({name: want[name] for name in (*changed, marker.field) if name in want})
        payload = {name: value for name, value in payload.items() if name in changed or name == marker.field}
    return Change(
        action,
        kind,
        definition.scope,
        definition.key,
        id=str(record["id"]),
        diffs=diffs,
        payload=payload,
        restore=restore,
        where=definition.where,
        record=record,
    )


def _marked(definition: Definition) -> dict[str, Any]:
    """The payload to send, carrying the marker. The marker joins the field's validated value, not
    the raw one: a description ``"x\r"`` is stored trimmed as ``"x"``, but ``"x\r"`` followed by the
    marker line keeps its ``\r``, and the next plan would see a change."""
    payload = dict(definition.payload)
    field = definition.kind.marker.field
    if field in payload and field in definition.desired:
        payload[field] = definition.desired[field]
    return definition.kind.marker.add(payload)


def _ordered(changes: list[Change]) -> list[Change]:
    """Component metrics before the metrics that use them (creates and replacements)."""
    by_key = {c.key: c for c in changes}
    done: set[str] = set()
    out: list[Change] = []

    def visit(change: Change, trail: tuple[str, ...]) -> None:
        if change.key in done or change.key in trail:
            return
        for component in (change.payload or {}).get("metricComponentMetrics") or ():
            if isinstance(component, dict):
                dependency = by_key.get(f"{component.get('name')}::{component.get('type')}")
                if dependency is not None:
                    visit(dependency, (*trail, change.key))
        done.add(change.key)
        out.append(change)

    for change in changes:
        visit(change, ())
    return out


# -- apply ----------------------------------------------------------------------------------------


@dataclass
class ApplyReport:
    done: list[Change] = field(default_factory=list)
    failed: Change | None = None
    error: str | None = None
    not_done: list[Change] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed is None

    def render(self) -> str:
        lines = [f"done: {SYMBOLS[c.action]} {c.label}" for c in self.done]
        if self.failed is not None:
            lines.append(f"FAILED: {SYMBOLS[self.failed.action]} {self.failed.label}: {self.error}")
            lines.extend(f"not done: {SYMBOLS[c.action]} {c.label}" for c in self.not_done)
        c = len(self.done)
        total = c + len(self.not_done) + (self.failed is not None)
        lines.append(f"Applied {c} of {total} change(s)." + ("" if self.ok else " Stopped at the first failure."))
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "done": [c.as_dict() for c in self.done],
            "failed": None if self.failed is None else {**self.failed.as_dict(), "error": self.error},
            "not_done": [c.as_dict() for c in self.not_done],
        }


def apply(planned: Plan, target: Target, *, progress: Callable[[Change], None] | None = None) -> ApplyReport:
    """Carry out ``planned`` in order; stop at the first failure and report what was and was not done.

    ``planned`` must be a :class:`Plan` of :class:`Change` objects and ``target`` a Target, else a
    ValidationError naming the argument, before anything is done."""
    target = checked_target(target)
    if not isinstance(planned, Plan) or type(planned.changes) is not list:
        raise ValidationError({"planned": [f"Expected a Plan (plan(...) gives one), not {type(planned).__name__}."]})
    for index, change in enumerate(planned.changes):
        if not isinstance(change, Change):
            message = f"Expected a list of Change objects; item {index} is a {type(change).__name__}."
            raise ValidationError({"planned": [message]})
    report = ApplyReport()
    collections: dict[tuple[Any, ...], Collection] = {}
    for index, change in enumerate(planned.changes):
        group = scope_key(change.kind, change.scope)
        try:
            collection = collections.get(group)
            if collection is None:
                collection = collections[group] = target.collection(change.kind, change.scope)
            _carry_out(change, collection)
        except MetricscoreError as error:
            report.failed = change
            report.error = f"{error.message or type(error).__name__} [{error.code}]"
            report.not_done = planned.changes[index + 1 :]
            return report
        report.done.append(change)
        if progress is not None:
            progress(change)
    return report


def _carry_out(change: Change, collection: Collection) -> None:
    key = change.idempotency_key
    if change.action == "create":
        assert change.payload is not None
        collection.create(change.payload, idempotency_key=key)
        return
    assert change.id is not None
    if change.action == "remove":
        if change.kind.removal == "archive":
            collection.archive(change.id)
        else:
            collection.delete(change.id, idempotency_key=key)
        return
    if change.restore and change.record is not None:
        collection.restore(change.record)
    assert change.payload is not None
    if change.action == "replace":
        collection.delete(change.id, idempotency_key=key + "-d")
        collection.create(change.payload, idempotency_key=key)
    elif change.kind.update_style == "put":
        collection.replace(change.id, change.payload, idempotency_key=key)
    elif change.diffs:
        collection.update(change.id, change.payload)


# -- export ---------------------------------------------------------------------------------------


#: The create payload (``AccountCreate``...) an :class:`ExportedDocument` holds. A built-in
#: resource's overload below overlaps the last (``resource: str``), which mypy flags as the
#: document's ``definitions`` list is invariant; the first matching overload wins, so none is wrong.
PayloadT = TypeVar("PayloadT", bound=Mapping[str, object], default=dict[str, Any])


class ExportedDocument(TypedDict, Generic[PayloadT]):
    """A definition file's document, as :func:`export` writes it.

    ``definitions`` holds create payloads of the resource's dialect (their wire shape), typed as
    the resource's create ``TypedDict`` when :func:`export` is given a built-in resource by name
    (``ExportedDocument[AccountCreate]``), else as ``dict[str, Any]``.
    """

    resource: str
    scope: dict[str, Any]
    definitions: list[PayloadT]


class ExportOptions(TypedDict, total=False):
    """The keywords of :func:`export` besides the resource and its scope."""

    managed_only: bool
    progress: Callable[[int], None] | None


@overload
def export(  # type: ignore[overload-overlap]
    target: Target, resource: Literal["posthog.accounts"], scope: Mapping[str, Any], **options: Unpack[ExportOptions]
) -> ExportedDocument[AccountCreate]: ...
@overload
def export(  # type: ignore[overload-overlap]
    target: Target,
    resource: Literal["posthog.group_usage_metrics"],
    scope: Mapping[str, Any],
    **options: Unpack[ExportOptions],
) -> ExportedDocument[GroupUsageMetricCreate]: ...
@overload
def export(  # type: ignore[overload-overlap]
    target: Target,
    resource: Literal["sequence.usage_metrics"],
    scope: Mapping[str, Any],
    **options: Unpack[ExportOptions],
) -> ExportedDocument[UsageMetricCreate]: ...
@overload
def export(  # type: ignore[overload-overlap]
    target: Target, resource: Literal["statsig.metrics"], scope: Mapping[str, Any], **options: Unpack[ExportOptions]
) -> ExportedDocument[StatsigMetricCreate]: ...
@overload
def export(
    target: Target, resource: str, scope: Mapping[str, Any], **options: Unpack[ExportOptions]
) -> ExportedDocument[dict[str, Any]]: ...


def export(
    target: Target,
    resource: str,
    scope: Mapping[str, Any],
    *,
    managed_only: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ExportedDocument[Any]:
    """One document holding every record of ``resource`` in ``scope`` as create payloads.

    Fields equal to the server's default are left out, as is the ownership marker; archived
    Statsig metrics are skipped. Applying the result to the same target plans no change.
    ``progress(1)`` is called for each record read.
    """
    from .loading import _service

    target = checked_target(target)
    kind = kind_named(resource)
    if kind is None:
        raise PlanError(unknown_resource(resource))
    checked = dict(_service(kind, scope, "scope").scope)
    definitions: list[tuple[str, dict[str, Any]]] = []
    fields = kind.fields()
    for record in target.collection(kind, checked).records():
        if progress is not None:
            progress(1)
        if kind.archived(record) or (managed_only and not kind.marker.present(record)):
            continue
        projected = kind.marker.strip(kind.project(record))
        payload: dict[str, Any] = {}
        for wire, (attribute, f) in fields.items():
            value = projected.get(wire)
            if f.required or value != kind.default(attribute, f):
                payload[wire] = value
        definitions.append((kind.natural_key(projected), payload))
    # Sorted by natural key: the same target always exports the same file, whatever its page order.
    definitions.sort(key=lambda item: item[0])
    return {"resource": kind.name, "scope": checked, "definitions": [payload for _, payload in definitions]}
