"""PostHog: accounts and group usage metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Unpack

from ...dialect import Dialect
from ...pagination import OffsetPage, OffsetParams
from ...service import EvaluatingService, IdempotentService
from .accounts import ACCOUNTS, AccountCreate, AccountListParams, AccountRecord, AccountUpdate
from .errors import render_error
from .group_usage_metrics import (
    GROUP_USAGE_METRICS,
    GroupUsageMetricCreate,
    GroupUsageMetricRecord,
    GroupUsageMetricUpdate,
)

if TYPE_CHECKING:
    from ...evaluation.runners import Events
    from ...store import Store
    from .evaluation import GroupUsageParams, GroupUsageResult

__all__ = [
    "DIALECT",
    "AccountCreate",
    "AccountListParams",
    "AccountRecord",
    "AccountUpdate",
    "AccountsService",
    "GroupUsageMetricCreate",
    "GroupUsageMetricRecord",
    "GroupUsageMetricUpdate",
    "GroupUsageMetricsService",
    "PostHog",
    "render_error",
]


class AccountsService(
    IdempotentService[AccountRecord, OffsetPage[AccountRecord], AccountCreate, AccountCreate, AccountUpdate]
):
    """``store.posthog.accounts(...)``: answers ``AccountRecord``; ``create``/``replace`` take an
    ``AccountCreate``, ``update`` an ``AccountUpdate``, ``list`` the :class:`AccountListParams`."""

    def list(self, /, **params: Unpack[AccountListParams]) -> OffsetPage[AccountRecord]:  # type: ignore[override]
        """One page of accounts; the keywords are PostHog's query parameters (``search``, ``tags``,
        ``ordering``, the role filters, ``limit``/``offset``), typed; values may also be the query
        string's text. Raises ValidationError for a bad ``tags`` filter."""
        return super().list(**params)


class GroupUsageMetricsService(
    EvaluatingService[
        GroupUsageMetricRecord,
        OffsetPage[GroupUsageMetricRecord],
        "GroupUsageResult",
        GroupUsageMetricCreate,
        GroupUsageMetricCreate,
        GroupUsageMetricUpdate,
    ]
):
    """``store.posthog.group_usage_metrics(...)``; ``evaluate`` takes the :data:`~.evaluation.GroupUsageParams`
    and answers a :data:`~.evaluation.GroupUsageResult`."""

    def list(self, /, **params: Unpack[OffsetParams]) -> OffsetPage[GroupUsageMetricRecord]:  # type: ignore[override]
        """One page of the group type's metrics (``limit``/``offset``)."""
        return super().list(**params)

    def evaluate(  # type: ignore[override]
        self, id: Any, /, *, events: Events = None, **params: Unpack[GroupUsageParams]
    ) -> GroupUsageResult:
        """The metric's usage by one group (``group_key``) over its interval ending ``now``
        (docs/evaluation.md); ``events`` as :meth:`EvaluatingService.evaluate` takes them."""
        return super().evaluate(id, events=events, **params)


class PostHog:
    """``store.posthog``: services bound to a PostHog project."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def accounts(self, *, project_id: int) -> AccountsService:
        """The accounts of one PostHog project (``project_id``: a non-negative integer).

        Records are :class:`AccountRecord`; lists return an :class:`~metricscore.pagination.OffsetPage`.
        Writes take an ``idempotency_key`` (an extension of PostHog's API).
        """
        return AccountsService(self._store, ACCOUNTS, {"project_id": project_id})

    def group_usage_metrics(self, *, project_id: int, group_type_index: int) -> GroupUsageMetricsService:
        """The usage metrics of one group type (``group_type_index`` 0..4) of a PostHog project.

        Records are :class:`GroupUsageMetricRecord`; lists return an
        :class:`~metricscore.pagination.OffsetPage`. Writes take an ``idempotency_key`` (an
        extension of PostHog's API). ``evaluate(id, group_key=...)`` answers a
        :data:`~.evaluation.GroupUsageResult` over the project's ``events``.
        """
        return GroupUsageMetricsService(
            self._store, GROUP_USAGE_METRICS, {"project_id": project_id, "group_type_index": group_type_index}
        )


#: The declaration found through the ``metricscore.dialects`` entry point ``posthog``.
DIALECT = Dialect(
    "posthog", PostHog, (ACCOUNTS, GROUP_USAGE_METRICS), http="metricscore.http.posthog:PostHogHttp", title="PostHog"
)
