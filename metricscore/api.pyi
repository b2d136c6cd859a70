# The types of metricscore/api.py as type checkers see them: Store names the built-in dialects'
# namespaces. Only type checkers read this file, so the core imports no dialect at run time.
from collections.abc import Callable, Mapping
from typing import Any

from .dialects.posthog import PostHog
from .dialects.sequence import Sequence
from .dialects.statsig import Statsig
from .ids import Clock, IdFactory
from .repository import Backend
from .store import Store as _CoreStore

__all__ = ["Store", "WarehouseTableExists", "open_store"]

WarehouseTableExists = Callable[[int, str], bool]

class Store(_CoreStore):
    """A backend plus the clock and id factory every operation uses (see :mod:`metricscore.store`)."""

    posthog: PostHog
    sequence: Sequence
    statsig: Statsig

def open_store(
    url: str | Backend,
    *,
    clock: Clock | None = None,
    id_factory: IdFactory | None = None,
    warehouse_table_exists: WarehouseTableExists | None = None,
    settings: Mapping[str, Any] | None = None,
    **options: Any,
) -> Store: ...
