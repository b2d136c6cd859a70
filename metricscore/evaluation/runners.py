"""Where an evaluation's events come from: a list (reference), the store, or a declared source."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from ..errors import ConfigurationError, MetricscoreError, StorageError, ValidationError
from .events import Event, EventLog, EventsSource, event_items, normalize_events
from .plan import Plan, Row
from .reference import evaluate_plan

if TYPE_CHECKING:
    from ..store import Store
    from .compile import EventsRunner

__all__ = ["Events", "ReferenceEvents", "StoreEvents", "events_runner", "sql_events"]

#: What ``evaluate(events=...)`` takes: ``None`` (the scope's built-in events), an events runner
#: (:func:`sql_events`, anything with ``run(plan)``) or the events themselves (the reference evaluator).
Events: TypeAlias = "EventsRunner | Iterable[Event | Mapping[str, Any]] | None"


class ReferenceEvents:
    """The reference evaluator over events held in Python (validated once, in the given order; a
    ValidationError names every bad one under ``events`` by its position: ``events.3.timestamp``)."""

    def __init__(self, events: Iterable[Event | Mapping[str, Any]]) -> None:
        try:
            self.events = [event for _, event in normalize_events(events)]
        except ValidationError as error:
            raise ValidationError({"events": error.errors}) from None

    def run(self, plan: Plan) -> list[Row]:
        return evaluate_plan(plan, self.events)


class StoreEvents:
    """The store's built-in events of one dataset.

    A backend that offers ``evaluate_events(dataset, plan)`` (the SQL backend) computes the plan
    itself; otherwise (memory, TinyDB: events already live in this process) the reference
    evaluator reads the events page by page.
    """

    def __init__(self, store: Store, dataset: str) -> None:
        self.log = EventLog(store, dataset)

    def run(self, plan: Plan) -> list[Row]:
        backend = self.log.store.backend
        pushdown = getattr(backend, "evaluate_events", None)
        try:
            if pushdown is not None:
                rows: list[Row] = pushdown(self.log.dataset, plan)
                return rows
            return evaluate_plan(plan, self.log.read())
        except MetricscoreError:
            raise
        except Exception as error:
            raise StorageError(f"Evaluation failed: {type(error).__name__}: {error}") from error


def sql_events(target: Any, source: EventsSource) -> EventsRunner:
    """A runner over a declared :class:`~metricscore.evaluation.events.EventsSource`.

    ``target`` is a SQLAlchemy engine or URL (SQLite, PostgreSQL, MariaDB/MySQL, DuckDB), or
    ``"chdb"`` / a chDB session for ClickHouse's embedded engine.
    """
    import importlib

    try:
        named_chdb = isinstance(target, str) and target == "chdb"
        if named_chdb or type(target).__module__.startswith("chdb"):
            module = importlib.import_module("metricscore.backends.sql.clickhouse")
            runner: EventsRunner = module.ClickHouseEvents(source, session=None if named_chdb else target)
            return runner
        module = importlib.import_module("metricscore.backends.sql.evaluation")
    except ModuleNotFoundError as error:
        raise ConfigurationError(f"SQL evaluation needs {error.name}: pip install 'metricscore[sql]'") from error
    runner = module.SQLEvents(target, source)
    return runner


def events_runner(store: Store, dataset: str, events: Any) -> EventsRunner:
    """``events`` as a runner: ``None`` -> the store's built-in events of ``dataset``; a runner
    (anything with ``run(plan)``) as is; an iterable of events -> the reference evaluator."""
    if events is None:
        return StoreEvents(store, dataset)
    if callable(getattr(events, "run", None)):
        runner: EventsRunner = events
        return runner
    items = event_items(events)
    if items is not None:
        return ReferenceEvents(items)
    raise ConfigurationError(f"events must be None, an events runner or a list of events, not {type(events).__name__}.")
