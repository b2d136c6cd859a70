"""PostHog: accounts and group usage metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...service import ResourceService
from .accounts import ACCOUNTS
from .errors import render_error

if TYPE_CHECKING:
    from ...store import Store

__all__ = ["PostHog", "render_error"]


class PostHog:
    """``store.posthog``: services bound to a PostHog project."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def accounts(self, *, project_id: Any) -> ResourceService:
        return ResourceService(self._store, ACCOUNTS, {"project_id": project_id})
