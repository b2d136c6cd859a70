"""PostHog: accounts and group usage metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...service import ResourceService
from .accounts import ACCOUNTS
from .errors import render_error
from .group_usage_metrics import GROUP_USAGE_METRICS

if TYPE_CHECKING:
    from ...store import Store

__all__ = ["PostHog", "render_error"]


class PostHog:
    """``store.posthog``: services bound to a PostHog project."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def accounts(self, *, project_id: Any) -> ResourceService:
        return ResourceService(self._store, ACCOUNTS, {"project_id": project_id})

    def group_usage_metrics(self, *, project_id: Any, group_type_index: Any) -> ResourceService:
        """The usage metrics of one group type (``group_type_index`` 0..4) of a project."""
        return ResourceService(
            self._store, GROUP_USAGE_METRICS, {"project_id": project_id, "group_type_index": group_type_index}
        )
