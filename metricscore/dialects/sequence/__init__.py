"""Sequence: usage metrics, scoped to one Sequence account."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...dialect import Dialect
from ...pagination import CursorPage
from ...service import EvaluatingService
from .errors import render_error
from .usage_metrics import USAGE_METRICS, UsageMetricRecord

if TYPE_CHECKING:
    from ...store import Store
    from .evaluation import UsageMetricCalculation

__all__ = ["DIALECT", "CursorPage", "Sequence", "UsageMetricRecord", "render_error"]


class Sequence:
    """``store.sequence``: services bound to a Sequence account."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def usage_metrics(
        self, *, account_id: str
    ) -> EvaluatingService[UsageMetricRecord, CursorPage[UsageMetricRecord], UsageMetricCalculation]:
        """The usage metrics of one Sequence account (``account_id``: its ``sequenceAccountId``,
        up to 200 characters). ``create``, ``replace`` and ``delete`` take an ``idempotency_key``;
        lists return a :class:`CursorPage`; a delete is soft (``deletedAt``); ``evaluate`` answers
        a :class:`~.evaluation.UsageMetricCalculation` over the account's ``events``."""
        return EvaluatingService(self._store, USAGE_METRICS, {"account_id": account_id})


#: The declaration found through the ``metricscore.dialects`` entry point ``sequence``.
DIALECT = Dialect(
    "sequence", Sequence, (USAGE_METRICS,), http="metricscore.http.sequence:SequenceHttp", title="Sequence"
)
