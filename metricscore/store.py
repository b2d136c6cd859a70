"""The entry point: ``open_store(url)`` returns a :class:`Store` with one namespace per vendor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError, MetricscoreError, StorageError
from .ids import Clock, IdFactory, utc_now, uuid7_str
from .registry import backend_class, scheme_of
from .repository import Backend

if TYPE_CHECKING:
    from .evaluation.events import EventLog

__all__ = ["Store", "WarehouseTableExists", "open_store"]

#: ``warehouse_table_exists(project_id, table_name) -> bool``: asked by PostHog group usage metrics
#: whose ``filters.source`` is ``data_warehouse``.
WarehouseTableExists = Callable[[int, str], bool]


class Store:
    """A backend plus the clock and id factory every operation uses.

    ``store.posthog``, ``store.sequence`` and ``store.statsig`` hand out services bound to a scope.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        clock: Clock | None = None,
        id_factory: IdFactory | None = None,
        warehouse_table_exists: WarehouseTableExists | None = None,
    ) -> None:
        from .dialects.posthog import PostHog
        from .dialects.sequence import Sequence
        from .dialects.statsig import Statsig

        self.backend = backend
        self.clock: Clock = clock or utc_now
        self.id_factory: IdFactory = id_factory or uuid7_str
        #: The embedding app's answer to "does this data-warehouse table exist?"; ``None`` accepts any.
        self.warehouse_table_exists = warehouse_table_exists
        self.posthog = PostHog(self)
        self.sequence = Sequence(self)
        self.statsig = Statsig(self)

    def now(self) -> datetime:
        """The clock's time as aware UTC (a naive value is taken to be UTC already)."""
        value = self.clock()
        if not isinstance(value, datetime):
            raise ConfigurationError(f"The clock returned {type(value).__name__}, not a datetime.")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def events(self, dataset: str = "default") -> EventLog:
        """The built-in events table of ``dataset`` (see :mod:`metricscore.evaluation.events`)."""
        from .evaluation.events import EventLog

        return EventLog(self, dataset)

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Store {type(self.backend).__name__}>"


def open_store(
    url: str | Backend,
    *,
    clock: Clock | None = None,
    id_factory: IdFactory | None = None,
    warehouse_table_exists: WarehouseTableExists | None = None,
    **options: Any,
) -> Store:
    """Open the store at ``url`` (or wrap an already built backend).

    ``memory://``, ``sqlite:///path.db``, ``sqlite://`` (in memory), ``tinydb:///path/db.json``,
    ``postgresql+psycopg://...``, ``mysql+pymysql://...``; other schemes come from
    :func:`~metricscore.register_backend` or the ``metricscore.backends`` entry points.
    ``options`` go to the backend. ``warehouse_table_exists(project_id, table_name)`` lets PostHog
    group usage metrics check data-warehouse tables; without it any table name is accepted.
    """
    if isinstance(url, str):
        cls = backend_class(scheme_of(url))
        try:
            backend = cls.from_url(url, **options)
        except MetricscoreError:
            raise
        except TypeError as error:
            raise ConfigurationError(f"Bad options for {cls.__name__}: {error}") from error
        except Exception as error:
            raise StorageError(f"Could not open {url!r}: {type(error).__name__}: {error}") from error
    elif not isinstance(url, Backend):
        raise ConfigurationError(f"open_store takes a URL string or a backend instance, not {type(url).__name__}.")
    else:
        if options:
            raise ConfigurationError("Backend options go with a URL, not with a backend instance.")
        backend = url
    return Store(backend, clock=clock, id_factory=id_factory, warehouse_table_exists=warehouse_table_exists)
