"""The canonical meaning's data model: events read, aggregation, unit, window, display (see
:mod:`metricscore.meaning`)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from ..errors import MetricscoreError

__all__ = [
    "NUMERIC_AGGREGATIONS",
    "NUMERIC_OPS",
    "VALUE_AGGREGATIONS",
    "Aggregation",
    "AggregationKind",
    "Arithmetic",
    "Condition",
    "Direction",
    "Display",
    "EventField",
    "EventSource",
    "Events",
    "FieldKind",
    "Meaning",
    "Op",
    "Supersede",
    "TranslationError",
    "Unit",
    "UnitKind",
    "WarehouseTable",
    "Window",
    "WindowKind",
    "numeric_value",
    "text_form",
]


class TranslationError(MetricscoreError):
    """A definition cannot be carried into another dialect (or, strict, not without a loss).

    ``code`` is ``"untranslatable"`` when the target cannot express the definition's meaning at
    all, ``"lossy_translation"`` when ``strict=True`` met non-exact items (listed in ``items``),
    ``"unknown_resource"`` for a resource with no metric meaning (and ``"translation_failed"`` if a
    dialect ever wrote a payload it cannot read back: a bug, reported rather than returned). A written
    payload the target's validation refuses (a value longer than the target allows, more criteria
    than it holds, a blank event name) is ``"untranslatable"``, naming the target's field.
    """

    code = "untranslatable"
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
        # IS_SET / IS_NOT_SET test presence only: values (a Statsig non_null may carry some) say nothing.
        values = () if self.op in (Op.IS_SET, Op.IS_NOT_SET) else self.values
        object.__setattr__(self, "values", tuple(sorted(set(values))))
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
    try:
        return json.dumps(value)
    except ValueError:  # an integer longer than Python writes (sys.get_int_max_str_digits()): no text
        return None


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
