"""Every table metricscore stores, for backends that need to know them up front (SQL migrations).

Importing this module loads the resource declarations only (no SQLAlchemy). When a resource is
added, add its table here *and* add a migration revision that creates it (docs/databases.md).
"""

from __future__ import annotations

from .table import Table

__all__ = ["all_tables"]


def all_tables() -> list[Table]:
    """The tables of every resource defined so far, each once, in a stable order."""
    from .dialects.posthog.accounts import Accounts
    from .dialects.posthog.group_usage_metrics import GroupUsageMetrics
    from .dialects.sequence.usage_metrics import UsageMetrics
    from .dialects.statsig.metrics import Metrics
    from .evaluation.events import EVENTS
    from .http.keys import API_KEYS
    from .http.ratelimit import RATE_LIMIT_HITS
    from .idempotency import IDEMPOTENCY_KEYS

    tables: list[Table] = [
        Accounts.table,
        GroupUsageMetrics.table,
        UsageMetrics.table,
        Metrics.table,
        IDEMPOTENCY_KEYS,
        API_KEYS,
        RATE_LIMIT_HITS,
        EVENTS,
    ]
    seen: set[str] = set()
    unique: list[Table] = []
    for table in tables:
        if table.name not in seen:
            seen.add(table.name)
            unique.append(table)
    return unique
