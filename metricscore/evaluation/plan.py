"""What one evaluation asks of an events source: a vendor-free plan, pure data.

A :class:`Plan` reads the events of a source, keeps those that pass ``where`` inside
``[start, end)``, optionally keeps only the last-received version of each deduplication key, groups
them by ``group_by`` keys and computes ``measures`` per group. The reference evaluator
(:mod:`metricscore.evaluation.reference`) defines what each piece means; the SQL compiler
(``metricscore.backends.sql.evaluation``) must give the same rows.

Values are read as *text* (see :func:`text_of`): a property's string as is, a number in positional
decimal notation, a boolean as ``true``/``false``. ``null`` and a missing property are *absent*.
Every condition is two-valued: an absent value makes a leaf false, so ``Not`` is the exact
complement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal
from typing import Literal, TypeAlias

__all__ = [
    "EXACT",
    "NUMBER_PATTERN",
    "TRUE",
    "Affix",
    "AfterKey",
    "AllOf",
    "AnyOf",
    "Compare",
    "Condition",
    "Contains",
    "DayKey",
    "Field",
    "FirstOf",
    "GroupKey",
    "IsSet",
    "Key",
    "Measure",
    "Not",
    "OneOf",
    "Plan",
    "ValueSource",
    "exact_sum",
    "fold_ascii",
    "parse_number",
]

#: A number is optional sign, 1-18 integer digits, optionally a point and 1-12 fraction digits.
#: Every engine holds such a value exactly as DECIMAL(38, 12); anything else is not a number.
NUMBER_PATTERN = r"[-+]?[0-9]{1,18}(\.[0-9]{1,12})?"
_NUMBER = re.compile(NUMBER_PATTERN)
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_FOLD = str.maketrans(_UPPER, _UPPER.lower())


#: The context sums run in. Python's default one keeps 28 digits, so 3 + 999999999999999999.999999999999
#: would round to ...003 where every engine's DECIMAL(38, 12) keeps ...002.999999999999 exactly.
EXACT = Context(prec=80)


def exact_sum(total: Decimal | None, number: Decimal) -> Decimal:
    """``total + number`` without rounding (``number`` when there is no total yet)."""
    return number if total is None else EXACT.add(total, number)


def parse_number(text: str | None) -> Decimal | None:
    """The exact value of ``text`` when it is a number (see :data:`NUMBER_PATTERN`), else ``None``."""
    if text is None or not _NUMBER.fullmatch(text):
        return None
    return Decimal(text)


def fold_ascii(text: str) -> str:
    """``text`` with ASCII letters lower-cased, the case folding of case-insensitive matching.

    Only A-Z fold: every engine can do exactly this, so ``"É"`` and ``"é"`` stay different.
    """
    return text.translate(_FOLD)


FieldKind = Literal["property", "name", "customer", "value", "id", "group", "unit"]


@dataclass(frozen=True, slots=True)
class Field:
    """A value of an event, read as text.

    ``property``: ``properties[name]``; ``name``/``customer``/``value``/``id``: that column;
    ``group``: the PostHog group key of group type ``name`` (``"0"``..``"4"``; the property
    ``$group_<name>`` unless the source maps a column); ``unit``: the unit id of unit type
    ``name`` (Statsig: ``userID`` is the customer, another type the property
    ``user.customIDs.<name>`` unless the source maps a column).
    """

    kind: FieldKind
    name: str = ""


# -- conditions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OneOf:
    """The field's text is one of ``values`` (ASCII-folded on both sides unless ``case_sensitive``)."""

    field: Field
    values: tuple[str, ...]
    case_sensitive: bool = True


@dataclass(frozen=True, slots=True)
class Contains:
    """The field's text contains ``text`` (``""`` is in every present value)."""

    field: Field
    text: str
    case_sensitive: bool = True


@dataclass(frozen=True, slots=True)
class Affix:
    """The field's text starts (``at_end`` false) or ends (``at_end`` true) with ``text``."""

    field: Field
    text: str
    at_end: bool = False
    case_sensitive: bool = True


@dataclass(frozen=True, slots=True)
class IsSet:
    """The field is present (not missing, not null)."""

    field: Field


@dataclass(frozen=True, slots=True)
class Compare:
    """The field is a number and ``number <op> value`` holds (false when it is not a number)."""

    field: Field
    op: Literal["<", "<=", ">", ">="]
    value: Decimal


@dataclass(frozen=True, slots=True)
class AllOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    condition: Condition


Condition: TypeAlias = OneOf | Contains | Affix | IsSet | Compare | AllOf | AnyOf | Not
TRUE: Condition = AllOf(())


# -- grouping and measures --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayKey:
    """The calendar date of ``timestamp + offset_seconds`` (UTC; ``-28800`` is Statsig's PST day)."""

    offset_seconds: int = 0


@dataclass(frozen=True, slots=True)
class AfterKey:
    """Whether ``timestamp >= moment`` (splits a range into a previous and a current window)."""

    moment: datetime


@dataclass(frozen=True, slots=True)
class GroupKey:
    """The text of ``field`` (absent values form their own group, ``None``)."""

    field: Field


Key: TypeAlias = DayKey | AfterKey | GroupKey


@dataclass(frozen=True, slots=True)
class FirstOf:
    """The value of the first branch whose condition holds (Statsig: each metric event names its
    own value); absent when none holds."""

    branches: tuple[tuple[Condition, Field], ...]


ValueSource: TypeAlias = Field | FirstOf

MeasureKind = Literal["count", "sum", "unique", "max", "min", "latest", "numbers", "min_text", "max_text"]


@dataclass(frozen=True, slots=True)
class Measure:
    """One number per group.

    ``count``: events; ``sum``: exact sum of the numeric values (``None`` when there is none);
    ``numbers``: how many events have a numeric value; ``unique``: distinct present texts
    (case-sensitive); ``max``/``min``: largest/smallest numeric value; ``latest``: the numeric value of the event
    with the greatest timestamp (ties: received last); ``min_text``/``max_text``: smallest/largest
    present text in code-point order.
    """

    kind: MeasureKind
    value: ValueSource | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    where: Condition = TRUE
    #: inclusive lower bound of the timestamp, or no bound
    start: datetime | None = None
    #: exclusive upper bound of the timestamp, or no bound
    end: datetime | None = None
    #: keep only the last-received event of each deduplication key (Sequence ``customerEventId``)
    supersede: bool = False
    group_by: tuple[Key, ...] = ()
    measures: tuple[Measure, ...] = (Measure("count"),)


#: A result row: the group key values, then the measures, in plan order.
Row: TypeAlias = tuple[object, ...]
Rows: TypeAlias = list[Row]
ParamMap: TypeAlias = Mapping[str, object]
