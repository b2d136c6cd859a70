"""The dialect registry: entry points, run-time registration, a vendor-free core Store."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from typing import Any

import pytest

import metricscore as mc
from metricscore import dialect as registry
from metricscore.dialects.sequence import Sequence


def test_the_builtins_are_found_through_their_entry_points() -> None:
    found = {ep.name: ep.value for ep in metadata.entry_points(group="metricscore.dialects")}
    assert {name: found.get(name) for name in ("posthog", "sequence", "statsig")} == {
        "posthog": "metricscore.dialects.posthog:DIALECT",
        "sequence": "metricscore.dialects.sequence:DIALECT",
        "statsig": "metricscore.dialects.statsig:DIALECT",
    }
    assert registry.dialect("statsig").title == "Statsig"
    assert [r.name for r in registry.dialect("posthog").resources] == [
        "posthog.accounts",
        "posthog.group_usage_metrics",
    ]


def test_an_entry_point_dialect_becomes_a_store_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    declared = mc.Dialect("viaentrypoint", Sequence)
    monkeypatch.setitem(sys.modules, "fake_dialect_module", type(sys)("fake_dialect_module"))
    sys.modules["fake_dialect_module"].DIALECT = declared  # type: ignore[attr-defined]
    entry = metadata.EntryPoint("viaentrypoint", "fake_dialect_module:DIALECT", "metricscore.dialects")
    real = metadata.entry_points

    def fake_entry_points(**kwargs: Any) -> Any:
        if kwargs.get("group") == "metricscore.dialects":
            return metadata.EntryPoints([*real(**kwargs), entry])
        return real(**kwargs)

    monkeypatch.setattr(metadata, "entry_points", fake_entry_points)
    monkeypatch.setattr(registry, "_entry_points", None)
    store = mc.open_store("memory://")
    assert isinstance(store.viaentrypoint, Sequence)
    assert store.viaentrypoint is store.viaentrypoint  # made once per store
    assert "viaentrypoint" in registry.dialect_names()
    registry._loaded.pop("viaentrypoint", None)


def test_without_entry_points_the_builtins_are_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-ins are registered only through the entry-point group, as a third party's are."""
    real = metadata.entry_points

    def no_dialects(**kwargs: Any) -> Any:
        return metadata.EntryPoints([]) if kwargs.get("group") == "metricscore.dialects" else real(**kwargs)

    monkeypatch.setattr(metadata, "entry_points", no_dialects)
    monkeypatch.setattr(registry, "_entry_points", None)
    monkeypatch.setattr(registry, "_loaded", {})
    with pytest.raises(AttributeError, match="no dialect is named so"):
        mc.open_store("memory://").posthog  # noqa: B018
    with pytest.raises(mc.ConfigurationError, match="No dialect 'posthog'"):
        registry.dialect("posthog")


def test_register_a_dialect_at_runtime_and_refuse_silent_replacement() -> None:
    declared = mc.Dialect("runtimeonly", Sequence, title="Run time")
    mc.register_dialect(declared)
    try:
        assert isinstance(mc.open_store("memory://").runtimeonly, Sequence)
        with pytest.raises(mc.ConfigurationError, match="already registered"):
            mc.register_dialect(mc.Dialect("runtimeonly", Sequence))
        mc.register_dialect(mc.Dialect("runtimeonly", Sequence), clobber=True)
    finally:
        registry.unregister_dialect("runtimeonly")
    with pytest.raises(AttributeError):
        mc.open_store("memory://").runtimeonly  # noqa: B018


@pytest.mark.parametrize("name", ["", "1abc", "_private", "a-b", 5])
def test_a_dialect_name_is_an_identifier(name: Any) -> None:
    with pytest.raises(mc.ConfigurationError):
        mc.Dialect(name, Sequence)


def test_a_dialects_resources_carry_its_name() -> None:
    from metricscore.dialects.posthog.accounts import ACCOUNTS

    with pytest.raises(mc.ConfigurationError, match=r"must be named 'acme\.<resource>'"):
        mc.Dialect("acme", Sequence, (ACCOUNTS,))


def test_the_core_imports_no_dialect_and_reads_no_entry_point() -> None:
    code = (
        "import sys, metricscore as mc; from metricscore import dialect; s = mc.open_store('memory://');"
        "print([m for m in sys.modules if m.startswith(('metricscore.dialects', 'metricscore.http'))],"
        " dialect._entry_points)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] None"


#: Top-level modules outside the core: the composition point and the HTTP layer's command.
NOT_CORE = {"api.py", "cli.py"}


def test_no_core_module_imports_a_dialect_or_the_http_layer() -> None:
    import ast
    from pathlib import Path

    root = Path(mc.__file__).parent
    found: list[str] = []
    for path in sorted(root.glob("*.py")):
        if path.name in NOT_CORE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = ("." * node.level) + (node.module or "")
                names = [module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.lstrip(".").split(".")[0] in ("dialects", "http") or name.startswith(
                    ("metricscore.dialects", "metricscore.http")
                ):
                    found.append(f"{path.name}:{node.lineno} {name}")
    assert found == []
    assert "posthog" not in (root / "store.py").read_text().lower()


def test_namespace_names_a_dialect_or_says_which_exist() -> None:
    store = mc.open_store("memory://")
    assert store.namespace("sequence") is store.sequence
    with pytest.raises(mc.ConfigurationError, match=r"Known dialects: .*posthog, sequence, statsig"):
        store.namespace("nosuch")
