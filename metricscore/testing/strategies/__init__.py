"""Hypothesis strategies for metricscore payloads, per resource.

Valid-payload strategies generate what the library must accept; ``invalid_*`` strategies
generate ``(payload, fields)`` pairs, where ``fields`` is exactly the set of top-level fields the
resulting :class:`~metricscore.ValidationError` must name.
"""

from typing import Any

from hypothesis.strategies import SearchStrategy

from .accounts import (
    account_list_params,
    account_payloads,
    account_properties,
    account_updates,
    invalid_account_payloads,
    safe_text,
)
from .definitions import metric_definitions
from .events import event_lists, events_for
from .group_usage_metrics import group_usage_metric_payloads, invalid_group_usage_metric_payloads
from .json import json_values
from .sequence import invalid_usage_metric_payloads, usage_metric_list_params, usage_metric_payloads
from .statsig import invalid_statsig_metric_payloads, statsig_metric_payloads, statsig_metric_updates

_VALID = {
    "posthog.accounts": account_payloads,
    "posthog.group_usage_metrics": group_usage_metric_payloads,
    "sequence.usage_metrics": usage_metric_payloads,
    "statsig.metrics": statsig_metric_payloads,
}
_INVALID = {
    "posthog.accounts": invalid_account_payloads,
    "posthog.group_usage_metrics": invalid_group_usage_metric_payloads,
    "sequence.usage_metrics": invalid_usage_metric_payloads,
    "statsig.metrics": invalid_statsig_metric_payloads,
}


def payloads(resource: str) -> SearchStrategy[dict[str, Any]]:
    """Valid create payloads for ``resource`` (its dotted name, e.g. ``"sequence.usage_metrics"``)."""
    strategy: SearchStrategy[dict[str, Any]] = _pick(_VALID, resource)()
    return strategy


def invalid_payloads(resource: str) -> SearchStrategy[tuple[Any, set[str]]]:
    """``(payload, fields)`` pairs for ``resource``: ``fields`` is exactly what the error must name."""
    strategy: SearchStrategy[tuple[Any, set[str]]] = _pick(_INVALID, resource)()
    return strategy


def _pick(table: dict[str, Any], resource: str) -> Any:
    try:
        return table[resource]
    except KeyError:
        raise ValueError(f"Unknown resource {resource!r}; known: {', '.join(sorted(table))}") from None


__all__ = [
    "account_list_params",
    "account_payloads",
    "account_properties",
    "account_updates",
    "event_lists",
    "events_for",
    "group_usage_metric_payloads",
    "invalid_account_payloads",
    "invalid_group_usage_metric_payloads",
    "invalid_payloads",
    "invalid_statsig_metric_payloads",
    "invalid_usage_metric_payloads",
    "json_values",
    "metric_definitions",
    "payloads",
    "safe_text",
    "statsig_metric_payloads",
    "statsig_metric_updates",
    "usage_metric_list_params",
    "usage_metric_payloads",
]
