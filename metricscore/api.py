"""The composition point of the public API: :func:`open_store` and the public :class:`Store` type.

The core :class:`metricscore.store.Store` knows no vendor; its dialect namespaces resolve at run
time through the dialect registry, and this module imports no dialect. Type checkers read
``api.pyi`` beside it instead, where ``Store`` declares ``posthog``, ``sequence`` and ``statsig``
with their namespace types, so ``mypy --strict`` sees ``store.posthog.accounts(project_id=1)``
typed. A third party's namespace (``store.acme``) is typed ``Any``; its package can offer a typed
accessor (``acme_dialect.namespace(store)``). Keep the stub's signatures equal to this module's
(tests/test_typing.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .ids import Clock, IdFactory
from .repository import Backend
from .store import Store as _CoreStore
from .store import settings_dict

__all__ = ["Store", "WarehouseTableExists", "open_store"]

#: ``warehouse_table_exists(project_id, table_name) -> bool``: asked by PostHog group usage metrics
#: whose ``filters.source`` is ``data_warehouse``.
WarehouseTableExists = Callable[[int, str], bool]

#: The public store type (the core class; ``api.pyi`` types its built-in dialect namespaces).
Store = _CoreStore


def open_store(
    url: str | Backend,
    *,
    clock: Clock | None = None,
    id_factory: IdFactory | None = None,
    warehouse_table_exists: WarehouseTableExists | None = None,
    settings: Mapping[str, Any] | None = None,
    **options: Any,
) -> Store:
    """Open the store at ``url`` (or wrap an already built backend).

    ``memory://``, ``sqlite:///path.db``, ``sqlite://`` (in memory), ``tinydb:///path/db.json``,
    ``postgresql+psycopg://...``, ``mysql+pymysql://...``; other schemes come from
    :func:`~metricscore.register_backend` or the ``metricscore.backends`` entry points.
    ``options`` go to the backend. ``warehouse_table_exists(project_id, table_name)`` lets PostHog
    group usage metrics check data-warehouse tables; without it any table name is accepted.
    ``settings`` are options for other dialects, by name (read with ``store.setting(name)``).
    """
    given = settings_dict(settings)
    if warehouse_table_exists is not None:
        given["warehouse_table_exists"] = warehouse_table_exists
    return Store.open(url, clock=clock, id_factory=id_factory, settings=given, **options)
