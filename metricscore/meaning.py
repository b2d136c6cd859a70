"""The canonical meaning of a metric definition, free of any vendor's spelling.

A PostHog group usage metric, a Sequence usage metric and a Statsig metric each say, in their own
words, *which events* to read, *what* to compute from them, *per what* and *over which window*.
:class:`Meaning` says it once::

    Meaning
    ├── events: Events          which events (or warehouse rows) are read
    │   ├── sources             alternatives: an event counts when it matches one of them
    │   │   └── EventSource     event name (or any), its own conditions, the value it measures
    │   ├── where               conditions every counted event must also pass
    │   ├── supersede           whether a later event replaces an earlier one with the same id
    │   └── table               a data-warehouse table read instead of events
    ├── aggregation             count, unique values, active units, sum, mean, max, min, latest
    ├── unit                    per customer / per group / per unit id of some id types
    ├── group_by                an event field whose values split the result into groups
    ├── window                  a named period, a trailing number of days, or one value per day
    └── display                 name, description, unit, tags, direction, currency, sparkline

Each field means exactly one thing, so the meaning is what a translation between dialects
compares (:func:`aspects`) and what an evaluator of definitions over events compiles. The
readings behind the fields (how a value becomes text or a number, what a missing property does)
are stated on the classes and follow ``evaluation-semantics.md``:

- **Text form** of an event field, used by every condition: a string as is, a number as JSON
  writes it (``12``, ``2.5``), a boolean as ``true``/``false``. ``null`` and a missing field have
  no text form: the condition's ``missing_passes`` decides.
- **Numeric reading**, used by sum, mean, max, min, latest and by ``gt``/``ge``/``lt``/``le``: a
  JSON number, or a string that is a plain decimal number (``"-2.5"``, ``"12"``, ``"1e3"``);
  booleans, ``null``, missing fields, empty or other text give no number and are skipped.

Each metric dialect maps its *validated* payload to a meaning (:class:`Reading`, which also says
which payload field fed which part of the meaning and which fields have no place in it) and back
(:class:`Writing`). Dialects register their codec under the resource's dotted name; the core
never imports a dialect, it only names the module that registers it (as backends are named).
"""

from __future__ import annotations

import importlib
import json
import math
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Protocol

from .errors import MetricscoreError

__all__ = [
    "NUMERIC_AGGREGATIONS",
    "NUMERIC_OPS",
    "VALUE_AGGREGATIONS",
    "Aggregation",
    "AggregationKind",
    "Arithmetic",
    "Condition",
    "Contribution",
    "Direction",
    "Display",
    "EventField",
    "EventSource",
    "Events",
    "FieldKind",
    "Meaning",
    "MeaningCodec",
    "Op",
    "Path",
    "Reading",
    "ReadingBuilder",
    "Supersede",
    "TranslationError",
    "Unit",
    "UnitKind",
    "WarehouseTable",
    "Window",
    "WindowKind",
    "Writing",
    "as_dict",
    "aspects",
    "codec",
    "data_keys_of",
    "format_path",
    "get_path",
    "meaning_of",
    "numeric_value",
    "read",
    "register_codec",
    "text_form",
    "translatable_resources",
    "walk",
    "wire_payload",
]


class TranslationError(MetricscoreError):
    """A definition cannot be carried into another dialect (or, strict, not without a loss).

    ``code`` is ``"untranslatable"`` when the target cannot express the definition's meaning at
    all, ``"lossy_translation"`` when ``strict=True`` met non-exact items (listed in ``items``),
    ``"unknown_resource"`` for a resource with no metric meaning.
    """

    status = 422

    def __init__(self, message: str, *, code: str = "untranslatable", items: tuple[Any, ...] = ()) -> None:
        super().__init__(message)
        self.code = code  # type: ignore[misc]
        self.items = items


# -- events -----------------------------------------------------------------------------------


