"""Sequence: usage metrics, scoped to one Sequence account."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...service import ResourceService
from .errors import render_error
from .pagination import CursorPage, CursorPagination
from .usage_metrics import USAGE_METRICS

if TYPE_CHECKING:
    from ...store import Store

__all__ = ["CursorPage", "CursorPagination", "Sequence", "render_error"]


class Sequence:
    """``store.sequence``: services bound to a Sequence account."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def usage_metrics(self, *, account_id: Any) -> ResourceService:
        """The usage metrics of one account (``sequenceAccountId``)."""
        return ResourceService(self._store, USAGE_METRICS, {"account_id": account_id})
