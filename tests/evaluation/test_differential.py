"""Every engine computes exactly what the reference evaluator computes.

Hypothesis draws metric definitions with the project's own strategies
(``metricscore.testing.strategies.payloads``), reads their canonical meaning, builds the plans a
real evaluation runs (Sequence billing periods, PostHog trailing windows, Statsig days) plus the
canonical max / min / latest / unique measures, draws events that exercise them
(``events_for``), and compares each engine's rows to the reference rows: equal values, so
counts and integer sums exactly, decimal sums without drift.

CI runs 15 examples per resource and engine; ``DIFF_EXAMPLES=200`` runs a deeper search locally.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from metricscore.errors import ValidationError
from metricscore.evaluation.compile import (
    daily_plan,
    events_condition,
    period_plan,
    trailing_plan,
    value_of,
)
from metricscore.evaluation.plan import AllOf, DayKey, Field, GroupKey, Measure, Plan
from metricscore.evaluation.reference import evaluate_plan
from metricscore.meaning import Meaning, TranslationError, WindowKind, meaning_of
from metricscore.testing.strategies import payloads
from metricscore.testing.strategies.events import BASE, events_for

from .engines import Engine, new_dataset

SETTINGS = settings(
    max_examples=int(__import__("os").environ.get("DIFF_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
NOW = BASE + timedelta(days=3, hours=5, minutes=7, seconds=11, microseconds=123)


def _meaning(resource: str, payload: dict[str, Any]) -> Meaning:
    try:
        meaning = meaning_of(resource, payload)
        events_condition(meaning)
        value_of(meaning)
    except (TranslationError, ValidationError):
        assume(False)
        raise
    return meaning


def _extra(meaning: Meaning) -> tuple[Measure, ...]:
    value = value_of(meaning) or Field("property", "amount")
    return (
        Measure("max", value),
        Measure("min", value),
        Measure("latest", value),
        Measure("numbers", value),
        Measure("unique", value),
        Measure("min_text", Field("id")),
        Measure("max_text", Field("id")),
    )


def _plans(meaning: Meaning, data: st.DataObject) -> list[Plan]:
    kind = meaning.window.kind
    extra = _extra(meaning)
    if kind is WindowKind.PERIOD:
        start = date(2026, 1, 1)
        end = start + timedelta(days=data.draw(st.integers(0, 2)))
        customers = data.draw(st.lists(st.sampled_from(["a", "b", "A", "c", " a", "a "]), min_size=1, max_size=4))
        plans = [period_plan(meaning, start, end, customers=customers, extra=extra)]
        if meaning.group_by is not None:
            plans.append(period_plan(meaning, start, end, customers=customers, grouped=True))
        return plans
    if kind is WindowKind.TRAILING_DAYS:
        days = data.draw(st.integers(1, 3))
        plan = trailing_plan(meaning, NOW, days, (0, data.draw(st.sampled_from(["acme", "ACME"]))))
        return [plan, Plan(plan.where, plan.start, plan.end, plan.supersede, (), plan.measures + extra)]
    offset = data.draw(st.sampled_from([-8 * 3600, 0, 5 * 3600 + 30 * 60, 14 * 3600, -12 * 3600]))
    return [
        daily_plan(meaning, date(2026, 1, 1), date(2026, 1, 2), offset, id_type)
        for id_type in meaning.unit.id_types[:2]
    ]


def _anchors(meaning: Meaning) -> list[datetime]:
    if meaning.window.kind is WindowKind.PERIOD:
        return [BASE, BASE + timedelta(days=1), BASE + timedelta(days=2), BASE + timedelta(days=3)]
    if meaning.window.kind is WindowKind.TRAILING_DAYS:
        return [NOW - timedelta(days=d) for d in range(7)]
    # Day starts at UTC - offset for every offset _plans draws (-8 h, 0, 5:30, 14 h, -12 h).
    hours = (-14, -5.5, 0, 8, 12, 18.5, 24, 32, 36, 38)
    return [BASE + timedelta(hours=h) for h in hours]


def _check(engine: Engine, meaning: Meaning, data: st.DataObject) -> None:
    events = data.draw(events_for(meaning, _anchors(meaning)))
    try:
        plans = _plans(meaning, data)
    except ValidationError:  # a property name no engine can read: refused everywhere alike
        assume(False)
        raise
    dataset = new_dataset()
    engine.load(events, dataset)
    for plan in plans:
        expected = evaluate_plan(plan, events)
        assert engine.run(plan, dataset) == expected, plan


@SETTINGS
@given(payload=payloads("sequence.usage_metrics"), data=st.data())
def test_sequence_usage_metrics(engine: Engine, payload: dict[str, Any], data: st.DataObject) -> None:
    meaning = _meaning("sequence.usage_metrics", payload)
    _check(engine, meaning, data)


@SETTINGS
@given(payload=payloads("posthog.group_usage_metrics"), data=st.data())
def test_posthog_group_usage_metrics(engine: Engine, payload: dict[str, Any], data: st.DataObject) -> None:
    meaning = _meaning("posthog.group_usage_metrics", payload)
    _check(engine, meaning, data)


@SETTINGS
@given(payload=payloads("statsig.metrics"), data=st.data())
def test_statsig_metrics(engine: Engine, payload: dict[str, Any], data: st.DataObject) -> None:
    meaning = _meaning("statsig.metrics", payload)
    _check(engine, meaning, data)


def test_plans_read_every_event_kind(engine: Engine) -> None:
    """A fixed case that fails loudly if an engine drops supersession, day shifts or exact sums."""
    events = [
        {"id": "a1", "name": "sent", "timestamp": BASE, "customer": "a", "properties": {"n": "0.1"}},
        {"id": "a2", "name": "sent", "timestamp": BASE, "customer": "a", "properties": {"n": 0.2}, "dedupe_key": "k"},
        {"id": "a3", "name": "sent", "timestamp": BASE, "customer": "a", "properties": {"n": "5"}, "dedupe_key": "k"},
        {"id": "a4", "name": "sent", "timestamp": BASE - timedelta(hours=1), "customer": "a", "properties": {}},
    ]
    dataset = new_dataset()
    engine.load(events, dataset)
    plan = Plan(
        where=AllOf(()),
        supersede=True,
        measures=(Measure("count"), Measure("sum", Field("property", "n")), Measure("max_text", Field("id"))),
    )
    assert engine.run(plan, dataset) == evaluate_plan(plan, events) == [(3, Decimal("5.1"), "a4")]


def test_statsig_boolean_criteria(engine: Engine) -> None:
    """``is_true`` / ``is_false``: the text ``true`` / ``false`` in any ASCII case (a JSON boolean is
    stored as that text); ``1``, ``yes``, blank, missing and null pass neither."""
    meaning = meaning_of(
        "statsig.metrics",
        {
            "name": "paid checkouts",
            "type": "event_count_custom",
            "unitTypes": ["userID"],
            "metricEvents": [
                {"name": "paid", "criteria": [{"type": "metadata", "column": "flag", "condition": "is_true"}]},
                {"name": "free", "criteria": [{"type": "value", "condition": "is_false"}]},
            ],
        },
    )
    flags: list[Any] = [True, "true", "TRUE", "True", False, "false", "FALSE", "1", "yes", "", None, "truex"]
    events = [
        {"id": f"p{i}", "name": "paid", "timestamp": BASE, "customer": f"u{i:02d}", "properties": {"flag": flag}}
        for i, flag in enumerate(flags)
    ]
    events += [{"id": f"f{i}", "name": "free", "timestamp": BASE, "customer": f"v{i:02d}", "value": flag}
               for i, flag in enumerate(flags)]  # fmt: skip
    events.append({"id": "p-none", "name": "paid", "timestamp": BASE, "customer": "w", "properties": {}})
    dataset = new_dataset()
    engine.load(events, dataset)
    plan = daily_plan(meaning, date(2025, 12, 31), date(2025, 12, 31), -8 * 3600, "userID")
    expected = evaluate_plan(plan, events)
    assert [row[1] for row in expected] == ["u00", "u01", "u02", "u03", "v04", "v05", "v06"]
    assert engine.run(plan, dataset) == expected


def test_property_names_that_begin_with_a_dash_are_read(engine: Engine) -> None:
    """MariaDB's JSON path parser misses keys that begin with "-" unless they are escaped."""
    events = [
        {"id": f"d{n}", "name": "sent", "timestamp": BASE, "customer": "a", "properties": properties}
        for n, properties in enumerate([{"-": "", "-a": "x"}, {"-": "y", "a-b": "z"}, {}])
    ]
    dataset = new_dataset()
    engine.load(events, dataset)
    plan = Plan(where=AllOf(()), group_by=(GroupKey(Field("property", "-")),), measures=(Measure("count"),))
    assert engine.run(plan, dataset) == evaluate_plan(plan, events) == [("", 1), ("y", 1), (None, 1)]
    for name, value in (("-a", "x"), ("a-b", "z")):
        plan = Plan(where=AllOf(()), measures=(Measure("max_text", Field("property", name)),))
        assert engine.run(plan, dataset) == evaluate_plan(plan, events) == [(value,)]