class FieldKind(StrEnum):
    """Where on an event a value is read."""

    #: ``properties[name]`` of the event (Sequence ``eventProperties``, PostHog ``properties``,
    #: Statsig ``metadata``).
    PROPERTY = "property"
    #: The event's own top-level ``value`` (Statsig); ``name`` is empty.
    VALUE = "value"
    #: ``user[name]``: a field of the user who sent the event (Statsig ``user``, PostHog person
    #: properties).
    USER = "user"
    #: ``user.custom[name]``: a custom field of the user (Statsig ``user_custom``).
    USER_CUSTOM = "user_custom"
    #: A column (or expression over columns) of a data-warehouse table (:class:`WarehouseTable`).
    COLUMN = "column"


@dataclass(frozen=True)
class EventField:
    """A value read from each event: ``kind`` says where, ``name`` which one."""

    kind: FieldKind
    name: str = ""

    def __str__(self) -> str:
        return self.kind.value if self.kind is FieldKind.VALUE else f"{self.kind.value}:{self.name}"


class Op(StrEnum):
    """How a condition tests an event field. With several ``values`` the positive operators pass
    when the test passes for one of them; the ``NOT_*`` ones are their exact complements over events
    that have the field."""

    IN = "in"  #: text form equals one of ``values``
    NOT_IN = "not_in"  #: text form equals none of ``values``
    CONTAINS = "contains"  #: text form contains one of ``values``
    NOT_CONTAINS = "not_contains"  #: text form contains none of ``values``
    STARTS_WITH = "starts_with"  #: text form starts with one of ``values``
    ENDS_WITH = "ends_with"  #: text form ends with one of ``values``
    GT = "gt"  #: numeric reading greater than one of ``values`` (read as numbers)
    GE = "ge"  #: ... greater than or equal
    LT = "lt"  #: ... less than
    LE = "le"  #: ... less than or equal
    IS_SET = "is_set"  #: present and not null (``values`` empty)
    IS_NOT_SET = "is_not_set"  #: missing or null (``values`` empty)


#: Ordered comparisons: fail when either side has no numeric reading; case plays no part.
NUMERIC_OPS = frozenset({Op.GT, Op.GE, Op.LT, Op.LE})


@dataclass(frozen=True)
class Condition:
    """One test an event must pass.

    ``values`` are sorted and unique (their order never matters). ``case_sensitive`` applies to
    the text operators only. ``missing_passes`` is the outcome for an event whose field is missing
    or ``null`` (for ``IS_SET`` it is always false, for ``IS_NOT_SET`` always true).
    """

    field: EventField
    op: Op
    values: tuple[str, ...] = ()
    case_sensitive: bool = True
    missing_passes: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(sorted(set(self.values))))
        if self.op is Op.IS_SET:
            object.__setattr__(self, "missing_passes", False)
        elif self.op is Op.IS_NOT_SET:
            object.__setattr__(self, "missing_passes", True)
        if self.op in NUMERIC_OPS or self.op in (Op.IS_SET, Op.IS_NOT_SET):
            object.__setattr__(self, "case_sensitive", True)


@dataclass(frozen=True)
class EventSource:
    """One kind of event a metric reads.

    ``name``: the event name (type) an event must have, compared case-sensitively; ``None`` means
    any event. ``conditions``: every one must pass. ``measure``: the field whose value this
    source's events contribute to a value aggregation (sum, mean, max, min, latest, unique
    values); ``None`` for count and active units, and for a value aggregation it means the events
    contribute no value (they still count as matched events).
    """

    name: str | None
    conditions: tuple[Condition, ...] = ()
    measure: EventField | None = None


class Supersede(StrEnum):
    """Whether an event can replace an earlier one."""

    NONE = "none"  #: every event stands
    #: Of the events sharing a customer event id, only the last received counts (Sequence).
    LAST_RECEIVED = "last_received"


