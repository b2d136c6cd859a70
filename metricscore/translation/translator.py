"""``translate()``: a metric definition from one dialect to another, with a report of every loss.

The source payload is validated and read as a canonical :class:`~metricscore.meaning.Meaning`; the
target dialect writes that meaning as its own payload; the written payload is read back and its
meaning compared with the source's, aspect by aspect. The report is built from that comparison, so
it cannot claim a field survived when the target's own reading says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, Literal, NamedTuple, overload

from ..errors import ErrorMessage, ValidationError
from ..generics import TypeVar
from ..meaning import (
    Condition,
    Contribution,
    Path,
    Reading,
    TranslationError,
    Writing,
    aspects,
    codec,
    describe,
    format_path,
    walk,
)

if TYPE_CHECKING:
    from ..dialects.posthog import GroupUsageMetricCreate
    from ..dialects.sequence import UsageMetricCreate
    from ..dialects.statsig import StatsigMetricCreate

__all__ = [
    "CONTEXT_ASPECTS",
    "FieldOutcome",
    "FilledDefault",
    "ImpliedChange",
    "Status",
    "Translation",
    "TranslationReport",
    "translate",
]


class Status(StrEnum):
    """What became of a source field (or of a part of the meaning no field states)."""

    EXACT = "exact"  #: the target says the same thing
    APPROXIMATED = "approximated"  #: the target says something close; ``detail`` says what changed
    DROPPED = "dropped"  #: the target says nothing of it; ``detail`` says why


#: Parts of the meaning that each dialect imposes on every definition: how it is evaluated rather
#: than what it computes. Their changes are always reported (``report.context``); ``strict`` does
#: not refuse them, or no translation between two dialects could ever be strict.
CONTEXT_ASPECTS = frozenset({"unit", "window", "events.supersede"})


@dataclass(frozen=True)
class FieldOutcome:
    """One source field (``path`` into the validated source payload) and what became of it.

    ``aspects``: the parts of the meaning (keys of :func:`~metricscore.meaning.aspects`) that the
    field stated and the target does not say the same way; empty when exact or dropped on reading.
    """

    path: Path
    status: Status
    detail: str = ""
    aspects: tuple[str, ...] = ()

    @property
    def context_only(self) -> bool:
        """True when only the evaluation context (unit, window, supersede rule) changed."""
        return bool(self.aspects) and set(self.aspects) <= CONTEXT_ASPECTS

    @property
    def field(self) -> str:
        """The field as text, e.g. ``metricEvents[0].criteria[1]``."""
        return format_path(self.path)

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "status": self.status.value, "detail": self.detail, "aspects": list(self.aspects)}


@dataclass(frozen=True)
class ImpliedChange:
    """A part of the meaning that the source dialect implies (no field states it) and that changed,
    e.g. the window: a Sequence billing period becoming PostHog's trailing days."""

    aspect: str
    status: Status
    detail: str
    #: The source said nothing of it and the target states its own default (not a loss).
    filled: bool = False

    @property
    def is_loss(self) -> bool:
        """Does ``strict`` refuse it? Not for the evaluation context, a default filled where the
        source said nothing, or a display fact no sent field stated (a source default)."""
        return not (self.aspect in CONTEXT_ASPECTS or self.filled or self.aspect.startswith("display."))

    def to_dict(self) -> dict[str, Any]:
        return {"aspect": self.aspect, "status": self.status.value, "detail": self.detail, "filled": self.filled}


@dataclass(frozen=True)
class FilledDefault:
    """A target field the source did not determine, and the value it was given."""

    field: str
    value: Any
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "value": self.value, "reason": self.reason}


@dataclass(frozen=True)
class TranslationReport:
    """Every source field's outcome, the implied changes, and the target fields filled by default."""

    source: str
    target: str
    fields: tuple[FieldOutcome, ...]
    implied: tuple[ImpliedChange, ...]
    defaults: tuple[FilledDefault, ...]

    @property
    def losses(self) -> tuple[FieldOutcome | ImpliedChange, ...]:
        """What ``strict`` refuses: sent fields not exact, except when only the evaluation context
        changed (:attr:`context`), and implied changes to what is computed
        (:attr:`ImpliedChange.is_loss`)."""
        return (
            *(item for item in self.fields if item.status is not Status.EXACT and not item.context_only),
            *(item for item in self.implied if item.is_loss),
        )

    @property
    def context(self) -> tuple[FieldOutcome | ImpliedChange, ...]:
        """Changes to the evaluation context only: the unit, the window, the supersede rule."""
        return (
            *(item for item in self.fields if item.context_only),
            *(item for item in self.implied if item.aspect in CONTEXT_ASPECTS),
        )

    @property
    def exact(self) -> bool:
        """True when the target says exactly what the source says, context included."""
        return not self.losses and not self.context and not any(item.filled for item in self.implied)

    def outcome(self, field: str) -> FieldOutcome:
        """The outcome of one source field, by its text (``"propertyFilters.plan"``, ``"metricEvents[0].name"``)."""
        for item in self.fields:
            if item.field == field:
                return item
        raise KeyError(field)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "fields": [item.to_dict() for item in self.fields],
            "implied": [item.to_dict() for item in self.implied],
            "defaults": [item.to_dict() for item in self.defaults],
        }

    def lines(self, *, losses_only: bool = False) -> list[str]:
        """Every item that is not exact, then the defaults, as lines for people; with
        ``losses_only``, only what ``strict`` refuses (:attr:`losses`)."""
        if losses_only:
            return [_line(item) for item in self.losses]
        out = [_line(item) for item in self.fields if item.status is not Status.EXACT]
        out += [_line(item) for item in self.implied]
        out += [f"{item.field}: default {describe(item.value)}: {item.reason}" for item in self.defaults]
        return out


