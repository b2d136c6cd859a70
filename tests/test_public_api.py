"""The public surface: flat namespace, registry, optional dependencies, error hierarchy."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import metricscore as mc
from metricscore.backends.memory import MemoryBackend


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in dir(mc) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(mc, name)).__name__ == "module"}
    assert sorted(mc.__all__) == sorted(public - modules)


def test_import_loads_no_storage_library() -> None:
    code = "import sys, metricscore; print(sorted(m for m in ('sqlalchemy', 'tinydb') if m in sys.modules))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )


def test_core_never_imports_a_backend() -> None:
    code = (
        "import sys, metricscore, metricscore.testing.conformance, metricscore.testing.strategies;"
        "print([m for m in sys.modules if m.startswith('metricscore.backends')])"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )


def test_every_error_is_a_metricscore_error_with_code_and_status() -> None:
    for cls in (mc.ValidationError, mc.NotFound, mc.Conflict, mc.Unauthenticated, mc.PermissionDenied,
                mc.RateLimited, mc.ConfigurationError, mc.StorageError):  # fmt: skip
        assert issubclass(cls, mc.MetricscoreError)
        assert isinstance(cls.code, str) and 400 <= cls.status <= 599


@pytest.mark.parametrize("url", ["nosuch://x", "not a url", "", 5])
def test_unknown_scheme_is_a_configuration_error(url: Any) -> None:
    with pytest.raises(mc.ConfigurationError):
        mc.open_store(url)


def test_register_backend_at_runtime_and_refuse_silent_replacement() -> None:
    class Custom(MemoryBackend):
        @classmethod
        def from_url(cls, url: str, **options: Any) -> Custom:
            return cls()

    mc.register_backend("custommem", Custom)
    try:
        store = mc.open_store("custommem://anything")
        assert isinstance(store.backend, Custom)
        store.posthog.accounts(project_id=1).create({"name": "works"})
        with pytest.raises(mc.ConfigurationError):
            mc.register_backend("custommem", MemoryBackend)
        mc.register_backend("custommem", "metricscore.backends.memory:MemoryBackend", clobber=True)
        assert type(mc.open_store("memory://").backend) is MemoryBackend
    finally:
        from metricscore import registry

        registry._runtime.pop("custommem", None)


def test_a_missing_optional_dependency_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from metricscore import registry

    monkeypatch.setitem(registry._BUILTIN, "fakedb", ("metricscore_fake_missing_dep.backend:Backend", "fakedb"))
    with pytest.raises(mc.ConfigurationError, match=r"pip install 'metricscore\[fakedb\]'"):
        mc.open_store("fakedb://x")


def test_entry_point_backends_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    entry = metadata.EntryPoint("viaentrypoint", "metricscore.backends.memory:MemoryBackend", "metricscore.backends")
    real = metadata.entry_points

    def fake_entry_points(**kwargs: Any) -> Any:
        if kwargs.get("group") == "metricscore.backends":
            return metadata.EntryPoints([entry])
        return real(**kwargs)

    monkeypatch.setattr(metadata, "entry_points", fake_entry_points)
    # The entry point was found and loaded: it is MemoryBackend.from_url that refuses the URL (an
    # unknown scheme would raise a ConfigurationError too, but not this one).
    with pytest.raises(mc.ConfigurationError, match="takes the URL 'memory://', not 'viaentrypoint://'"):
        mc.open_store("viaentrypoint://")
    from metricscore import registry

    assert registry.backend_class("viaentrypoint") is MemoryBackend


def test_memory_stores_do_not_share_state() -> None:
    first, second = mc.open_store("memory://"), mc.open_store("memory://")
    first.posthog.accounts(project_id=1).create({"name": "only here"})
    assert second.posthog.accounts(project_id=1).list().count == 0


def test_injected_clock_and_id_factory() -> None:
    from datetime import UTC, datetime

    store = mc.open_store(
        "memory://", clock=lambda: datetime(2020, 5, 6, 7, 8, 9, tzinfo=UTC), id_factory=lambda: "fixed-id"
    )
    created = store.posthog.accounts(project_id=1).create({"name": "a"})
    assert (created["id"], created["created_at"]) == ("fixed-id", "2020-05-06T07:08:09Z")


def test_a_backend_failure_surfaces_as_storage_error() -> None:
    class Broken(MemoryBackend):
        def unit_of_work(self, *, write: bool = True) -> Any:
            raise OSError("disk on fire")

    with pytest.raises(mc.StorageError) as caught:
        mc.open_store(Broken()).posthog.accounts(project_id=1).list()
    assert isinstance(caught.value.__cause__, OSError)


def test_validation_error_messages_reads_one_fields_messages_at_any_depth() -> None:
    """``error.messages(*path)`` is the typed way to read ``error.errors`` (whose values are either
    a field's messages or a nested tree): a leaf's list, everything below a nested field, or []."""
    statsig = mc.open_store("memory://").statsig.metrics(project_id="p")
    bad: Any = {"name": "", "type": "sum", "metricEvents": [{"name": "ok"}, {"name": 5, "type": "nope"}]}
    with pytest.raises(mc.ValidationError) as caught:
        statsig.create(bad)
    error = caught.value
    leaf = error.errors["metricEvents"]["1"]["name"]
    assert leaf and error.messages("metricEvents", "1", "name") == leaf
    below = [*error.errors["metricEvents"]["1"]["name"], *error.errors["metricEvents"]["1"]["type"]]
    assert sorted(error.messages("metricEvents", "1")) == sorted(below)
    assert sorted(error.messages("metricEvents")) == sorted(below)
    assert error.messages("name") == error.errors["name"] and error.messages("name")[0].code
    assert error.messages() == [message for _, message in error.flat()]
    assert error.messages("metricEvents", "0") == []  # item 0 is valid
    assert error.messages("nosuch") == error.messages("name", "deeper") == []