@dataclass(frozen=True)
class WarehouseTable:
    """Rows of a data-warehouse table read instead of events (PostHog ``data_warehouse``)."""

    table: str
    timestamp_field: str  #: the column holding each row's time
    key_field: str  #: the column holding each row's unit key (the group key)


@dataclass(frozen=True)
class Events:
    """Which events are read. An event is read when it passes every ``where`` condition and matches
    at least one source (the first that matches; an event is never read twice). No sources: no
    event is read. With ``table`` set, the rows of that table are read instead of events, through
    one unnamed source (whose ``measure`` is a :attr:`FieldKind.COLUMN`)."""

    sources: tuple[EventSource, ...]
    where: tuple[Condition, ...] = ()
    supersede: Supersede = Supersede.NONE
    table: WarehouseTable | None = None

    @property
    def reads_everything(self) -> bool:
        """True when every event passes (an unnamed source and no condition at all)."""
        return self.table is None and not self.where and any(s.name is None and not s.conditions for s in self.sources)


# -- what is computed ----------------------------------------------------------------------------


class AggregationKind(StrEnum):
    """What is computed from the events read, per unit (and group) and window."""

    COUNT = "count"  #: number of events read; 0 when none
    #: number of distinct text forms of the sources' measures (missing and null are not values)
    UNIQUE_VALUES = "unique_values"
    #: 1 when the unit had at least one event read in the window, else 0 (Statsig ``event_user``)
    ACTIVE_UNITS = "active_units"
    SUM = "sum"  #: sum of the numeric readings; 0 when none
    MEAN = "mean"  #: sum / number of numeric readings; null when none
    MAX = "max"  #: largest numeric reading; null when none
    MIN = "min"  #: smallest numeric reading; null when none
    #: numeric reading of the event with the greatest timestamp (ties: the last received); null when none
    LATEST = "latest"


#: Aggregations that read a value from each event (:attr:`EventSource.measure`).
VALUE_AGGREGATIONS = frozenset(
    {
        AggregationKind.UNIQUE_VALUES,
        AggregationKind.SUM,
        AggregationKind.MEAN,
        AggregationKind.MAX,
        AggregationKind.MIN,
        AggregationKind.LATEST,
    }
)
#: Aggregations that do arithmetic on numeric readings.
NUMERIC_AGGREGATIONS = VALUE_AGGREGATIONS - {AggregationKind.UNIQUE_VALUES}


class Arithmetic(StrEnum):
    """How numeric readings are added."""

    DECIMAL = "decimal"  #: exact decimal arithmetic (0.1 + 0.2 == 0.3)
    FLOAT64 = "float64"  #: IEEE double precision, as ClickHouse's Float64 (PostHog)


@dataclass(frozen=True)
class Aggregation:
    """``kind``; ``arithmetic`` is set for the numeric kinds only (``None`` otherwise)."""

    kind: AggregationKind
    arithmetic: Arithmetic | None = None

    def __post_init__(self) -> None:
        if self.kind not in NUMERIC_AGGREGATIONS:
            object.__setattr__(self, "arithmetic", None)
        elif self.arithmetic is None:
            object.__setattr__(self, "arithmetic", Arithmetic.DECIMAL)


class UnitKind(StrEnum):
    """What one result is computed for."""

    #: A Sequence customer: events whose ``customerAlias`` is one of the aliases a calculation names.
    CUSTOMER = "customer"
    #: A PostHog group of the metric's group type (its scope): events whose ``$group_N`` is the key.
    GROUP = "group"
    #: A unit id of each type in ``id_types`` (Statsig ``unitTypes``: ``userID`` is ``user.userID``,
    #: any other type is ``user.customIDs[type]``); an event without that id does not count for it.
    ID_TYPE = "id_type"


@dataclass(frozen=True)
class Unit:
    """Per what the value is computed; ``id_types`` is set for ``ID_TYPE`` only (order kept)."""

    kind: UnitKind
    id_types: tuple[str, ...] = ()


