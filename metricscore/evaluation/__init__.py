"""Evaluating metric definitions over events (docs/evaluation.md).

- :mod:`.events`: the event model, the built-in events table and :class:`EventsSource` (a table in
  your own database);
- :mod:`.plan`: what one evaluation asks of the events, vendor-free;
- :mod:`.reference`: the plain-Python reference evaluator, the definition of every answer;
- :mod:`.compile`: the canonical meaning of a metric as plans;
- :mod:`.runners`: where events come from (a list, the store, a declared source via SQL).

The SQL compiler lives with the SQL backend (``metricscore.backends.sql.evaluation``) and is only
imported when a database evaluates.
"""

from __future__ import annotations

from .events import BUILTIN_SOURCE, AppendResult, Event, EventLog, EventsSource, normalize_event
from .plan import Plan
from .reference import evaluate_plan
from .runners import ReferenceEvents, StoreEvents, sql_events

__all__ = [
    "BUILTIN_SOURCE",
    "AppendResult",
    "Event",
    "EventLog",
    "EventsSource",
    "Plan",
    "ReferenceEvents",
    "StoreEvents",
    "evaluate_plan",
    "normalize_event",
    "sql_events",
]
