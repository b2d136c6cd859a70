"""The core :class:`Store`: a backend, a clock and an id factory. It knows no vendor: ``store.<name>``
of any installed dialect resolves through the dialect registry (:mod:`metricscore.dialect`).

Most programs call :func:`metricscore.open_store` (:mod:`metricscore.api`), whose ``Store`` type
also tells type checkers what the built-in namespaces hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from .dialect import dialect, find_dialect
from .errors import ConfigurationError, MetricscoreError, StorageError
from .ids import Clock, IdFactory, utc_now, uuid7_str
from .registry import backend_class, scheme_of
from .repository import Backend

if TYPE_CHECKING:
    from .evaluation.events import EventLog

__all__ = ["Store"]


def settings_dict(settings: object) -> dict[str, Any]:
    """``settings`` (``None`` or a mapping of setting names to values) as a dict of its own; a
    ConfigurationError for anything else."""
    if settings is None:
        return {}
    if not isinstance(settings, Mapping) or not all(isinstance(name, str) for name in settings):
        message = f"settings must be a mapping of setting names to values, not {type(settings).__name__}."
        raise ConfigurationError(message)
    return dict(settings)


class Store:
    """A backend plus the clock and id factory every operation uses.

    ``store.<dialect>`` (the name of any installed dialect) hands out services bound to a scope;
    each namespace is made on first use. ``settings`` are the embedding app's options for the
    dialects, by name, read with :meth:`setting`.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        clock: Clock | None = None,
        id_factory: IdFactory | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.backend = backend
        self.clock: Clock = clock or utc_now
        self.id_factory: IdFactory = id_factory or uuid7_str
        self.settings: dict[str, Any] = settings_dict(settings)

    @classmethod
    def open(
        cls,
        url: str | Backend,
        *,
        clock: Clock | None = None,
        id_factory: IdFactory | None = None,
        settings: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Self:
        """Open the store at ``url`` (or wrap an already built backend); ``options`` go to the backend.

        See :func:`metricscore.open_store`.
        """
        if isinstance(url, str):
            backend_type = backend_class(scheme_of(url))
            try:
                backend = backend_type.from_url(url, **options)
            except MetricscoreError:
                raise
            except TypeError as error:
                raise ConfigurationError(f"Bad options for {backend_type.__name__}: {error}") from error
            except Exception as error:
                raise StorageError(f"Could not open {url!r}: {type(error).__name__}: {error}") from error
        elif not isinstance(url, Backend):
            raise ConfigurationError(f"open_store takes a URL string or a backend instance, not {type(url).__name__}.")
        else:
            if options:
                raise ConfigurationError("Backend options go with a URL, not with a backend instance.")
            backend = url
        return cls(backend, clock=clock, id_factory=id_factory, settings=settings)

    def setting(self, name: str) -> Any:
        """The setting ``name`` the embedding app gave (``None`` when it gave none)."""
        return self.settings.get(name) if isinstance(name, str) else None

    def namespace(self, name: str) -> Any:
        """The namespace of the dialect ``name`` (``store.namespace("acme")`` is ``store.acme``);
        ConfigurationError naming the installed dialects when there is none."""
        found = self.__dict__.get(name) if isinstance(name, str) and not name.startswith("_") else None
        if found is None:
            found = dialect(name).namespace(self)
            self.__dict__[name] = found
        return found

    if not TYPE_CHECKING:  # type checkers see only declared attributes: a typo stays an error

        def __getattr__(self, name: str) -> Any:
            # Only called for names the instance lacks: a dialect's namespace, made once and kept.
            if name.startswith("_") or find_dialect(name) is None:
                raise AttributeError(
                    f"{type(self).__name__!r} object has no attribute {name!r} (and no dialect is named so)"
                )
            return self.namespace(name)

    def now(self) -> datetime:
        """The clock's time as aware UTC (a naive value is taken to be UTC already)."""
        value = self.clock()
        if not isinstance(value, datetime):
            raise ConfigurationError(f"The clock returned {type(value).__name__}, not a datetime.")
        zone = value.tzinfo
        if zone is UTC:  # what astimezone(UTC) returns: the value itself
            return value
        if zone is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def events(self, dataset: str = "default") -> EventLog:
        """The built-in events table of ``dataset`` (see :mod:`metricscore.evaluation.events`)."""
        from .evaluation.events import EventLog

        return EventLog(self, dataset)

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Store {type(self.backend).__name__}>"