class WindowKind(StrEnum):
    """Which events, by time, one value covers. Times are compared as instants."""

    #: From a start date 00:00 UTC to the day after an end date (inclusive end), both named when
    #: evaluating (Sequence's billing period).
    PERIOD = "period"
    #: ``[now - days, now]`` (both ends inclusive), plus the previous stretch
    #: ``[now - 2 * days, now - days)`` for comparison (PostHog's ``interval``).
    TRAILING_DAYS = "trailing_days"
    #: One value per day; a day starts at a fixed UTC offset (no daylight saving), named when
    #: evaluating, ``-08:00`` by default (Statsig's day).
    DAY = "day"


@dataclass(frozen=True)
class Window:
    """``kind``; ``days`` is set for ``TRAILING_DAYS`` only."""

    kind: WindowKind
    days: int | None = None


class Direction(StrEnum):
    """Which way a change is good."""

    INCREASE = "increase"
    DECREASE = "decrease"


@dataclass(frozen=True)
class Display:
    """Facts for people; none changes a computed value.

    ``description``/``unit``: ``None`` when not given (blank counts as not given). ``tags`` keep
    their order. ``direction``: ``None`` when the definition does not say. ``currency``: the value
    is money. ``sparkline``: a daily series is shown (and returned) beside the value.
    """

    name: str
    description: str | None = None
    unit: str | None = None
    tags: tuple[str, ...] = ()
    direction: Direction | None = None
    currency: bool = False
    sparkline: bool = False


@dataclass(frozen=True)
class Meaning:
    """What a metric definition computes; see the module docstring."""

    events: Events
    aggregation: Aggregation
    unit: Unit
    window: Window
    display: Display
    group_by: EventField | None = None


# -- readings shared by evaluators ----------------------------------------------------------------


def text_form(value: Any) -> str | None:
    """The text a condition compares: strings as is, numbers as JSON writes them, booleans as
    ``true``/``false``; ``None`` for ``null`` (and for objects and lists, which have none)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return json.dumps(value)


def numeric_value(value: Any) -> Decimal | None:
    """The numeric reading of a value (see the module docstring), as an exact ``Decimal``."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if not text or text != value or not _looks_decimal(text):
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _looks_decimal(text: str) -> bool:
    body = text[1:] if text[0] in "+-" else text
    mantissa, _, exponent = body.lower().partition("e")
    if exponent and not exponent.lstrip("+-").isdigit():
        return False
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    return bool(digits) and digits.isdigit() and digits.isascii()


# -- comparing meanings ---------------------------------------------------------------------------


def aspects(meaning: Meaning) -> dict[str, Any]:
    """The meaning as ``{aspect: value}``: what a translation compares, aspect by aspect.

    Condition lists become frozensets (their order never matters); each source is its own group
    of aspects (``events.sources[0].name``...), so a change to one source names that source.
    """
    out: dict[str, Any] = {}
    events = meaning.events
    out["events.source_count"] = len(events.sources)
    for index, source in enumerate(events.sources):
        prefix = f"events.sources[{index}]"
        out[f"{prefix}.name"] = source.name
        out[f"{prefix}.conditions"] = frozenset(source.conditions)
        out[f"{prefix}.measure"] = source.measure
    out["events.where"] = frozenset(events.where)
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


@dataclass(frozen=True)
class Writing:
    """A meaning written as a dialect's payload.

    ``notes``: aspect -> why it could not be written exactly (the translation report shows the
    reason beside the fields that fed that aspect). ``defaults``: target fields the meaning did not
    determine, filled with a value, each with the reason.
    """

    payload: dict[str, Any]
    notes: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)


class MeaningCodec(Protocol):
    """A dialect's two mappings for one resource."""

    #: The resource's dotted name, e.g. ``"sequence.usage_metrics"``.
    resource: str

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
