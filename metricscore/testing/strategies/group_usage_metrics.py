"""Hypothesis strategies for PostHog group usage metric payloads."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from .accounts import safe_text

__all__ = [
    "PROPERTY_OPERATORS",
    "group_usage_metric_payloads",
    "invalid_group_usage_metric_payloads",
    "property_filters",
]


def _name() -> st.SearchStrategy[Any]:
    text = safe_text(1, 255).filter(lambda s: bool(s.strip()))
    return st.one_of(st.sampled_from(["Revenue", "Active users", "ß ü", "x" * 255]), text)


#: Operators of PostHog property filters (metricscore.dialects.posthog.meaning.OPERATORS).
PROPERTY_OPERATORS = ("exact", "is_not", "icontains", "not_icontains", "gt", "gte", "lt", "lte", "is_set", "is_not_set")
_FILTER_SCALARS: tuple[Any, ...] = (
    "acme", "ACME", "", " ", "0", "-0", "1.5", "+3", "1e3", "007", "true", "\u0130", "\u00df",
    "999999999999999999.999999999999",
    True, False, 0, -7, 2**63, 1.5, -0.0, 1e308, 5e-324, 1e-7, 0.1,
)  # fmt: skip


def property_filters() -> st.SearchStrategy[dict[str, Any]]:
    """PostHog property filters of every operator, on event and person properties, with values of
    every type (a string, number or boolean, or a list of them)."""
    scalar = st.sampled_from(_FILTER_SCALARS) | safe_text(0, 5)
    return st.fixed_dictionaries(
        {
            "key": st.sampled_from(["plan", "amount", "-a", "user.x", "\u0130", "userID"]) | safe_text(1, 5),
            "operator": st.sampled_from(PROPERTY_OPERATORS),
        },
        optional={
            "type": st.sampled_from(["event", "person"]),
            "value": scalar | st.lists(scalar, min_size=1, max_size=3),
        },
    )


def _filters_and_math() -> st.SearchStrategy[dict[str, Any]]:
    """``filters`` with a consistent ``math`` / ``math_property``, for each source."""
    prop = safe_text(1, 40).filter(lambda s: bool(s.strip()))
    events = st.fixed_dictionaries(
        {},
        optional={
            "source": st.just("events"),
            "events": st.lists(
                st.fixed_dictionaries(
                    {"id": safe_text(1, 10)}, optional={"properties": st.lists(property_filters(), max_size=2)}
                ),
                max_size=2,
            ),
            "properties": st.lists(
                st.dictionaries(safe_text(1, 5), safe_text(0, 5), max_size=2) | property_filters(), max_size=3
            ),
            "filter_test_accounts": st.booleans(),
        },
    )
    warehouse = st.fixed_dictionaries(
        {
            "source": st.just("data_warehouse"),
            "table_name": prop,
            "timestamp_field": prop,
            "key_field": prop,
        }
    )
    math = st.one_of(
        st.fixed_dictionaries({"math": st.just("sum"), "math_property": prop}),
        st.fixed_dictionaries({}, optional={"math": st.just("count"), "math_property": st.sampled_from([None, ""])}),
    )
    return st.builds(lambda f, m: {"filters": f, **m}, st.one_of(events, warehouse), math)


def group_usage_metric_payloads() -> st.SearchStrategy[dict[str, Any]]:
    """Valid create payloads (and valid PUT bodies)."""
    optional = st.fixed_dictionaries(
        {},
        optional={
            "format": st.sampled_from(["numeric", "currency"]),
            "display": st.sampled_from(["number", "sparkline"]),
            "interval": st.integers(1, 2**31 - 1),
            "group_type_index": st.integers(),  # from the path only: ignored
        },
    )
    return st.builds(lambda n, fm, o: {"name": n, **fm, **o}, _name(), _filters_and_math(), optional)


_BAD_VALUES: dict[str, list[Any]] = {
    "name": ["", "   ", None, "x" * 256, [], {}, True, "nul\x00"],
    "format": ["bogus", None, 1, ["numeric"]],
    "display": ["pie", None, {}],
    "interval": ["x", None, 0, -5, 1.5, True, 2**40],
    "filters": [None, [], "x", 5, {"source": "hogql"}, {"source": "data_warehouse"}, {"source": None}],
    "math": ["avg", None, 5],
    "math_property": ["x" * 256, True, [], {}],
}


@st.composite
def invalid_group_usage_metric_payloads(draw: st.DrawFn) -> tuple[dict[str, Any], set[str]]:
    """``(payload, fields)``: an invalid create payload and exactly the top-level fields it must report."""
    payload = dict(draw(group_usage_metric_payloads()))
    fields = set(draw(st.sets(st.sampled_from(sorted(_BAD_VALUES)), min_size=1)))
    for field in fields:
        payload[field] = draw(st.sampled_from(_BAD_VALUES[field]))
    required = sorted(fields & {"name", "filters"})
    drop: bool = draw(st.booleans())
    if required and drop:
        del payload[draw(st.sampled_from(required))]  # missing is as bad as invalid
    # The math rule, when neither side of it is already broken and the source is a known one.
    source = payload["filters"].get("source", "events") if isinstance(payload.get("filters"), dict) else None
    if not fields & {"math", "math_property"} and "filters" not in fields and draw(st.booleans()):
        if draw(st.booleans()):
            payload["math"], payload["math_property"] = "sum", draw(st.sampled_from([None, "", "  "]))
        else:
            payload["math"], payload["math_property"] = "count", "amount"
        if source in ("events", "data_warehouse"):
            fields.add("math_property")
    return payload, fields
