"""Every table metricscore stores, which the SQL migrations must create.

It lives with the SQL backend, not in the core, because it gathers tables from every layer
(dialects, the HTTP layer's keys and rate limits, events); importing it loads no SQLAlchemy. A resource added to
:data:`metricscore.dialects.RESOURCES` is listed here by itself; add a migration revision that
creates its table (docs/databases.md), or tests/sql/test_sql_migrations.py fails.
"""

from __future__ import annotations

from metricscore.table import TableSpec

__all__ = ["all_tables"]


def all_tables() -> list[TableSpec]:
    """The tables of every registered resource, then the shared ones, each once, in a stable order."""
    from metricscore.dialects import RESOURCES
    from metricscore.evaluation.events import EVENTS
    from metricscore.http.keys import API_KEYS
    from metricscore.http.ratelimit import RATE_LIMIT_HITS
    from metricscore.idempotency import IDEMPOTENCY_KEYS

    tables = [resource.table for resource in RESOURCES.values()]
    tables += [IDEMPOTENCY_KEYS, API_KEYS, RATE_LIMIT_HITS, EVENTS]
    seen: set[str] = set()
    unique: list[TableSpec] = []
    for table in tables:
        if table.name not in seen:
            seen.add(table.name)
            unique.append(table)
    return unique
