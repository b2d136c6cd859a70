"""Hypothesis strategies for Sequence usage metric payloads and list parameters."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from .accounts import safe_text

__all__ = ["invalid_usage_metric_payloads", "usage_metric_list_params", "usage_metric_payloads"]


def _word(max_size: int = 255) -> st.SearchStrategy[str]:
    return safe_text(1, max_size).filter(lambda s: bool(s.strip()) and len(s.strip()) <= max_size)


@st.composite
def usage_metric_payloads(draw: st.DrawFn) -> dict[str, Any]:
    """Valid create and PUT bodies, the rules by aggregation and metric type respected."""
    aggregation = draw(st.sampled_from(["COUNT", "UNIQUE", "SUM"]))
    metric_type = draw(st.sampled_from(["SIMPLE", "GROUPED"]))
    payload: dict[str, Any] = {
        "name": draw(st.sampled_from(["Messages", "Sent SMS", "ü"]) | _word()),
        "metricType": metric_type,
        "eventType": draw(st.sampled_from(["message_sent", "call"]) | _word()),
        "aggregationType": aggregation,
    }
    if aggregation != "COUNT" or draw(st.booleans()):
        payload["aggregationProperty"] = draw(_word())
    if metric_type == "GROUPED" or draw(st.booleans()):
        payload["groupingProperty"] = draw(_word())
    optional = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "description": st.none() | safe_text(0, 2000),
                "unit": st.none() | _word(),
                "caseSensitive": st.booleans(),
                "propertyFilters": st.none()
                | st.dictionaries(_word(20), st.lists(safe_text(0, 20), min_size=1, max_size=3), max_size=3),
                "deletedAt": st.just("2022-06-28T16:47:00Z"),  # read-only: ignored
            },
        )
    )
    return {**payload, **optional}


_BAD_VALUES: dict[str, list[Any]] = {
    "name": ["", "  ", None, 5, "x" * 256, [], "\x00"],
    "metricType": ["simple", None, 1, "COUNT"],
    "eventType": ["", None, [], {}],
    "aggregationType": ["AVG", None, "count", True],
    "aggregationProperty": [5, [], "x" * 256, {"a": 1}],
    "groupingProperty": [5, [], "x" * 256],
    "description": [5, "x" * 2001, []],
    "unit": [5, [], True],
    "caseSensitive": [None, "true", 1, []],
    "propertyFilters": [[], "x", 5, {"a": "b"}, {"a": []}, {"a": [1]}, {"": ["x"]}, {"a": [None]}],
}


@st.composite
def invalid_usage_metric_payloads(draw: st.DrawFn) -> tuple[dict[str, Any], set[str]]:
    """``(payload, fields)``: an invalid create payload and exactly the top-level fields it must report."""
    payload = dict(draw(usage_metric_payloads()))
    fields = set(draw(st.sets(st.sampled_from(sorted(_BAD_VALUES)), min_size=0)))
    for field in fields:
        payload[field] = draw(st.sampled_from(_BAD_VALUES[field]))
    for required in ("name", "metricType", "eventType", "aggregationType"):
        if required in fields and draw(st.booleans()):
            del payload[required]
    # Rule breaks: the rule's two fields must both be otherwise fine.
    if not fields & {"aggregationType", "aggregationProperty"} and draw(st.booleans()):
        payload["aggregationType"] = draw(st.sampled_from(["SUM", "UNIQUE"]))
        if draw(st.booleans()):
            payload.pop("aggregationProperty", None)
        else:
            payload["aggregationProperty"] = draw(st.sampled_from([None, "", "  "]))
        fields.add("aggregationProperty")
    if not fields & {"metricType", "groupingProperty"} and (not fields or draw(st.booleans())):
        payload["metricType"] = "GROUPED"
        payload["groupingProperty"] = draw(st.sampled_from([None, "", "  "]))
        fields.add("groupingProperty")
    return payload, fields


def usage_metric_list_params() -> st.SearchStrategy[dict[str, Any]]:
    """List parameters as a server passes them (raw strings), valid ones only."""
    return st.fixed_dictionaries(
        {},
        optional={
            "limit": st.integers(1, 100).map(str) | st.integers(1, 100),
            "name": st.sampled_from(["mess", "MESS", "", "%", "_"]) | safe_text(0, 4),
            "id": st.sampled_from(["0", "7", "", "-"]),
            "eventType": st.sampled_from(["message_sent", "call,message_sent", "", ","]),
            "aggregationType": st.sampled_from(["COUNT", "SUM,UNIQUE", "bogus", ""]),
        },
    )
