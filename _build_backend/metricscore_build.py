"""The PEP 517 build backend of metricscore: setuptools' own, with strict editable installs.

``backends/`` is installed as ``metricscore.backends`` (``package_dir`` in setup.cfg). setuptools'
default ("lenient") editable install serves such a mapping through an import hook, which Python
follows but static tools (mypy, pyright, IDEs) cannot: they would see no ``metricscore`` at all.
A *strict* editable install instead builds a tree of links under ``build/__editable__.*`` laid out
as the installed package and puts that folder on ``sys.path`` with a plain ``.pth`` entry, which
every tool reads. Edits to existing files show at once (the links point at them); a new module
needs ``pip install -e .`` again. ``pip install -e . --config-settings editable_mode=lenient``
still selects the import hook.
"""

from __future__ import annotations

from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403 - every other hook is setuptools' own

__all__ = list(_setuptools.__all__)


def build_editable(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    settings = dict(config_settings or {})
    settings.setdefault("editable_mode", "strict")
    return _setuptools.build_editable(wheel_directory, settings, metadata_directory)
