"""The vendor dialects, and the registry of every resource they declare.

:data:`RESOURCES` maps each resource's dotted name to its declaration. The lists that need every
resource are built from it (the SQL catalog, the OpenAPI components, the Hypothesis strategies'
lookup), and tests/test_resource_declarations.py checks each entry's parallel declarations agree.
"""

from __future__ import annotations

from typing import Any

from ..resource import Resource
from .posthog.accounts import ACCOUNTS
from .posthog.group_usage_metrics import GROUP_USAGE_METRICS
from .sequence.usage_metrics import USAGE_METRICS
from .statsig.metrics import METRICS

__all__ = ["RESOURCES", "resource"]

#: Every built-in resource by dotted name, in a stable order.
RESOURCES: dict[str, Resource[Any]] = {r.name: r for r in (ACCOUNTS, GROUP_USAGE_METRICS, USAGE_METRICS, METRICS)}


def resource(name: str) -> Resource[Any]:
    """The resource called ``name`` (e.g. ``"sequence.usage_metrics"``); ValueError naming the known ones."""
    try:
        return RESOURCES[name]
    except KeyError:
        raise ValueError(f"Unknown resource {name!r}; known: {', '.join(RESOURCES)}") from None