def _line(item: FieldOutcome | ImpliedChange) -> str:
    label = item.field if isinstance(item, FieldOutcome) else f"({item.aspect})"
    return f"{label}: {item.status.value}: {item.detail}"


#: The target's create payload (``UsageMetricCreate``...) a :class:`Translation` holds.
PayloadT = TypeVar("PayloadT", bound=Mapping[str, object], covariant=True, default=Mapping[str, Any])


class Translation(NamedTuple, Generic[PayloadT]):
    """``(payload, report)``: the target payload and what became of each source field.

    ``payload`` is typed as the target's create payload when :func:`translate` is given a built-in
    target by name (``Translation[UsageMetricCreate]``), so it passes to that service's ``create``.
    """

    payload: PayloadT
    report: TranslationReport


@overload
def translate(
    payload: Any, source: str, target: Literal["sequence.usage_metrics"], *, strict: bool = False
) -> Translation[UsageMetricCreate]: ...
@overload
def translate(
    payload: Any, source: str, target: Literal["statsig.metrics"], *, strict: bool = False
) -> Translation[StatsigMetricCreate]: ...
@overload
def translate(
    payload: Any, source: str, target: Literal["posthog.group_usage_metrics"], *, strict: bool = False
) -> Translation[GroupUsageMetricCreate]: ...
@overload
def translate(payload: Any, source: str, target: str, *, strict: bool = False) -> Translation[dict[str, Any]]: ...


def translate(payload: Any, source: str, target: str, *, strict: bool = False) -> Translation[Any]:
    """Translate a metric definition ``payload`` from the ``source`` resource to the ``target`` one.

    ``source``/``target`` are dotted resource names (``"statsig.metrics"``,
    ``"sequence.usage_metrics"``, ``"posthog.group_usage_metrics"``). Returns the target payload,
    valid for the target's own validation, and a :class:`TranslationReport`.

    Raises :class:`~metricscore.ValidationError` when ``payload`` is invalid for ``source``;
    :class:`~metricscore.meaning.TranslationError` with code ``untranslatable`` when the target
    cannot express the definition at all (or the source type has no canonical meaning),
    ``unknown_resource`` for a resource that has no metric meaning (PostHog accounts), and, with
    ``strict=True``, ``lossy_translation`` listing every item that is not exact.
    """
    if not isinstance(strict, bool):  # a truthy "no" must not mean strict, nor a NumPy bool raise
        raise ValidationError({"strict": [ErrorMessage("Expected true or false.", "invalid")]})
    reader, writer = codec(source), codec(target)
    source, target = reader.resource, writer.resource  # the codecs' own names (a str subclass is not kept)
    reading = reader.read(payload)
    unknown = _unknown_fields(source, payload)
    if unknown:  # the source's validation ignores them: listed, so that none goes without a word
        reading = replace(reading, dropped={**reading.dropped, **unknown})
    writing = writer.write(reading.meaning)
    try:
        result = writer.read(writing.payload)
    except ValidationError as error:  # the target's own limits (lengths, counts, a blank name): never handed out
        raise TranslationError(f"{target} cannot hold this definition: {error}", code="untranslatable") from error
    except TranslationError as error:  # a writer bug: a payload with no meaning in its own dialect
        raise TranslationError(
            f"The {target} payload written for this definition does not read back: {error}", code="translation_failed"
        ) from error
    sent = set(payload) if isinstance(payload, dict) else set()
    report = _report(source, target, reading, writing, result, sent)
    if strict and report.losses:
        listed = "; ".join(_line(item) for item in report.losses)
        raise TranslationError(
            f"Translating {source} to {target} is not exact: {listed}", code="lossy_translation", items=report.losses
        )
    return Translation(writing.payload, report)


_EMPTY: tuple[Any, ...] = (None, (), frozenset(), False)


