"""Hypothesis strategies for metricscore payloads, per resource.

Valid-payload strategies generate what the library must accept; ``invalid_*`` strategies
generate ``(payload, fields)`` pairs, where ``fields`` is exactly the set of top-level fields the
resulting :class:`~metricscore.ValidationError` must name.
"""

from .accounts import (
    account_list_params,
    account_payloads,
    account_properties,
    account_updates,
    invalid_account_payloads,
    safe_text,
)
from .group_usage_metrics import group_usage_metric_payloads, invalid_group_usage_metric_payloads
from .json import json_values
from .sequence import invalid_usage_metric_payloads, usage_metric_list_params, usage_metric_payloads
from .statsig import invalid_statsig_metric_payloads, statsig_metric_payloads, statsig_metric_updates

__all__ = [
    "account_list_params",
    "account_payloads",
    "account_properties",
    "account_updates",
    "group_usage_metric_payloads",
    "invalid_account_payloads",
    "invalid_group_usage_metric_payloads",
    "invalid_statsig_metric_payloads",
    "invalid_usage_metric_payloads",
    "json_values",
    "safe_text",
    "statsig_metric_payloads",
    "statsig_metric_updates",
    "usage_metric_list_params",
    "usage_metric_payloads",
]
