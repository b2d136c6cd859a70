"""Sums are exact beyond Python's default 28 decimal digits, in the reference and on SQLite alike
(found by the differential test: 3 + 999999999999999999.999999999999 was rounded to ...003)."""

from __future__ import annotations

from decimal import Decimal

import pytest

import metricscore as mc


@pytest.mark.parametrize("url", ["memory://", "sqlite://"])
def test_a_sum_keeps_every_digit_a_decimal_38_12_holds(url: str) -> None:
    usage = mc.open_store(url).sequence.usage_metrics(account_id="acct")
    metric = usage.create(
        {"name": "big", "metricType": "SIMPLE", "eventType": "sent", "aggregationType": "SUM",
         "aggregationProperty": "n"}
    )  # fmt: skip
    usage.events.append(
        [
            {"id": "a", "name": "sent", "timestamp": "2026-01-02T00:00:00Z", "customer": "c",
             "properties": {"n": "+3"}},
            {"id": "b", "name": "sent", "timestamp": "2026-01-03T00:00:00Z", "customer": "c",
             "properties": {"n": "999999999999999999.999999999999"}},
        ]
    )  # fmt: skip
    answer = usage.evaluate(metric["id"], customerAliases="c", periodStart="2026-01-01", periodEnd="2026-01-31")
    assert answer["value"] == Decimal("1000000000000000002.999999999999")
