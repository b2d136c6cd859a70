"""Hypothesis strategies for metricscore payloads, per resource.

Valid-payload strategies generate what the library must accept; ``invalid_*`` strategies
generate ``(payload, fields)`` pairs, where ``fields`` is exactly the set of top-level fields the
resulting :class:`~metricscore.ValidationError` must name.
"""

from collections.abc import Callable
from typing import Any

try:
    from hypothesis.strategies import SearchStrategy
except ModuleNotFoundError as missing:  # pragma: no cover - exercised in a subprocess test
    if missing.name != "hypothesis":
        raise
    from ...errors import ConfigurationError

    raise ConfigurationError(
        "metricscore.testing.strategies needs Hypothesis: pip install 'metricscore[testing]'"
    ) from None

from ...dialects.posthog.accounts import ACCOUNTS
from ...dialects.posthog.group_usage_metrics import GROUP_USAGE_METRICS
from ...dialects.sequence.usage_metrics import USAGE_METRICS
from ...dialects.statsig.metrics import METRICS
from ...resource import Resource
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

#: Resource -> (valid payloads, invalid payloads); tests/test_resource_declarations.py checks that
#: every resource of :data:`metricscore.dialects.RESOURCES` has both.
STRATEGIES: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
    ACCOUNTS.name: (account_payloads, invalid_account_payloads),
    GROUP_USAGE_METRICS.name: (group_usage_metric_payloads, invalid_group_usage_metric_payloads),
    USAGE_METRICS.name: (usage_metric_payloads, invalid_usage_metric_payloads),
    METRICS.name: (statsig_metric_payloads, invalid_statsig_metric_payloads),
}


def payloads(resource: str | Resource[Any]) -> SearchStrategy[dict[str, Any]]:
    """Valid create payloads for ``resource`` (its dotted name, e.g. ``"sequence.usage_metrics"``)."""
    strategy: SearchStrategy[dict[str, Any]] = _pick(resource)[0]()
    return strategy


def invalid_payloads(resource: str | Resource[Any]) -> SearchStrategy[tuple[Any, set[str]]]:
    """``(payload, fields)`` pairs for ``resource``: ``fields`` is exactly what the error must name."""
    strategy: SearchStrategy[tuple[Any, set[str]]] = _pick(resource)[1]()
    return strategy


def _pick(resource: str | Resource[Any]) -> tuple[Callable[[], Any], Callable[[], Any]]:
    name: Any = resource if isinstance(resource, str) else getattr(resource, "name", resource)
    try:
        return STRATEGIES[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown resource {name!r}; known: {', '.join(STRATEGIES)}") from None


__all__ = [
    "STRATEGIES",
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