def _unknown_fields(resource: str, payload: Any) -> dict[Path, str]:
    """The keys of ``payload``, at any depth, that ``resource``'s create schema does not know, each
    with the reason it is dropped (a vendor ignores such a key, so a misspelt ``metadatakey`` or an
    unsupported ``propertiesToNegate`` would change the meaning without a word).

    Not listed: the fields a server sets on its records (``id``, ``createdAt``...) and the scope
    fields, which are no part of a definition (a record as the API renders it translates as is).
    """
    from ..definitions.kinds import kind_named  # definitions-as-code is imported when needed only

    kind = kind_named(resource)
    if kind is None or not isinstance(payload, dict):
        return {}
    record = kind.resource.record_type
    outside = {*kind.resource.scope_fields, *record.__required_keys__, *record.__optional_keys__}
    found: dict[Path, str] = {}
    for item in kind.unknown_fields(payload):
        if len(item.path) == 1 and item.path[0] in outside:
            continue
        hint = item.message.removeprefix("unknown field").lstrip(";: ")
        hint = f"; {hint}" if hint else ""
        found[item.path] = f"{resource} has no such field and ignores it{hint}" + ("" if hint.endswith("?") else ".")
    return found


def _report(
    source: str, target: str, reading: Reading, writing: Writing, result: Reading, sent: set[Any]
) -> TranslationReport:
    """Fields the caller sent are listed; a default of the source that changed shows as implied."""
    before, after = aspects(reading.meaning), aspects(result.meaning)
    explained: set[str] = set()
    outcomes: list[FieldOutcome] = []
    for path in _ordered(reading):
        if path[0] not in sent:
            continue
        if path in reading.dropped:
            outcomes.append(FieldOutcome(path, Status.DROPPED, reading.dropped[path]))
            continue
        lost = [c for c in reading.fields[path] if not c.holds_in(after)]
        if not lost:
            outcomes.append(FieldOutcome(path, Status.EXACT))
            continue
        explained.update(c.aspect for c in lost)
        status = Status.DROPPED if all(_gone(c, after) for c in lost) else Status.APPROXIMATED
        lost_aspects = tuple(dict.fromkeys(c.aspect for c in lost))
        outcomes.append(FieldOutcome(path, status, _detail(lost, after, writing.notes), lost_aspects))
    implied: list[ImpliedChange] = []
    for aspect in sorted(before.keys() | after.keys()):
        was, now = before.get(aspect), after.get(aspect)
        if aspect in explained or _same(was, now):
            continue
        notes = writing.notes.get(aspect) or (f"{describe(was)} became {describe(now)}.",)
        status = Status.DROPPED if now in _EMPTY and was not in _EMPTY else Status.APPROXIMATED
        implied.append(ImpliedChange(aspect, status, " ".join(notes), filled=was in _EMPTY))
    defaults = [
        FilledDefault(name, writing.payload[name], reason)
        for name, reason in writing.defaults.items()
        if name in writing.payload
    ]
    defaults += [
        FilledDefault(name, value, writing.defaults.get(name, f"{target}'s own default."))
        for name, value in result.payload.items()
        if name not in writing.payload
    ]
    return TranslationReport(source, target, tuple(outcomes), tuple(implied), tuple(defaults))


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and bool(a == b)


def _ordered(reading: Reading) -> list[Path]:
    """The source fields in the payload's own order (a field absent from it follows its parent)."""
    position = {path: index for index, (path, _) in enumerate(walk(dict(reading.payload)))}

    def key(path: Path) -> tuple[int, int]:
        for cut in range(len(path), 0, -1):
            if path[:cut] in position:
                return position[path[:cut]], len(path) - cut
        return len(position), 0

    return sorted({*reading.fields, *reading.dropped}, key=key)


def _gone(contribution: Contribution, after: Mapping[str, Any]) -> bool:
    """Does the target say nothing at all of what this contribution said?"""
    if contribution.aspect not in after:
        return True
    now = after[contribution.aspect]
    if contribution.member and isinstance(contribution.part, Condition):
        return not any(c.field == contribution.part.field for c in now)
    return now in _EMPTY and contribution.part not in _EMPTY


def _detail(lost: list[Contribution], after: Mapping[str, Any], notes: Mapping[str, tuple[str, ...]]) -> str:
    texts: list[str] = []
    for contribution in lost:
        aspect_notes = notes.get(contribution.aspect, ())
        if contribution.member:
            mine = describe(contribution.part)
            picked = [note for note in aspect_notes if mine in note] or [f"{mine} is not kept."]
        else:
            now = after.get(contribution.aspect)
            picked = list(aspect_notes) or [f"{describe(contribution.part)} became {describe(now)}."]
        texts.extend(text for text in picked if text not in texts)
    return " ".join(texts)
