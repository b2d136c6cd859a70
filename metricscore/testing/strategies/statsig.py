"""Hypothesis strategies for Statsig metric definition payloads."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

from .accounts import safe_text

__all__ = ["invalid_statsig_metric_payloads", "statsig_metric_payloads", "statsig_metric_updates"]

NAME_ALPHABET = string.ascii_letters + string.digits + "_.-()/ %:"
CRITERIA_TYPES = ("value", "metadata", "user", "user_custom")
CONDITIONS = ("in", "not_in", "=", ">", "<", ">=", "<=", "is_null", "non_null", "contains", "not_contains",
              "is_true", "is_false", "sql_filter", "starts_with", "ends_with", "after_exposure")  # fmt: skip


def statsig_metric_names() -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(NAME_ALPHABET), min_size=4, max_size=200)


def _word() -> st.SearchStrategy[str]:
    return safe_text(1, 30).filter(lambda s: bool(s.strip()))


#: Criterion values around the numeric reading, case folding and booleans.
_CRITERION_TEXTS = ("0", "-0", "1.5", "+3", " 1", "1e3", "007", "999999999999999999.999999999999",
                    "true", "FALSE", "acme", "ACME", "\u0130", "\u00df", "")  # fmt: skip


def _criterion() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"type": st.sampled_from(CRITERIA_TYPES), "condition": st.sampled_from(CONDITIONS)},
        optional={
            "column": safe_text(0, 10) | st.sampled_from(["plan", "amount", "-a", "\u0130"]),
            "values": st.lists(safe_text(0, 10) | st.sampled_from(_CRITERION_TEXTS), max_size=3),
            "nullVacuousOverride": st.booleans(),
        },
    )


def _event(with_criteria: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    criteria = st.lists(_criterion(), min_size=1 if with_criteria else 0, max_size=2)
    return (
        st.fixed_dictionaries(
            {"name": _word()},
            optional={
                "type": st.sampled_from(["count", "count_distinct", "value", "metadata", None]),
                "metadataKey": safe_text(0, 10),
                "criteria": criteria,
            },
        )
        if not with_criteria
        else st.fixed_dictionaries({"name": _word(), "criteria": criteria})
    )


def _warehouse() -> st.SearchStrategy[dict[str, Any]]:
    fraction = st.floats(0, 1)
    return st.fixed_dictionaries(
        {},
        optional={
            "aggregation": st.sampled_from(["count", "sum", "percentile", ""]),
            "winsorizationHigh": fraction,
            "winsorizationLow": fraction,
            "criteria": st.lists(_criterion(), max_size=2),
            "funnelCountDistinct": st.sampled_from(["sessions", "users"]),
            "cupedAttributionWindow": st.none() | st.integers(0, 30),
            "metricDimensionColumns": st.lists(safe_text(0, 10), max_size=2),
        },
    )


@st.composite
def statsig_metric_payloads(draw: st.DrawFn) -> dict[str, Any]:
    """Valid create payloads of every type that needs no other metric (all but ``composite_sum``)."""
    kind = draw(
        st.sampled_from(
            [
                "sum",
                "mean",
                "event_count_custom",
                "ratio",
                "event_user",
                "funnel",
                "composite",
                "undefined",
                "user_warehouse",
            ]
        )
    )
    payload: dict[str, Any] = {"name": draw(statsig_metric_names()), "type": kind}
    units = st.lists(_word(), min_size=1, max_size=3)
    if kind in ("sum", "mean", "event_count_custom", "ratio"):
        payload["unitTypes"] = draw(units)
        payload["metricEvents"] = draw(st.lists(_event(), min_size=1, max_size=3))
    elif kind == "event_user":
        payload["metricEvents"] = draw(st.lists(_event(with_criteria=True), max_size=3))
    elif kind == "funnel":
        payload["funnelCountDistinct"] = draw(st.sampled_from(["events", "users"]))
        funnel_event = st.fixed_dictionaries(
            {"name": _word(), "type": st.sampled_from(["event_dau", "event_user", "event_count", "event_count_custom"])}
        )
        payload["funnelEventList"] = draw(st.lists(funnel_event, min_size=2, max_size=4))
    elif kind == "composite":
        payload["unitTypes"] = draw(units)
    optional = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "description": safe_text(0, 1000),
                "directionality": st.sampled_from(["increase", "decrease"]),
                "tags": _word() | st.lists(_word(), max_size=3),
                "isVerified": st.booleans(),
                "isReadOnly": st.booleans(),
                "isPermanent": st.booleans(),
                "warehouseNative": _warehouse(),
                "team": st.none() | safe_text(0, 10),
                "teamID": st.none() | safe_text(0, 10),
                "rollupTimeWindow": st.just("latest"),
                "metricComponentMetrics": st.just([]),  # components must exist: see composite_sum tests
                "dryRun": st.just(False),
                "lineage": st.just({"events": ["ignored"]}),  # read-only: ignored
            },
        )
    )
    payload.update(optional)
    if draw(st.booleans()):
        start = draw(st.integers(0, 30))
        payload.update(
            rollupTimeWindow="custom", customRollUpStart=start, customRollUpEnd=start + draw(st.integers(0, 30))
        )
    return payload


def statsig_metric_updates() -> st.SearchStrategy[dict[str, Any]]:
    """Valid update bodies that keep every rule by type (no ``unitTypes``: it may be required)."""
    return st.fixed_dictionaries(
        {},
        optional={
            "description": safe_text(0, 1000),
            "tags": st.lists(_word(), max_size=3),
            "isVerified": st.booleans(),
            "directionality": st.sampled_from(["increase", "decrease"]),
            "owner": st.fixed_dictionaries({"name": _word()}),
            "team": st.none() | safe_text(0, 10),
        },
    )


_BAD_VALUES: dict[str, list[Any]] = {
    "name": ["abc", "x" * 201, "bad!name", None, 5, "", "tab\tname"],
    "type": ["nope", None, "setup_incomplete", "SUM", 1],
    "description": ["d" * 1001, 5, []],
    "directionality": ["up", None, 1],
    "tags": [5, [1], [""], {"a": 1}, [None]],
    "isVerified": ["yes", None, 0],
    "isPermanent": ["true", None],
    "unitTypes": ["userID", [1], [""], None],
    "metricEvents": ["e", [{}], [{"name": "e", "type": "sum"}], None, [{"name": "e", "criteria": [{}]}]],
    "warehouseNative": [{"winsorizationHigh": 2}, [], {"aggregation": "median"}, "x"],
    "funnelCountDistinct": ["sessions", 5],
    "funnelEventList": [[{"name": "a", "type": "x"}], "a", [{}]],
    "metricComponentMetrics": ["x", [{"name": "a"}], [{"name": "a", "type": "bogus"}]],
    "customRollUpStart": ["x", -1, True],
}


@st.composite
def invalid_statsig_metric_payloads(draw: st.DrawFn) -> tuple[dict[str, Any], set[str]]:
    """``(payload, fields)``: an invalid create payload and exactly the top-level fields it must report.

    Rules by type are not judged on a field that has its own error, nor at all when ``type`` is bad.
    """
    payload = dict(draw(statsig_metric_payloads()))
    fields = set(draw(st.sets(st.sampled_from(sorted(_BAD_VALUES)), min_size=1)))
    for field in fields:
        payload[field] = draw(st.sampled_from(_BAD_VALUES[field]))
    if "customRollUpStart" in fields:
        payload["rollupTimeWindow"] = "custom"
        payload.setdefault("customRollUpEnd", 5)
        if not isinstance(payload["customRollUpEnd"], int):  # pragma: no cover - always an int here
            payload["customRollUpEnd"] = 5
    if "type" in fields and draw(st.booleans()):
        del payload["type"]
    return payload, fields