def test_days_end_at_the_last_microsecond(engine: Engine) -> None:
    """An event in the last millisecond of a day belongs to that day: SQLite's date() rounds a
    time to whole milliseconds, so 23:59:59.9995 fell on the next day there."""
    midnight = BASE + timedelta(days=1)
    shifts = [timedelta(microseconds=-1), timedelta(microseconds=-500), timedelta(microseconds=-499), timedelta(0)]
    day = date(2026, 1, 1)
    for offset in (0, -8 * 3600, 14 * 3600):
        # Days that start at UTC + offset: the same instants moved by -offset.
        events = [
            {"id": f"m{n}", "name": "sent", "timestamp": midnight + shift - timedelta(seconds=offset), "customer": "a"}
            for n, shift in enumerate(shifts)
        ]
        dataset = new_dataset()
        engine.load(events, dataset)
        plan = Plan(where=AllOf(()), group_by=(DayKey(offset),), measures=(Measure("count"),))
        expected = [(day, 3), (day + timedelta(days=1), 1)]
        assert engine.run(plan, dataset) == evaluate_plan(plan, events) == expected, offset


def test_timestamps_of_every_year_are_read(engine: Engine) -> None:
    """Years 1 to 9999 keep their year: ClickHouse read the year 26 written as "26" as 2026 (so a
    26 AD event counted in 2026's windows), and its Date wrapped around outside 1970 to 2149."""
    moments = [
        datetime(26, 1, 1, 5, tzinfo=UTC),
        datetime(999, 12, 31, tzinfo=UTC),
        datetime(1969, 12, 31, 23, tzinfo=UTC),
        datetime(2026, 1, 1, 6, tzinfo=UTC),
        datetime(2149, 6, 7, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    events = [
        {"id": f"y{n}", "name": "sent", "timestamp": moment, "customer": "a", "properties": {"n": str(n)}}
        for n, moment in enumerate(moments)
    ]
    dataset = new_dataset()
    engine.load(events, dataset)
    window = Plan(
        where=AllOf(()),
        start=datetime(2026, 1, 1, tzinfo=UTC),
        end=datetime(2026, 1, 2, tzinfo=UTC),
        measures=(Measure("count"), Measure("latest", Field("property", "n"))),
    )
    assert engine.run(window, dataset) == evaluate_plan(window, events) == [(1, Decimal(3))]
    days = Plan(where=AllOf(()), group_by=(DayKey(0),), measures=(Measure("count"),))
    expected = [(moment.date(), 1) for moment in moments]
    assert engine.run(days, dataset) == evaluate_plan(days, events) == expected


def test_bounds_of_thirty_digits_and_finer(engine: Engine) -> None:
    """A numeric filter bound with 18 integer and 12 fraction digits, or finer than 10**-12, is read
    exactly (it raised decimal.InvalidOperation: the default context holds 28 digits)."""
    amounts = [
        "123456789012345678.123456789012",
        "123456789012345678.123456789013",
        "999999999999999999.999999999999",
        "0",
        "0.000000000001",
        "-0.000000000001",
    ]
    events = [
        {"id": f"n{n}", "name": "sent", "timestamp": BASE, "customer": "a", "properties": {"amount": amount}}
        for n, amount in enumerate(amounts)
    ]
    dataset = new_dataset()
    engine.load(events, dataset)
    cases = [
        ("gt", "123456789012345678.1234567890125", ["n1", "n2"]),
        ("lte", "123456789012345678.1234567890125", ["n0", "n3", "n4", "n5"]),
        ("gte", "999999999999999999.999999999999", ["n2"]),
        ("gte", "0.0000000000005", ["n0", "n1", "n2", "n4"]),
        ("lt", "-0.0000000000005", ["n5"]),
    ]
    for operator, bound, ids in cases:
        filters = {"properties": [{"key": "amount", "operator": operator, "value": bound}]}
        meaning = meaning_of("posthog.group_usage_metrics", {"name": "big", "filters": filters})
        plan = Plan(where=events_condition(meaning), group_by=(GroupKey(Field("id")),), measures=(Measure("count"),))
        expected = [(i, 1) for i in ids]
        assert engine.run(plan, dataset) == evaluate_plan(plan, events) == expected, (operator, bound)
