"""What `pip install` ships: every package, the LICENSE, and an editable install static tools can read."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    return parser


def _listed(option: str) -> list[str]:
    return [line.strip() for line in _setup_cfg()["options"][option].splitlines() if line.strip()]


def _package_folders(top: str, name: str) -> set[str]:
    found = set()
    for init in (ROOT / top).rglob("__init__.py"):
        relative = init.parent.relative_to(ROOT / top)
        found.add(".".join((name, *relative.parts)))
    return found


def test_every_package_folder_is_listed_in_setup_cfg() -> None:
    packages = set(_listed("packages"))
    """Every folder holding an ``__init__.py`` (under metricscore/ and backends/) ships, and only those."""
    folders = _package_folders("metricscore", "metricscore") | _package_folders("backends", "metricscore.backends")
    assert "metricscore" in folders and "metricscore.backends.sql" in folders, "no package folder found"
    assert folders - packages == set(), "package folders missing from setup.cfg [options] packages"
    assert packages - folders == set(), "setup.cfg lists packages that have no folder"
    assert _listed("package_dir") == ["metricscore.backends = backends"]


def test_the_license_file_is_shipped() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "metricscore developers" in text
    metadata = _setup_cfg()["metadata"]
    assert metadata["license"] == "MIT"
    assert metadata["license_files"].split() == ["LICENSE"]
    assert "include LICENSE" in (ROOT / "MANIFEST.in").read_text(encoding="utf-8").splitlines()


@pytest.fixture
def build_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    pytest.importorskip("setuptools", reason="needs the dev extra: pip install 'metricscore[dev]'")
    monkeypatch.syspath_prepend(str(ROOT / "_build_backend"))
    sys.modules.pop("metricscore_build", None)
    import metricscore_build

    yield metricscore_build
    sys.modules.pop("metricscore_build", None)


def test_the_build_backend_is_declared(build_backend: Any) -> None:
    import tomllib

    system = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]
    assert (system["build-backend"], system["backend-path"]) == ("metricscore_build", ["_build_backend"])
    for hook in ("build_wheel", "build_sdist", "build_editable", "prepare_metadata_for_build_editable"):
        assert callable(getattr(build_backend, hook))


def test_editable_installs_are_strict_unless_asked_otherwise(
    build_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(build_backend._setuptools, "build_editable", lambda *args: seen.append(args) or "w.whl")
    assert build_backend.build_editable("dist") == "w.whl"
    assert build_backend.build_editable("dist", {"editable_mode": "lenient"}, "meta") == "w.whl"
    assert seen == [("dist", {"editable_mode": "strict"}, None), ("dist", {"editable_mode": "lenient"}, "meta")]


def test_the_source_tree_has_the_installed_layout() -> None:
    """``metricscore/backends`` links to ``backends/``, so a checkout on ``sys.path`` (``python -m
    pytest`` from the root) imports ``metricscore.backends`` as an installed package does. An
    unpacked sdist holds a copy instead (MANIFEST.in), file for file the same."""
    link = ROOT / "metricscore" / "backends"
    if (ROOT / ".git").exists() or link.is_symlink():
        assert link.is_symlink() and os.readlink(link) == "../backends"
        assert os.path.samefile(link / "sql" / "backend.py", ROOT / "backends" / "sql" / "backend.py")
        return

    def files(top: Path) -> dict[str, bytes]:
        found = (p for p in top.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        return {str(p.relative_to(top)): p.read_bytes() for p in found}

    assert files(link) == files(ROOT / "backends")


def _project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """What a build reads, copied to ``tmp_path/project`` (a build writes under build/), now the
    working directory."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        shutil.copy2(ROOT / name, project / name)
    for name in ("metricscore", "backends", "_build_backend"):
        shutil.copytree(ROOT / name, project / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(project)
    return project


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Editable installation")
def test_an_editable_wheel_puts_a_plain_folder_on_sys_path(
    build_backend: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real build, on a copy of the project (a strict build writes its tree under build/):
    the wheel's .pth names a folder holding metricscore and metricscore.backends.sql."""
    project = _project_copy(tmp_path, monkeypatch)
    wheel = build_backend.build_editable(str(tmp_path))
    with zipfile.ZipFile(tmp_path / wheel) as archive:
        names = archive.namelist()
        pth = [archive.read(name).decode() for name in names if name.endswith(".pth")]
    assert not [name for name in names if name.endswith("_finder.py")], "an import hook static tools cannot follow"
    assert len(pth) == 1 and not pth[0].startswith("import ")
    tree = Path(pth[0].strip())
    assert (tree / "metricscore" / "__init__.py").exists()
    assert tree.is_relative_to(project)
    assert os.path.samefile(
        tree / "metricscore" / "backends" / "sql" / "backend.py", project / "backends/sql/backend.py"
    )


def _shipped_sources() -> set[str]:
    """The files a wheel must hold: every file under metricscore/ and backends/ (as
    metricscore/backends/), byte-code and editor leftovers aside."""
    found = set()
    for top, prefix in (("metricscore", "metricscore"), ("backends", "metricscore/backends")):
        for path in (ROOT / top).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and not path.name.endswith((".pyc", "~")):
                relative = path.relative_to(ROOT / top)
                if top == "metricscore" and relative.parts[0] == "backends":
                    continue  # the link to backends/
                found.add("/".join((prefix, *relative.parts)))
    return found


@pytest.mark.slow
def test_a_wheel_holds_every_module_data_file_and_entry_point(
    build_backend: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The regular (non-editable) wheel: what ``pip install metricscore`` unpacks must hold every
    module, the SQL migrations and their script template, py.typed, the definitions schema, and
    the console scripts and plug-in entry points."""
    _project_copy(tmp_path, monkeypatch)
    wheel = build_backend.build_wheel(str(tmp_path))
    with zipfile.ZipFile(tmp_path / wheel) as archive:
        names = set(archive.namelist())
        entry_points = configparser.ConfigParser()
        (listing,) = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
        entry_points.read_string(archive.read(listing).decode())
    expected = _shipped_sources()
    assert {"metricscore/py.typed", "metricscore/backends/sql/migrations/script.py.mako"} <= expected
    assert any(name.startswith("metricscore/backends/sql/migrations/versions/0001") for name in expected)
    assert expected - names == set(), "files missing from the wheel"
    assert dict(entry_points["console_scripts"]) == {
        "metricscore": "metricscore.cli:main",
        "metricscore-migrate": "metricscore.cli:migrate_main",
    }
    assert set(entry_points["metricscore.dialects"]) == {"posthog", "sequence", "statsig"}


#: What a source distribution carries beside the packages, so that a packager who unpacks it can
#: run the tests and read the docs (the tests read docs/, examples/, benchmarks/ and their fixtures).
SDIST_TREES = ("tests", "docs", "examples", "benchmarks")
SDIST_FILES = ("README.md", "CHANGELOG.md", "LICENSE", "setup.cfg", "pyproject.toml")


@pytest.mark.slow
def test_the_sdist_holds_the_tests_docs_and_examples(
    build_backend: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to list the tracked files: run it from a clone")
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    project = tmp_path / "project"
    for name in tracked.splitlines():
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, project / name)
        elif source.is_symlink():
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            (project / name).symlink_to(os.readlink(source))
    monkeypatch.chdir(project)
    sdist = build_backend.build_sdist(str(tmp_path))
    with tarfile.open(tmp_path / sdist) as archive:
        names = {name.partition("/")[2] for name in archive.getnames()}
    wanted = {name for name in tracked.splitlines() if name.split("/")[0] in SDIST_TREES} | set(SDIST_FILES)
    assert wanted - names == set(), "files missing from the sdist"
