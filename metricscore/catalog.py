"""Every table metricscore stores, for backends that need to know them up front (SQL migrations).

Importing this module loads the resource declarations only (no SQLAlchemy). A resource added to
:data:`metricscore.dialects.RESOURCES` is listed here by itself; add a migration revision that
creates its table (docs/databases.md), or tests/sql/test_sql_migrations.py fails.
"""

from __future__ import annotations

from .table import Table

__all__ = ["all_tables"]


def all_tables() -> list[Table]:
    """The tables of every registered resource, then the shared ones, each once, in a stable order."""
    from .dialects import RESOURCES
    from .evaluation.events import EVENTS
    from .http.keys import API_KEYS
    from .http.ratelimit import RATE_LIMIT_HITS
    from .idempotency import IDEMPOTENCY_KEYS

    tables = [resource.table for resource in RESOURCES.values()]
    tables += [IDEMPOTENCY_KEYS, API_KEYS, RATE_LIMIT_HITS, EVENTS]
    seen: set[str] = set()
    unique: list[Table] = []
    for table in tables:
        if table.name not in seen:
            seen.add(table.name)
            unique.append(table)
    return unique
