"""What a database hands back for a plan, read as the reference evaluator gives it: exact
decimals, dates, texts, empty groups' values, and the groups in the reference's order."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from metricscore.backends.sql.evaluation import normalize_rows
from metricscore.evaluation.plan import AfterKey, DayKey, Field, GroupKey, Measure, Plan

PLAN = Plan(
    group_by=(DayKey(), GroupKey(Field("customer")), AfterKey(datetime(2026, 1, 1, tzinfo=UTC))),
    measures=(Measure("count"), Measure("sum", Field("property", "n")), Measure("max", Field("property", "n"))),
)

JAN1, JAN3 = date(2026, 1, 1), date(2026, 1, 3)


def test_values_are_read_exactly_and_absent_measures_take_their_empty_value() -> None:
    rows = normalize_rows(PLAN, [("2026-01-02", "b", 1, 3, "0.1", None), (date(2026, 1, 2), "a", "0", None, 2.5, "7")])
    assert rows == [
        (date(2026, 1, 2), "a", False, 0, Decimal("2.5"), Decimal("7")),
        (date(2026, 1, 2), "b", True, 3, Decimal("0.1"), None),
    ]
    assert all(type(row[4]) is Decimal for row in rows)


def test_groups_sort_by_their_keys_with_absent_keys_last() -> None:
    rows = [
        ("2026-01-03", None, 1, 1, None, None),
        ("2026-01-03", "a", 1, 1, None, None),
        ("2026-01-01", "z", 0, 1, None, None),
    ]
    assert [row[:2] for row in normalize_rows(PLAN, rows)] == [(JAN1, "z"), (JAN3, "a"), (JAN3, None)]
    without_absent = [row for row in rows if row[1] is not None]
    assert [row[:2] for row in normalize_rows(PLAN, without_absent)] == [(JAN1, "z"), (JAN3, "a")]
