"""Statsig's mutation rate limit, counted in the backend so every server process shares it.

Each window (e.g. 100 requests per 10 s) slides: a request is admitted only if, counting it, no
more than ``limit`` requests fall in the last ``seconds``, whenever the window starts (so two
bursts either side of a clock boundary cannot add up to twice the limit). Time is cut into
:data:`SUB_WINDOWS` steps per window; the hits of the current step and of the ``SUB_WINDOWS``
steps before it are counted (and any later ones, of requests that arrived after it but were counted
first), a span that always covers the last ``seconds``: the limit holds over any ``seconds``-long
interval (and at worst over ``seconds + seconds / SUB_WINDOWS``) of the requests' arrival times.

The hits of one project are rows of :data:`RATE_LIMIT_HITS`. A request first inserts and commits
its row, then counts: whichever of several concurrent requests counts last sees all their rows,
so processes sharing the database never admit more than the limit together (a burst can refuse a
little more than necessary, never admit more). A refused request removes its row again; rows older
than every window are removed as requests come.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..errors import ConfigurationError, RateLimited
from ..query import In, OrderBy, Query
from ..table import Column, ColumnType, TableSpec

__all__ = ["RATE_LIMIT_HITS", "STATSIG_LIMITS", "RateLimiter", "Window"]

RATE_LIMIT_HITS = TableSpec(
    name="http_rate_limit_hits",
    scope=("bucket",),
    columns=(
        #: ``<limiter>:<subject>:<window seconds>``
        Column("bucket", ColumnType.STRING, nullable=False, length=255),
        Column("id", ColumnType.STRING, nullable=False, length=32),
        #: The step's number: milliseconds since the epoch // (window milliseconds // SUB_WINDOWS).
        Column("window", ColumnType.INTEGER, nullable=False),
    ),
    orderings=(("window", "id"),),
)

#: How many stale rows one request removes at most.
CLEANUP_BATCH = 1000
#: Steps per window: the limit holds over any interval of the window's length.
SUB_WINDOWS = 10
_OLDEST_FIRST = (OrderBy("window"), OrderBy("id"))


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
        if isinstance(windows, (str, bytes)) or not isinstance(windows, Iterable):
            raise ConfigurationError(f"Rate limits are a list of Window(limit, seconds), not {windows!r}.")
        self.windows = tuple(windows)
        if not all(isinstance(window, Window) for window in self.windows):
            raise ConfigurationError(f"Rate limits are a list of Window(limit, seconds), not {windows!r}.")
        self.name = name

    def hit(self, subject: str) -> None:
        """Count one request for ``subject``; RateLimited (counting nothing) when a window is full."""
        if not self.windows:
            return
        now: datetime = self.store.now()  # type: ignore[attr-defined]
        elapsed_ms = (now - _EPOCH) // timedelta(milliseconds=1)
        backend = self.store.backend  # type: ignore[attr-defined]
        hit_id = secrets.token_hex(16)
        plan: list[tuple[Window, dict[str, str], int, int]] = []
        for window in self.windows:
            step = max(1, window.seconds * 1000 // SUB_WINDOWS)
            scope = {"bucket": f"{self.name}:{subject}:{window.seconds}"[:255]}
            plan.append((window, scope, step, elapsed_ms // step))
        with backend.unit_of_work() as uow:
            repository = uow.repository(RATE_LIMIT_HITS)
            for _, scope, _, step_number in plan:
                repository.insert(scope, {**scope, "id": hit_id, "window": step_number})
        retry_after_ms = 0
        with backend.unit_of_work() as uow:
            repository = uow.repository(RATE_LIMIT_HITS)
            for window, scope, step, step_number in plan:
                first = step_number - SUB_WINDOWS
                # Later steps too: a request that arrived after this one may have been counted first.
                span = (In("window", tuple(range(first, step_number + 2 * SUB_WINDOWS + 1))),)
                if repository.count(scope, span) > window.limit:
                    oldest = repository.find(scope, Query(span, _OLDEST_FIRST, limit=1))
                    leaves = (oldest[0]["window"] if oldest else first) + SUB_WINDOWS + 1
                    retry_after_ms = max(retry_after_ms, leaves * step - elapsed_ms)
                # Rows a whole window older than any this request counts: a request that arrived
                # up to a window earlier and is slow to count still finds what it must count.
                stale = repository.find(scope, Query((), _OLDEST_FIRST, limit=CLEANUP_BATCH))
                for row in stale:
                    if row["window"] >= first - SUB_WINDOWS:
                        break
                    repository.delete(scope, row["id"])
        if retry_after_ms:
            with backend.unit_of_work() as uow:
                repository = uow.repository(RATE_LIMIT_HITS)
                for _, scope, _, _ in plan:
                    repository.delete(scope, hit_id)
            retry_after = max(1, math.ceil(retry_after_ms / 1000))
            raise RateLimited("Too many requests. Please try again later.", retry_after=retry_after)
