"""URL scheme -> backend class.

Lookup order: backends registered at run time with :func:`register_backend`, then the built-in
table (imported lazily, so ``import metricscore`` loads neither SQLAlchemy nor TinyDB), then the
``metricscore.backends`` entry-point group of installed packages. The scheme is the part of the
URL before ``+`` and ``://``: ``postgresql+psycopg://...`` selects ``postgresql``.
"""

from __future__ import annotations

import importlib
import threading
from importlib import metadata
from typing import Any

from .errors import ConfigurationError

__all__ = [
    "ENTRY_POINT_GROUP",
    "available_schemes",
    "backend_class",
    "register_backend",
    "require_module",
    "scheme_of",
]

ENTRY_POINT_GROUP = "metricscore.backends"

# scheme -> (import path, pip extra that provides its dependencies)
_BUILTIN: dict[str, tuple[str, str | None]] = {
    "mariadb": ("metricscore.backends.sql:SQLBackend", "mysql"),
    "memory": ("metricscore.backends.memory:MemoryBackend", None),
    "mysql": ("metricscore.backends.sql:SQLBackend", "mysql"),
    "postgresql": ("metricscore.backends.sql:SQLBackend", "postgresql"),
    "sqlite": ("metricscore.backends.sql:SQLBackend", "sql"),
    "tinydb": ("metricscore.backends.tinydb:TinyDBBackend", "tinydb"),
}
assert list(_BUILTIN) == sorted(_BUILTIN), "keep the table sorted"

_lock = threading.Lock()
_runtime: dict[str, str | type[Any]] = {}


#: Schemes people write for a built-in one, and the URL to write instead.
_INSTEAD = {
    "postgres": "postgresql+psycopg://user@host/db",
    "pg": "postgresql+psycopg://user@host/db",
    "psql": "postgresql+psycopg://user@host/db",
    "sqlite3": "sqlite:///path.db",
    "file": "sqlite:///path.db or tinydb://path.json",
    "json": "tinydb://path.json",
}


def scheme_of(url: str) -> str:
    if not isinstance(url, str) or ("://" not in url and not url.endswith(":")):
        hint = "Expected e.g. 'sqlite:///metrics.db' or 'memory://'."
        if isinstance(url, str) and url.lower().startswith("sqlite:"):
            hint = "A SQLite URL is sqlite:///relative/path.db or sqlite:////absolute/path.db."
        elif isinstance(url, str) and url.lower().startswith("tinydb:"):
            hint = "A TinyDB URL is tinydb://relative/path.json or tinydb:///absolute/path.json."
        raise ConfigurationError(f"Not a store URL: {url!r}. {hint}")
    return url.split(":", 1)[0].split("+", 1)[0].lower()


def register_backend(scheme: str, backend: str | type[Any], *, clobber: bool = False) -> None:
    """Make ``scheme://`` URLs open ``backend`` (a class, or ``"package.module:Class"``).

    Refuses to replace an existing registration unless ``clobber`` is true.
    """
    scheme = scheme.lower()
    with _lock:
        if not clobber and scheme in _runtime:
            raise ConfigurationError(
                f"A backend is already registered for {scheme!r}; pass clobber=True to replace it."
            )
        _runtime[scheme] = backend


def available_schemes() -> list[str]:
    names = set(_runtime) | set(_BUILTIN)
    names.update(ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP))
    return sorted(names)


def backend_class(scheme: str) -> type[Any]:
    """The backend class for ``scheme``; ConfigurationError if unknown or not installed."""
    with _lock:
        registered = _runtime.get(scheme)
    if registered is not None:
        return registered if isinstance(registered, type) else _import(registered, None)
    if scheme in _BUILTIN:
        path, extra = _BUILTIN[scheme]
        return _import(path, extra)
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name == scheme:
            try:
                loaded = entry_point.load()
            except ImportError as error:
                raise ConfigurationError(
                    f"The {scheme!r} backend from package {entry_point.dist.name if entry_point.dist else '?'} "
                    f"could not be imported: {error}"
                ) from error
            return loaded  # type: ignore[no-any-return]
    instead = f" Did you mean {_INSTEAD[scheme]}?" if scheme in _INSTEAD else ""
    raise ConfigurationError(
        f"No backend for URL scheme {scheme!r}.{instead} Known schemes: {', '.join(available_schemes())}."
    )


def _import(path: str, extra: str | None) -> type[Any]:
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if extra and missing.split(".")[0] != "metricscore":
            raise ConfigurationError(
                f"This backend needs the package {missing!r}: pip install 'metricscore[{extra}]'"
            ) from error
        raise ConfigurationError(f"The backend {path!r} is not available: {error}") from error
    try:
        return getattr(module, attribute)  # type: ignore[no-any-return]
    except AttributeError as error:
        raise ConfigurationError(f"The backend {path!r} does not exist.") from error


def require_module(name: str, extra: str, user: str) -> None:
    """Import the top-level module ``name`` that ``user`` (e.g. "the SQL backend") needs; when it is
    not installed, the same ModuleNotFoundError (``.name`` kept, so :func:`backend_class` still
    names the extra of the URL's scheme) with a message saying what to install."""
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        raise ModuleNotFoundError(
            f"No module named {name!r}: {user} needs it: pip install 'metricscore[{extra}]'", name=name
        ) from None
