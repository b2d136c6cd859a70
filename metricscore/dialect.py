"""Dialects as plug-ins: what a dialect declares, and the registry that finds it by name.

A dialect (PostHog, Sequence, Statsig, or a third party's) is one :class:`Dialect` object: its name
(``store.<name>`` hands out its namespace), the namespace class, its resources and, by import path,
its HTTP face (an :class:`~metricscore.http.dialect.HttpDialect` subclass; only the HTTP layer imports
it). The core imports no dialect: ``store.posthog`` is looked up here.

Lookup order: dialects registered at run time with :func:`register_dialect`, then the entry-point
group ``metricscore.dialects`` of installed packages. The three built-ins are registered the same
way, by metricscore's own entry points (setup.cfg), so a third party's dialect is found exactly as
they are::

    [options.entry_points]
    metricscore.dialects =
        acme = acme_dialect:DIALECT

Loading is lazy: ``import metricscore`` reads no entry point and imports no dialect; the first
``store.acme`` does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError

if TYPE_CHECKING:
    from .resource import Resource

__all__ = [
    "ENTRY_POINT_GROUP",
    "Dialect",
    "dialect",
    "dialect_names",
    "dialects",
    "find_dialect",
    "register_dialect",
    "unregister_dialect",
]

ENTRY_POINT_GROUP = "metricscore.dialects"


@dataclass(frozen=True)
class Dialect:
    """One vendor's declaration.

    :param name: a Python identifier; ``store.<name>`` is the namespace and resources are named
        ``<name>.<resource>``.
    :param namespace: builds the namespace from a :class:`~metricscore.Store` (a class taking the store).
    :param resources: the resources it declares (each with its table, schemas, pagination and render).
    :param http: ``"package.module:Class"`` of its :class:`~metricscore.http.dialect.HttpDialect`
        (routes, auth, error bodies, OpenAPI pieces), imported only by the HTTP layer, or the class
        itself; ``None`` when it has no HTTP face.
    :param title: how people write its name (``"PostHog"``).
    """

    name: str
    #: Called with the store (a class taking ``metricscore.Store`` is the usual form).
    namespace: Callable[[Any], Any]
    resources: Sequence[Resource[Any]] = ()
    http: str | type[Any] | None = None
    title: str = ""

    def __post_init__(self) -> None:
        if not (isinstance(self.name, str) and self.name.isidentifier() and not self.name.startswith("_")):
            raise ConfigurationError(f"A dialect's name is a Python identifier not starting with '_': {self.name!r}")
        for resource in self.resources:
            if not resource.name.startswith(f"{self.name}."):
                raise ConfigurationError(f"The resource {resource.name!r} of dialect {self.name!r} must be named "
                                         f"'{self.name}.<resource>'.")  # fmt: skip


_lock = threading.Lock()
_runtime: dict[str, Dialect] = {}
#: The entry points of the group by name, read once (and again when a name is not found).
_entry_points: dict[str, metadata.EntryPoint] | None = None
_loaded: dict[str, Dialect] = {}


def register_dialect(declared: Dialect, *, clobber: bool = False) -> None:
    """Make ``declared`` known by its name at run time (before any entry point of that name).

    Refuses to replace an existing run-time registration unless ``clobber`` is true.
    """
    if not isinstance(declared, Dialect):
        raise ConfigurationError(f"register_dialect takes a Dialect, not {type(declared).__name__}.")
    with _lock:
        if not clobber and declared.name in _runtime:
            raise ConfigurationError(
                f"A dialect is already registered as {declared.name!r}; pass clobber=True to replace it."
            )
        _runtime[declared.name] = declared


def unregister_dialect(name: str) -> None:
    """Forget a run-time registration (entry points stay found)."""
    with _lock:
        _runtime.pop(name, None)


def _scan(refresh: bool) -> dict[str, metadata.EntryPoint]:
    global _entry_points
    with _lock:
        if _entry_points is None or refresh:
            _entry_points = {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
        return _entry_points


def dialect_names(*, refresh: bool = False) -> list[str]:
    """Every dialect known: run-time registrations and installed entry points, sorted.

    The entry points are read once per process (and again when a name is looked up and not found);
    ``refresh`` reads them again (after installing a package into a running process).
    """
    with _lock:
        names = set(_runtime)
    return sorted(names | set(_scan(refresh=refresh)))


def find_dialect(name: str) -> Dialect | None:
    """The dialect called ``name``, or ``None`` when no registration or entry point has that name."""
    with _lock:
        found = _runtime.get(name) or _loaded.get(name)
    if found is not None:
        return found
    entry_point = _scan(refresh=False).get(name) or _scan(refresh=True).get(name)
    if entry_point is None:
        return None
    try:
        loaded = entry_point.load()
    except Exception as error:
        package = entry_point.dist.name if entry_point.dist else "?"
        raise ConfigurationError(
            f"The dialect {name!r} from package {package} could not be loaded: {type(error).__name__}: {error}"
        ) from error
    if not isinstance(loaded, Dialect) or loaded.name != name:
        raise ConfigurationError(
            f"The entry point {name!r} = {entry_point.value!r} of group {ENTRY_POINT_GROUP} "
            f"is not a Dialect named {name!r}."
        )
    with _lock:
        _loaded[name] = loaded
    return loaded


def dialect(name: str) -> Dialect:
    """The dialect called ``name``; ConfigurationError naming the known ones if there is none."""
    found = find_dialect(name) if isinstance(name, str) else None
    if found is None:
        known = (
            ", ".join(dialect_names(refresh=True))
            or "none (is metricscore installed? its entry points declare the built-ins)"
        )
        raise ConfigurationError(f"No dialect {name!r}. Known dialects: {known}.")
    return found


def dialects() -> list[Dialect]:
    """Every known dialect, loaded, in name order."""
    return [dialect(name) for name in dialect_names()]
