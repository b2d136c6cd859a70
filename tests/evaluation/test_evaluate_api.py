"""``service.evaluate`` and ``events.append``: any input gives an answer or a metricscore error."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metricscore as mc
from metricscore.errors import MetricscoreError
from metricscore.testing.strategies import json_values

STORE = mc.open_store("memory://")
SEQUENCE = STORE.sequence.usage_metrics(account_id="fuzz")
SEQUENCE_ID = SEQUENCE.create(
    {
        "name": "n",
        "metricType": "GROUPED",
        "eventType": "e",
        "aggregationType": "UNIQUE",
        "aggregationProperty": "p",
        "groupingProperty": "g",
    }
)["id"]
POSTHOG = STORE.posthog.group_usage_metrics(project_id=1, group_type_index=2)
POSTHOG_ID = POSTHOG.create({"name": "n", "filters": {"events": [{"id": "e"}]}, "display": "sparkline"})["id"]
STATSIG = STORE.statsig.metrics(project_id="fuzz")
STATSIG_ID = STATSIG.create(
    {
        "name": "revenue",
        "type": "mean",
        "unitTypes": ["userID", "stableID"],
        "metricEvents": [{"name": "e", "type": "value"}],
    }
)["id"]
SERVICES = [(SEQUENCE, SEQUENCE_ID), (POSTHOG, POSTHOG_ID), (STATSIG, STATSIG_ID)]
PARAMS = [
    "customerAliases",
    "periodStart",
    "periodEnd",
    "group_key",
    "now",
    "date_from",
    "date_to",
    "day_start_utc_offset",
]
VALUES = st.one_of(
    json_values(),
    st.sampled_from(["2026-01-01", "2026-02-30", "a,b", " , ", "-08:00", "+14:59", "2026-01-01T00:00:00Z", "x"]),
)


@settings(max_examples=50, deadline=None)
@given(
    which=st.integers(0, 2), params=st.dictionaries(st.sampled_from(PARAMS), VALUES, max_size=5), events=json_values()
)
def test_any_parameters_give_an_answer_or_a_metricscore_error(which: int, params: dict[str, Any], events: Any) -> None:
    service, metric_id = SERVICES[which]
    for source in (None, events if isinstance(events, list) else None):
        try:
            answer = service.evaluate(metric_id, events=source, **params)
        except MetricscoreError:
            continue
        assert isinstance(answer, dict)


@settings(max_examples=50, deadline=None)
@given(events=json_values(), batch_size=st.one_of(st.integers(-2, 3), json_values()))
def test_any_append_input_is_stored_or_refused(events: Any, batch_size: Any) -> None:
    log = STORE.events("fuzz-append")
    with contextlib.suppress(MetricscoreError):
        log.append(events, batch_size=batch_size)


def test_not_a_metric() -> None:
    accounts = STORE.posthog.accounts(project_id=1)
    account = accounts.create({"name": "Acme"})
    with pytest.raises(mc.ValidationError) as caught:
        accounts.evaluate(account["id"])
    assert set(caught.value.errors) == {"id"}
    with pytest.raises(mc.NotFound):
        SEQUENCE.evaluate("missing", customerAliases="a", periodStart="2026-01-01", periodEnd="2026-01-01")
    with pytest.raises(mc.ConfigurationError):
        SEQUENCE.evaluate(
            SEQUENCE_ID, events="not events", customerAliases="a", periodStart="2026-01-01", periodEnd="2026-01-01"
        )


def test_statsig_and_sequence_name_every_bad_parameter() -> None:
    with pytest.raises(mc.ValidationError) as caught:
        STATSIG.evaluate(STATSIG_ID, date_from="2026-01-02", date_to="2026-01-01", day_start_utc_offset="PST")
    assert set(caught.value.errors) == {"date_to", "day_start_utc_offset"}
    with pytest.raises(mc.ValidationError) as caught:
        SEQUENCE.evaluate(SEQUENCE_ID, customerAliases=[5], periodStart="2026-01-01", periodEnd="2025-12-31")
    assert set(caught.value.errors) == {"customerAliases", "periodEnd"}


@pytest.mark.parametrize("bad", ["\x00", "a\x00b", "\ud800", "x\udfff"])
def test_keys_no_event_can_hold_are_refused_naming_the_parameter(bad: str) -> None:
    # Found: SQL drivers refuse a NUL (PostgreSQL) or a lone surrogate (every one): such a group
    # key or customer alias was a StorageError on SQL stores, and a zero answer in memory.
    with pytest.raises(mc.ValidationError) as caught:
        POSTHOG.evaluate(POSTHOG_ID, group_key=bad)
    assert set(caught.value.errors) == {"group_key"}
    for aliases in (bad, f"ok,{bad}", ["ok", bad]):
        with pytest.raises(mc.ValidationError) as caught:
            SEQUENCE.evaluate(SEQUENCE_ID, customerAliases=aliases, periodStart="2026-01-01", periodEnd="2026-01-31")
        assert set(caught.value.errors) == {"customerAliases"}


def test_periods_beyond_the_years_1_to_9999_are_refused_naming_their_parameters() -> None:
    # Found: the window's arithmetic (periodEnd + 1 day, now - 2 intervals, a day start shifted by
    # the offset, now converted to UTC) raised OverflowError: a StorageError, a 5xx over HTTP.
    cases: list[tuple[Any, str, dict[str, Any], set[str]]] = [
        (SEQUENCE, SEQUENCE_ID, {"periodStart": "2026-01-01", "periodEnd": "9999-12-31"}, {"periodStart", "periodEnd"}),
        (POSTHOG, POSTHOG_ID, {"now": "0001-01-03T00:00:00Z"}, {"now", "interval"}),
        (POSTHOG, POSTHOG_ID, {"now": "0001-01-01T00:00:00+14:00"}, {"now"}),
        (POSTHOG, POSTHOG_ID, {"now": "9999-12-31T23:00:00-14:00"}, {"now"}),
        (STATSIG, STATSIG_ID, {"date_from": "0001-01-01", "day_start_utc_offset": "+14:00"}, {"date_from", "date_to"}),
        (STATSIG, STATSIG_ID, {"date_from": "9999-12-31", "day_start_utc_offset": "-14:00"}, {"date_from", "date_to"}),
    ]
    for service, metric_id, params, named in cases:
        params = {"customerAliases": "c", "group_key": "g", **params}
        params.setdefault("date_to", params.get("date_from"))
        with pytest.raises(mc.ValidationError) as caught:
            service.evaluate(metric_id, **params)
        assert set(caught.value.errors) == named, params
    long = POSTHOG.create({"name": "decades", "filters": {"events": [{"id": "e"}]}, "interval": 2**31 - 1})
    with pytest.raises(mc.ValidationError) as caught:
        POSTHOG.evaluate(long["id"], group_key="g")
    assert set(caught.value.errors) == {"interval"}
    # The last representable days still evaluate.
    SEQUENCE.evaluate(SEQUENCE_ID, customerAliases="c", periodStart="0001-01-01", periodEnd="9999-12-30")
    POSTHOG.evaluate(POSTHOG_ID, group_key="g", now="9999-12-31T23:59:59Z")


@pytest.mark.parametrize("text", ["2026-01-01T00:00:00\x00Z", "2026-01-01T00:00:00\u00a0Z", "2026-01-01T00:00:00\tZ"])
def test_a_now_that_is_not_printable_ascii_is_refused(text: str) -> None:
    # Found: datetime.fromisoformat reads "...00:00\x00Z" as a valid UTC date-time.
    with pytest.raises(mc.ValidationError) as caught:
        POSTHOG.evaluate(POSTHOG_ID, group_key="g", now=text)
    assert set(caught.value.errors) == {"now"}
