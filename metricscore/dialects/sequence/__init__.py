"""Sequence: usage metrics and usage events, scoped to one Sequence account."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Unpack

from ...dialect import Dialect
from ...pagination import CursorPage
from ...service import EvaluatingService
from .errors import render_error
from .usage_events import UsageEventInput, UsageEventRecord, UsageEvents
from .usage_metrics import (
    USAGE_METRICS,
    UsageMetricCreate,
    UsageMetricListParams,
    UsageMetricRecord,
    UsageMetricUpdate,
)

if TYPE_CHECKING:
    from ...evaluation.runners import Events
    from ...store import Store
    from .evaluation import CalculationParams, UsageMetricCalculation

__all__ = [
    "DIALECT",
    "CursorPage",
    "Sequence",
    "UsageEventInput",
    "UsageEventRecord",
    "UsageEvents",
    "UsageMetricCreate",
    "UsageMetricListParams",
    "UsageMetricRecord",
    "UsageMetricUpdate",
    "UsageMetricsService",
    "render_error",
]


class UsageMetricsService(
    EvaluatingService[
        UsageMetricRecord,
        CursorPage[UsageMetricRecord],
        "UsageMetricCalculation",
        UsageMetricCreate,
        UsageMetricCreate,
        UsageMetricUpdate,
    ]
):
    """``store.sequence.usage_metrics(...)``: answers ``UsageMetricRecord``; ``create``/``replace``
    take a ``UsageMetricCreate``, ``update`` a ``UsageMetricUpdate``, ``list`` the
    :class:`UsageMetricListParams`; ``evaluate`` takes the :class:`~.evaluation.CalculationParams`
    and answers a :class:`~.evaluation.UsageMetricCalculation`."""

    def list(self, /, **params: Unpack[UsageMetricListParams]) -> CursorPage[UsageMetricRecord]:  # type: ignore[override]
        """One page of usage metrics; the keywords are Sequence's query parameters (``name``,
        ``id``, ``eventType``, ``aggregationType``, ``limit``, ``after``/``before``), typed; values
        may also be the query string's text."""
        return super().list(**params)

    def evaluate(  # type: ignore[override]
        self, id: Any, /, *, events: Events = None, **params: Unpack[CalculationParams]
    ) -> UsageMetricCalculation:
        """The metric over the customers' events of a period, as Sequence's calculate endpoint
        answers (docs/evaluation.md); ``events`` as :meth:`EvaluatingService.evaluate` takes them."""
        return super().evaluate(id, events=events, **params)


class Sequence:
    """``store.sequence``: services bound to a Sequence account."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def usage_metrics(self, *, account_id: str) -> UsageMetricsService:
        """The usage metrics of one Sequence account (``account_id``: its ``sequenceAccountId``,
        up to 200 characters). ``create``, ``replace`` and ``delete`` take an ``idempotency_key``;
        lists return a :class:`CursorPage`; a delete is soft (``deletedAt``); ``evaluate`` answers
        a :class:`~.evaluation.UsageMetricCalculation` over the account's ``events``."""
        return UsageMetricsService(self._store, USAGE_METRICS, {"account_id": account_id})

    def usage_events(self, *, account_id: str) -> UsageEvents:
        """The usage events of one Sequence account: ``create`` (``POST /usage-events``) and
        ``list`` (``GET /usage-events``) over the account's built-in events, which its usage
        metrics read (the same table as ``usage_metrics(...).events``)."""
        return UsageEvents(self._store, account_id)


#: The declaration found through the ``metricscore.dialects`` entry point ``sequence``.
DIALECT = Dialect(
    "sequence", Sequence, (USAGE_METRICS,), http="metricscore.http.sequence:SequenceHttp", title="Sequence"
)
