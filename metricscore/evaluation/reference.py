"""The reference evaluator: a :class:`~metricscore.evaluation.plan.Plan` over events, in plain Python.

This is the definition every SQL engine is held to (tests/evaluation/test_differential.py). It
reads the events once, keeps a few numbers per group and never sorts or stores the events
themselves, except the last-received version per deduplication key when ``plan.supersede``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from .events import Event, normalize_event
from .plan import (
    Affix,
    AfterKey,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Contains,
    DayKey,
    Field,
    FirstOf,
    GroupKey,
    IsSet,
    Key,
    Measure,
    Not,
    OneOf,
    Plan,
    Row,
    ValueSource,
    exact_sum,
    fold_ascii,
    parse_number,
)

__all__ = ["evaluate_plan", "read_field", "satisfies"]


def read_field(event: Event, ref: Field) -> str | None:
    """The text of ``ref`` on ``event`` (``None`` when absent)."""
    kind = ref.kind
    if kind == "property":
        return event.properties.get(ref.name)
    if kind == "name":
        return event.name
    if kind == "customer":
        return event.customer
    if kind == "value":
        return event.value
    if kind == "id":
        return event.id
    if kind == "group":
        return event.properties.get(f"$group_{ref.name}")
    if kind == "unit":
        return event.customer if ref.name == "userID" else event.properties.get(f"user.customIDs.{ref.name}")
    raise AssertionError(kind)  # pragma: no cover


def satisfies(event: Event, condition: Condition) -> bool:
    """Whether ``event`` passes ``condition`` (an absent value fails every leaf)."""
    if isinstance(condition, AllOf):
        return all(satisfies(event, c) for c in condition.conditions)
    if isinstance(condition, AnyOf):
        return any(satisfies(event, c) for c in condition.conditions)
    if isinstance(condition, Not):
        return not satisfies(event, condition.condition)
    text = read_field(event, condition.field)
    if text is None:
        return False
    if isinstance(condition, IsSet):
        return True
    if isinstance(condition, OneOf):
        if condition.case_sensitive:
            return text in condition.values
        folded = fold_ascii(text)
        return any(folded == fold_ascii(v) for v in condition.values)
    if isinstance(condition, Contains):
        if condition.case_sensitive:
            return condition.text in text
        return fold_ascii(condition.text) in fold_ascii(text)
    if isinstance(condition, Affix):
        needle = condition.text if condition.case_sensitive else fold_ascii(condition.text)
        hay = text if condition.case_sensitive else fold_ascii(text)
        return hay.endswith(needle) if condition.at_end else hay.startswith(needle)
    if isinstance(condition, Compare):
        number = parse_number(text)
        if number is None:
            return False
        op = condition.op
        if op == "<":
            return number < condition.value
        if op == "<=":
            return number <= condition.value
        if op == ">":
            return number > condition.value
        return number >= condition.value
    raise AssertionError(condition)  # pragma: no cover


def read_value(event: Event, source: ValueSource | None) -> str | None:
    if source is None:
        return None
    if isinstance(source, FirstOf):
        for condition, ref in source.branches:
            if satisfies(event, condition):
                return read_field(event, ref)
        return None
    return read_field(event, source)


def key_of(event: Event, key: Key) -> object:
    if isinstance(key, DayKey):
        return (event.timestamp + timedelta(seconds=key.offset_seconds)).date()
    if isinstance(key, AfterKey):
        return event.timestamp >= key.moment
    if isinstance(key, GroupKey):
        return read_field(event, key.field)
    raise AssertionError(key)  # pragma: no cover


@dataclass(slots=True)
class _Accumulator:
    measure: Measure
    count: int = 0
    total: Decimal | None = None
    texts: set[str] = field(default_factory=set)
    best: Decimal | None = None
    latest: tuple[datetime, int] | None = None
    text: str | None = None

    def add(self, event: Event) -> None:
        kind = self.measure.kind
        if kind == "count":
            self.count += 1
            return
        text = read_value(event, self.measure.value)
        if text is None:
            return
        if kind == "unique":
            self.texts.add(text)
        elif kind == "min_text":
            self.text = text if self.text is None or text < self.text else self.text
        elif kind == "max_text":
            self.text = text if self.text is None or text > self.text else self.text
        else:
            number = parse_number(text)
            if number is None:
                return
            if kind == "numbers":
                self.count += 1
            elif kind == "sum":
                self.total = exact_sum(self.total, number)
            elif kind == "max":
                self.best = number if self.best is None or number > self.best else self.best
            elif kind == "min":
                self.best = number if self.best is None or number < self.best else self.best
            elif kind == "latest":
                stamp = (event.timestamp, event.seq)
                if self.latest is None or stamp >= self.latest:
                    self.latest, self.best = stamp, number

    def result(self) -> object:
        kind = self.measure.kind
        if kind in ("count", "numbers"):
            return self.count
        if kind == "unique":
            return len(self.texts)
        if kind == "sum":
            return self.total
        if kind in ("max", "min", "latest"):
            return self.best
        return self.text


def _superseding(events: Iterable[Event]) -> list[Event]:
    """The events no later-received event with the same deduplication key replaces."""
    latest: dict[str, Event] = {}
    plain: list[Event] = []
    for event in events:
        if event.dedupe_key is None:
            plain.append(event)
            continue
        held = latest.get(event.dedupe_key)
        if held is None or event.seq >= held.seq:
            latest[event.dedupe_key] = event
    return plain + list(latest.values())


def _sort_key(value: object) -> tuple[int, Any]:
    """Groups in ascending order, absent (``None``) last."""
    if value is None:
        return (1, "")
    return (0, value)


def evaluate_plan(plan: Plan, events: Iterable[Event | Mapping[str, Any]]) -> list[Row]:
    """The rows of ``plan`` over ``events`` (given in ingestion order), sorted by group.

    A plan without ``group_by`` always gives one row; with keys, only groups that have events.
    Events given as mappings are normalized first; those without ``seq`` take their position.
    """
    stream: Iterable[Event] = _numbered(events)
    if plan.supersede:
        stream = _superseding(stream)
    groups: dict[tuple[object, ...], list[_Accumulator]] = {}
    if not plan.group_by:
        groups[()] = [_Accumulator(m) for m in plan.measures]
    for event in stream:
        if plan.start is not None and event.timestamp < plan.start:
            continue
        if plan.end is not None and event.timestamp >= plan.end:
            continue
        if not satisfies(event, plan.where):
            continue
        key = tuple(key_of(event, k) for k in plan.group_by)
        accumulators = groups.get(key)
        if accumulators is None:
            accumulators = groups[key] = [_Accumulator(m) for m in plan.measures]
        for accumulator in accumulators:
            accumulator.add(event)
    rows = [(*key, *(a.result() for a in accumulators)) for key, accumulators in groups.items()]
    rows.sort(key=lambda row: tuple(_sort_key(v) for v in row[: len(plan.group_by)]))
    return rows


def _numbered(events: Iterable[Event | Mapping[str, Any]]) -> Iterable[Event]:
    for position, raw in enumerate(events, start=1):
        event = normalize_event(raw)
        if event.seq == 0:
            event = Event(
                event.id,
                event.name,
                event.timestamp,
                event.customer,
                event.dedupe_key,
                event.value,
                event.properties,
                position,
            )
        yield event


def day_range(first: date, last: date) -> list[date]:
    """Every date from ``first`` to ``last``, both included."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
