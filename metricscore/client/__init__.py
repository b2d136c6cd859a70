"""Typed HTTP clients for the three dialects, for metricscore's own server or the vendor's.

::

    from metricscore.client import PostHogClient, SequenceClient, StatsigClient

    with PostHogClient("https://us.posthog.com", "phx_...") as posthog:
        accounts = posthog.accounts(project_id=1)
        for account in accounts.records():          # every page, followed
            ...
        accounts.create({"name": "Acme"})

    sequence = SequenceClient("https://eu.sequencehq.com/api", client_id, client_secret)
    sequence.usage_metrics().create({...}, idempotency_key="k1")

    statsig = StatsigClient("https://statsigapi.net", "console-...")
    statsig.metrics().schedule_archive("signups::event_count_custom")   # or .archive(...)

Records come back typed as the store's services type them (``AccountRecord``,
``UsageMetricRecord``, ``StatsigMetricRecord``, ...); ``list(**params)`` takes the keywords the
service's ``list()`` takes and answers one page as the server sends it, typed as the page's
envelope (``OffsetEnvelope[AccountRecord]``, ``CursorEnvelope[UsageMetricRecord]``,
``NumberedEnvelope[StatsigMetricRecord]``). Each client sends its dialect's auth
header, follows every page, waits and retries on ``429`` (honouring ``Retry-After``, with
exponential backoff when it is absent), and retries transport
failures and ``502/503/504`` only when the request is safe to repeat (``GET``, ``PUT``,
``DELETE``, or a ``POST`` that carries an ``Idempotency-Key``). Errors are metricscore's own:
:class:`~metricscore.ValidationError` (400, listing the fields the server named),
:class:`~metricscore.Unauthenticated` (401), :class:`~metricscore.PermissionDenied` (403),
:class:`~metricscore.NotFound` (404), :class:`~metricscore.Conflict` (409),
:class:`~metricscore.RateLimited` (429 after the retries), :class:`Unreachable` (no connection)
and :class:`ServerError` (anything else).

Needs the ``cli`` extra (httpx): ``pip install 'metricscore[cli]'``.
"""

from .base import BaseClient, ServerError, Unreachable
from .dialects import (
    AccountsClient,
    CursorEnvelope,
    GroupUsageMetricsClient,
    NumberedEnvelope,
    OffsetEnvelope,
    PostHogClient,
    SequenceClient,
    StatsigClient,
    StatsigMetricsClient,
    UsageMetricsClient,
)

__all__ = [
    "AccountsClient",
    "BaseClient",
    "CursorEnvelope",
    "GroupUsageMetricsClient",
    "NumberedEnvelope",
    "OffsetEnvelope",
    "PostHogClient",
    "SequenceClient",
    "ServerError",
    "StatsigClient",
    "StatsigMetricsClient",
    "Unreachable",
    "UsageMetricsClient",
]
