"""Every package folder ships: setup.cfg lists each folder that holds an ``__init__.py``."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _listed() -> tuple[set[str], dict[str, str]]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    packages = {line.strip() for line in config["options"]["packages"].splitlines() if line.strip()}
    package_dir = {}
    for line in config["options"].get("package_dir", "").splitlines():
        if "=" in line:
            name, folder = (part.strip() for part in line.split("=", 1))
            package_dir[name] = folder
    return packages, package_dir


def test_every_package_folder_is_listed_in_setup_cfg() -> None:
    packages, package_dir = _listed()
    roots = {"metricscore": "metricscore", **package_dir}
    found: set[str] = set()
    for name, folder in roots.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            relative = init.parent.relative_to(base)
            found.add(".".join((name, *relative.parts)) if relative.parts else name)
    assert found, "no package folder found"
    assert sorted(found - packages) == [], "package folders missing from setup.cfg [options] packages"
    assert sorted(packages - found) == [], "setup.cfg lists packages that have no folder"
