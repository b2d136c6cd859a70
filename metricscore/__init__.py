"""metricscore: the embeddable domain core behind metric-definition and account APIs.

>>> import metricscore as mc
>>> store = mc.open_store("memory://")
>>> accounts = store.posthog.accounts(project_id=1)
>>> accounts.create({"name": "Acme", "tags": ["Enterprise"]})["tags"]
['enterprise']
"""

from .api import Store, open_store
from .dialect import Dialect, register_dialect
from .errors import (
    ConfigurationError,
    Conflict,
    ErrorMessage,
    MetricscoreError,
    NotFound,
    PermissionDenied,
    RateLimited,
    StorageError,
    Unauthenticated,
    ValidationError,
)
from .pagination import CursorPage, NumberedPage, OffsetPage, Page
from .registry import register_backend
from .service import ResourceService
from .translation import Translation, TranslationError, TranslationReport, translate

__all__ = [
    "ConfigurationError",
    "Conflict",
    "CursorPage",
    "Dialect",
    "ErrorMessage",
    "MetricscoreError",
    "NotFound",
    "NumberedPage",
    "OffsetPage",
    "Page",
    "PermissionDenied",
    "RateLimited",
    "ResourceService",
    "StorageError",
    "Store",
    "Translation",
    "TranslationError",
    "TranslationReport",
    "Unauthenticated",
    "ValidationError",
    "open_store",
    "register_backend",
    "register_dialect",
    "translate",
]

__version__ = "0.1.0"
