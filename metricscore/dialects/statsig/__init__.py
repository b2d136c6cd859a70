"""Statsig: metric definitions of the Console API, scoped to one project."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Unpack

from ...dialect import Dialect
from ...errors import NotFound
from ...pagination import NumberedPage
from ...query import Eq, Query
from ...repository import Record, Repository
from ...resource import Context
from ...service import EvaluatingService, may_name_a_record
from .errors import error_headers, render_error
from .metrics import METRICS, ORDER, MetricListParams, metric_id
from .records import StatsigMetricCreate, StatsigMetricRecord, StatsigMetricReplace, StatsigMetricUpdate

if TYPE_CHECKING:
    from ...evaluation.runners import Events
    from ...store import Store
    from .evaluation import MetricEvaluationParams, MetricEvaluationResult

__all__ = [
    "DIALECT",
    "MetricListParams",
    "MetricService",
    "NumberedPage",
    "Statsig",
    "StatsigMetricCreate",
    "StatsigMetricRecord",
    "StatsigMetricReplace",
    "StatsigMetricUpdate",
    "error_headers",
    "render_error",
]


def _texts(*values: Any) -> bool:
    return all(isinstance(value, str) for value in values)


class MetricService(
    EvaluatingService[
        StatsigMetricRecord,
        NumberedPage[StatsigMetricRecord],
        "MetricEvaluationResult",
        StatsigMetricCreate,
        StatsigMetricReplace,
        StatsigMetricUpdate,
    ]
):
    """The generic service plus Statsig's read by name and type, and its archive operations;
    ``list`` takes the :class:`~.metrics.MetricListParams`, ``evaluate`` the
    :data:`~.evaluation.MetricEvaluationParams` and answers a :class:`~.evaluation.MetricEvaluationResult`."""

    def list(self, /, **params: Unpack[MetricListParams]) -> NumberedPage[StatsigMetricRecord]:  # type: ignore[override]
        """One page of metrics; the keywords are the Console API's query parameters (``tags``,
        ``page``, ``limit``), typed; values may also be the query string's text."""
        return super().list(**params)

    def evaluate(  # type: ignore[override]
        self, id: Any, /, *, events: Events = None, **params: Unpack[MetricEvaluationParams]
    ) -> MetricEvaluationResult:
        """The metric's value per unit and day from ``date_from`` to ``date_to`` (docs/evaluation.md);
        ``events`` as :meth:`EvaluatingService.evaluate` takes them."""
        return super().evaluate(id, events=events, **params)

    def get_by_name(self, name: Any, type: Any) -> StatsigMetricRecord:
        """GET /console/v1/metrics/{name}/{type}: the metric now called ``name`` with that type."""
        if not may_name_a_record(self.resource.table, metric_id(name, type) if _texts(name, type) else None):
            raise NotFound(resource=self.resource.name, id=(name, type))
        with self._operation(write=False) as (repository, _):
            found = repository.find(self.scope, Query((Eq("name", name), Eq("type", type)), ORDER, limit=1))
        if not found:
            raise NotFound(resource=self.resource.name, id=metric_id(name, type))
        return self.resource.render(found[0])

    def schedule_archive(self, id: Any, *, actor_id: Any = None) -> StatsigMetricRecord:
        """Archive the metric once :data:`~.metrics.ARCHIVE_GRACE` has passed (409 if already)."""
        return self._archive_step(id, actor_id, METRICS.schedule_archive)

    def cancel_archive(self, id: Any, *, actor_id: Any = None) -> StatsigMetricRecord:
        """Cancel a scheduled archive that has not taken effect yet (409 otherwise)."""
        return self._archive_step(id, actor_id, METRICS.cancel_archive)

    def unarchive(self, id: Any, *, actor_id: Any = None) -> StatsigMetricRecord:
        """Restore an archived metric (409 when it is not archived)."""
        return self._archive_step(id, actor_id, METRICS.unarchive)

    def _archive_step(self, id: Any, actor: Any, step: Callable[[Record, Context], None]) -> StatsigMetricRecord:
        def body(repository: Repository, ctx: Context) -> StatsigMetricRecord:
            existing = self._existing(repository, id)
            record = dict(existing)
            step(record, ctx)
            self.resource.derive(record, ctx, existing)
            repository.update(self.scope, record)
            return self.resource.render(record)

        return self._run("archive", id, None, actor, None, body)


class Statsig:
    """``store.statsig``: services bound to a Statsig project."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def metrics(self, *, project_id: str) -> MetricService:
        """The metric definitions of one Statsig project (``project_id``: the project a Console
        API key belongs to; up to 100 characters). Lists return a :class:`NumberedPage`."""
        return MetricService(self._store, METRICS, {"project_id": project_id})


#: The declaration found through the ``metricscore.dialects`` entry point ``statsig``.
DIALECT = Dialect("statsig", Statsig, (METRICS,), http="metricscore.http.statsig:StatsigHttp", title="Statsig")
