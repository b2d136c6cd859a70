"""Statsig's mutation rate limit, counted in the backend so every server process shares it.

Each window (e.g. 100 requests per 10 s) is a fixed window: the hits of one project in one window
are rows of :data:`RATE_LIMIT_HITS`, inserted (never updated, so concurrent processes never lose a
hit) and counted. When a window is full, the request is refused with
:class:`~metricscore.errors.RateLimited` whose ``retry_after`` is the seconds until the window ends.
Rows of finished windows are removed by the first request of a new window.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ..errors import ConfigurationError, RateLimited
from ..query import Eq, OrderBy, Query
from ..table import Column, ColumnType, Table

__all__ = ["RATE_LIMIT_HITS", "STATSIG_LIMITS", "RateLimiter", "Window"]

RATE_LIMIT_HITS = Table(
    name="http_rate_limit_hits",
    scope=("bucket",),
    columns=(
        #: ``<limiter>:<subject>:<window seconds>``
        Column("bucket", ColumnType.STRING, nullable=False, length=255),
        Column("id", ColumnType.STRING, nullable=False, length=32),
        #: The window's number: seconds since the epoch // window seconds.
        Column("window", ColumnType.INTEGER, nullable=False),
    ),
    orderings=(("window", "id"),),
)

#: How many finished-window rows one request removes at most.
CLEANUP_BATCH = 1000


@dataclass(frozen=True)
class Window:
    """At most ``limit`` requests per ``seconds``."""

    limit: int
    seconds: int

    def __post_init__(self) -> None:
        if type(self.limit) is not int or self.limit < 1 or type(self.seconds) is not int or self.seconds < 1:
            raise ConfigurationError("A rate-limit window is a positive integer limit per positive integer seconds.")


#: Statsig's published limits on the Console API: about 100 per 10 s and 900 per 15 minutes.
STATSIG_LIMITS = (Window(100, 10), Window(900, 15 * 60))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RateLimiter:
    """Counts hits per subject (e.g. a Statsig project) in every window, in ``store``'s backend."""

    def __init__(self, store: object, windows: Sequence[Window] = STATSIG_LIMITS, *, name: str = "statsig") -> None:
        self.store = store
        self.windows = tuple(windows)
        self.name = name

    def hit(self, subject: str) -> None:
        """Count one request for ``subject``; RateLimited (counting nothing) when a window is full."""
        if not self.windows:
            return
        now: datetime = self.store.now()  # type: ignore[attr-defined]
        elapsed = (now - _EPOCH).total_seconds()
        backend = self.store.backend  # type: ignore[attr-defined]
        with backend.unit_of_work() as uow:
            repository = uow.repository(RATE_LIMIT_HITS)
            plan: list[tuple[dict[str, str], int, int]] = []
            retry_after = 0
            for window in self.windows:
                scope = {"bucket": f"{self.name}:{subject}:{window.seconds}"[:255]}
                number = int(elapsed // window.seconds)
                used = repository.count(scope, (Eq("window", number),))
                if used >= window.limit:
                    retry_after = max(retry_after, math.ceil((number + 1) * window.seconds - elapsed))
                plan.append((scope, number, used))
            if retry_after:
                raise RateLimited("Too many requests. Please try again later.", retry_after=max(1, retry_after))
            for scope, number, used in plan:
                if used == 0:
                    stale = repository.find(scope, Query((), (OrderBy("window"), OrderBy("id")), limit=CLEANUP_BATCH))
                    for row in stale:
                        if row["window"] < number:
                            repository.delete(scope, row["id"])
                repository.insert(scope, {**scope, "id": secrets.token_hex(16), "window": number})
