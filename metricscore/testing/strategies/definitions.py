"""Metric definitions shaped as teams write them: named events, real filter operators, criteria.

:func:`metric_definitions` complements :func:`~metricscore.testing.strategies.payloads`, whose
PostHog filters and Statsig types are mostly free-form or refer to other metrics: these payloads
are valid too, and most have a meaning the other dialects can express, so translation and
evaluation tests see more than refusals.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from .accounts import safe_text
from .sequence import usage_metric_payloads

__all__ = ["metric_definitions", "posthog_definitions", "statsig_definitions"]

POSTHOG_OPERATORS = ("exact", "is_not", "icontains", "not_icontains", "gt", "gte", "lt", "lte",
                     "is_set", "is_not_set", "regex")  # fmt: skip
STATSIG_CONDITIONS = ("in", "=", "not_in", "contains", "not_contains", "starts_with", "ends_with",
                      ">", ">=", "<", "<=", "is_null", "non_null", "sql_filter")  # fmt: skip


def _word() -> st.SearchStrategy[str]:
    return st.sampled_from(["plan", "country", "amount", "$browser", "channel", "purchase", "signup"]) | safe_text(
        1, 12
    ).filter(lambda s: bool(s.strip()) and s == s.strip())


def _value() -> st.SearchStrategy[Any]:
    return st.sampled_from(["pro", "free", "FR", "10", "2.5"]) | safe_text(0, 8) | st.integers(-5, 100)


def _posthog_property() -> st.SearchStrategy[dict[str, Any]]:
    def build(key: str, operator: str, value: Any, kind: str) -> dict[str, Any]:
        prop: dict[str, Any] = {"key": key, "operator": operator, "type": kind}
        if operator not in ("is_set", "is_not_set"):
            prop["value"] = value
        return prop

    values = _value() | st.lists(_value(), min_size=1, max_size=3)
    kinds = st.sampled_from(["event", "event", "person", "cohort"])
    return st.builds(build, _word(), st.sampled_from(POSTHOG_OPERATORS), values, kinds)


@st.composite
def posthog_definitions(draw: st.DrawFn) -> dict[str, Any]:
    """PostHog group usage metrics over named events with property filters."""
    properties = st.lists(_posthog_property(), max_size=3)
    entry = st.builds(lambda name, props: {"id": name, "type": "events", **({"properties": props} if props else {})},
                      _word(), properties)  # fmt: skip
    count = draw(st.sampled_from([1, 1, 2, 3]))
    filters: dict[str, Any] = {"events": draw(st.lists(entry, min_size=count, max_size=count))}
    if draw(st.booleans()):
        filters["properties"] = draw(properties)
    if draw(st.booleans()):
        filters["filter_test_accounts"] = draw(st.booleans())
    payload: dict[str, Any] = {"name": draw(_word()), "filters": filters}
    if draw(st.booleans()):
        payload.update(math="sum", math_property=draw(_word()))
    optional = {
        "interval": st.integers(1, 400),
        "format": st.sampled_from(["numeric", "currency"]),
        "display": st.sampled_from(["number", "sparkline"]),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            payload[name] = draw(strategy)
    return payload


def _criterion() -> st.SearchStrategy[dict[str, Any]]:
    def build(kind: str, condition: str, column: str, values: list[str], override: bool | None) -> dict[str, Any]:
        criterion: dict[str, Any] = {"type": kind, "condition": condition}
        if kind != "value":
            criterion["column"] = column
        if condition not in ("is_null", "non_null"):
            criterion["values"] = values
        if override is not None:
            criterion["nullVacuousOverride"] = override
        return criterion

    texts = st.lists(st.sampled_from(["pro", "FR", "10", "2.5"]) | safe_text(0, 6), min_size=1, max_size=3)
    return st.builds(build, st.sampled_from(["metadata", "metadata", "value", "user", "user_custom"]),
                     st.sampled_from(STATSIG_CONDITIONS), _word(), texts, st.none() | st.booleans())  # fmt: skip


@st.composite
def statsig_definitions(draw: st.DrawFn) -> dict[str, Any]:
    """Statsig count, distinct count, user, sum and mean metrics over named events with criteria."""
    kind = draw(st.sampled_from(["event_count_custom", "event_count_custom", "sum", "mean", "event_user"]))
    distinct = kind == "event_count_custom" and draw(st.booleans())
    count = draw(st.sampled_from([1, 1, 2, 3]))
    events = []
    for _ in range(count):
        event: dict[str, Any] = {"name": draw(_word())}
        if distinct:
            event["type"] = "count_distinct"
            if draw(st.booleans()):
                event["metadataKey"] = draw(_word())
        elif kind in ("sum", "mean"):
            event.update(draw(st.sampled_from([{}, {"type": "value"}, {"type": "metadata"}]).map(dict)))
            if event.get("type") == "metadata":
                event["metadataKey"] = draw(_word())
        criteria = draw(st.lists(_criterion(), min_size=1 if kind == "event_user" else 0, max_size=3))
        if criteria:
            event["criteria"] = criteria
        events.append(event)
    name = draw(st.sampled_from(["Revenue", "Daily clicks", "Checkout (web)", "p95 / user"]))
    payload: dict[str, Any] = {"name": name, "type": kind, "unitTypes": ["userID"], "metricEvents": events}
    optional = {
        "description": safe_text(0, 40),
        "tags": st.lists(st.sampled_from(["core", "growth"]), max_size=2),
        "directionality": st.sampled_from(["increase", "decrease"]),
        "unitTypes": st.lists(
            st.sampled_from(["userID", "stableID", "companyID"]), min_size=1, max_size=2, unique=True
        ),
    }
    for field, strategy in optional.items():
        if draw(st.booleans()):
            payload[field] = draw(strategy)
    return payload


_DEFINITIONS = {
    "posthog.group_usage_metrics": posthog_definitions,
    "sequence.usage_metrics": usage_metric_payloads,
    "statsig.metrics": statsig_definitions,
}


def metric_definitions(resource: str) -> st.SearchStrategy[dict[str, Any]]:
    """Valid create payloads of a metric ``resource``, shaped as teams write them."""
    try:
        strategy: st.SearchStrategy[dict[str, Any]] = _DEFINITIONS[resource]()
    except KeyError:
        raise ValueError(f"Unknown metric resource {resource!r}; known: {', '.join(sorted(_DEFINITIONS))}") from None
    return strategy
