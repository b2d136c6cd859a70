"""Every code block of README.md and docs/ runs as written (the convention: docs/testing.md)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
RUN = ("python", "sh")
NOT_CODE = ("text", "ini", "toml", "json", "yaml")
SKIP = re.compile(r"<!-- doc-test: skip \((?P<reason>[^)]+)\) -->")
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.S | re.M)
BLOCK_TIMEOUT = 240

# Checks `pip install 'metricscore[extra,...]'` against the installed metadata instead of installing.
PIP_SHIM = r"""#!{python}
import sys
from importlib.metadata import PackageNotFoundError, distribution, metadata
from packaging.requirements import Requirement

args = [a for a in sys.argv[1:] if not a.startswith("-")]
if not args or args[0] != "install":
    sys.exit("doc-test pip: only 'pip install metricscore[...]' is checked")
extras = set(metadata("metricscore").get_all("Provides-Extra") or [])
for spec in args[1:]:
    wanted = Requirement(spec)
    if wanted.name != "metricscore":
        sys.exit(f"doc-test pip: {{spec}} is not metricscore")
    unknown = wanted.extras - extras
    if unknown:
        sys.exit(f"doc-test pip: unknown extra(s) {{sorted(unknown)}} in {{spec}}; known: {{sorted(extras)}}")
    for line in distribution("metricscore").requires or []:
        need = Requirement(line)
        if need.marker is None or any(need.marker.evaluate({{"extra": e}}) for e in wanted.extras):
            try:
                distribution(need.name)
            except PackageNotFoundError:
                sys.exit(f"doc-test pip: {{spec}} needs {{need.name}}, which is not installed")
    print(f"{{spec}}: satisfied (doc test)")
"""

# Runs one page's blocks in order: python blocks in one namespace, sh blocks with bash.
DRIVER = r"""
import json, subprocess, sys, traceback
TIMEOUT = int(sys.argv[2])
blocks = json.load(open(sys.argv[1]))
namespace = {"__name__": "__doc__"}
for block in blocks:
    where = f"{block['page']}:{block['line']}"
    if block["lang"] == "python":
        try:
            exec(compile(block["code"], where, "exec"), namespace)
        except BaseException:
            traceback.print_exc()
            sys.exit(f"python block at {where} failed")
    else:
        script = "set -eu -o pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + block["code"]
        done = subprocess.run(["bash", "-c", script], timeout=TIMEOUT)
        if done.returncode:
            sys.exit(f"sh block at {where} exited {done.returncode}")
"""


def blocks_of(page: Path) -> list[dict[str, object]]:
    text = page.read_text()
    found = []
    for match in FENCE.finditer(text):
        line = text[: match.start()].count("\n") + 1
        lang = match.group("lang").strip()
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        skip = SKIP.fullmatch(before)
        found.append(
            {
                "page": str(page.relative_to(ROOT)),
                "line": line,
                "lang": lang,
                "code": textwrap.dedent(match.group("body")),
                "skip": skip.group("reason") if skip else None,
            }
        )
    return found


def test_every_block_declares_what_it_is() -> None:
    problems = []
    for page in PAGES:
        for block in blocks_of(page):
            where = f"{block['page']}:{block['line']}"
            if block["lang"] not in RUN + NOT_CODE:
                problems.append(f"{where}: language {block['lang']!r}; use one of {RUN + NOT_CODE}")
            if block["skip"] is not None and block["lang"] not in RUN:
                problems.append(f"{where}: a skip marker on a block that never runs")
    assert not problems, "\n".join(problems)


def _network_namespace() -> list[str]:
    """A command prefix that runs in a private network namespace (loopback up), if allowed here."""
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if unshare and ip:
        probe = subprocess.run([unshare, "-n", ip, "link", "set", "lo", "up"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [unshare, "-n", "sh", "-c", f'{ip} link set lo up && exec "$0" "$@"']
    return []


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_the_code_blocks_of_the_page_run(page: Path, tmp_path: Path) -> None:
    runnable = [b for b in blocks_of(page) if b["lang"] in RUN and b["skip"] is None]
    if not runnable:
        pytest.skip("this page has no runnable code block (all are output, shell, or marked doc-test: skip)")
    pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")
    pytest.importorskip("packaging", reason="needs the dev extra: pip install 'metricscore[dev]'")
    shims = tmp_path / "shims"
    shims.mkdir()
    pip = shims / "pip"
    pip.write_text(PIP_SHIM.format(python=sys.executable))
    pip.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "blocks.json").write_text(json.dumps(runnable))
    (tmp_path / "driver.py").write_text(DRIVER)
    bin_dir = Path(sys.executable).parent
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("METRICSCORE_")},
        "PATH": f"{shims}{os.pathsep}{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
    }
    argv = [sys.executable, str(tmp_path / "driver.py"), str(tmp_path / "blocks.json"), str(BLOCK_TIMEOUT)]
    done = subprocess.run(
        [*_network_namespace(), *argv],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT * 3,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-6000:]}"


def _run_with_snippet(snippet: object, script: str, cwd: Path) -> None:
    """Run ``script`` in a fresh interpreter with ``SNIPPET`` bound to a block's code; it prints ``ok``."""
    done = subprocess.run(
        [sys.executable, "-c", f"SNIPPET = {snippet!r}\n{script}"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-4000:]


def test_the_django_snippet_serves_requests(tmp_path: Path) -> None:
    """The Django view of docs/http.md, inside a configured Django, answers like the App."""
    pytest.importorskip("django", reason="needs the dev extra: pip install 'metricscore[dev]'")
    snippet = next(b for b in blocks_of(ROOT / "docs" / "http.md") if "from django.http" in str(b["code"]))
    script = textwrap.dedent(
        """
        import django
        from django.conf import settings

        settings.configure(ALLOWED_HOSTS=["testserver"], ROOT_URLCONF=__name__, DEBUG=False)
        django.setup()
        exec(compile(SNIPPET, "docs/http.md (django)", "exec"))
        from django.test import Client

        client = Client()
        anonymous = client.get("/api/environments/1/accounts/")
        assert anonymous.status_code == 401, anonymous.content
        assert anonymous.json()["code"] == "not_authenticated"
        token = core.keys.create_posthog_key(scopes=["*"], projects=[1]).token
        made = client.post(
            "/api/environments/1/accounts/", b'{"name": "Acme"}', content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert made.status_code == 201 and made.json()["name"] == "Acme", made.content
        listed = client.get("/api/environments/1/accounts/", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert listed.json()["count"] == 1
        print("ok")
        """
    )
    _run_with_snippet(snippet["code"], script, tmp_path)


def test_the_flask_snippet_serves_requests(tmp_path: Path) -> None:
    """The Flask view of docs/http.md answers like the App (its test client sends real WSGI environs)."""
    pytest.importorskip("flask", reason="needs the dev extra: pip install 'metricscore[dev]'")
    snippet = next(b for b in blocks_of(ROOT / "docs" / "http.md") if "from flask import" in str(b["code"]))
    script = textwrap.dedent(
        """
        exec(compile(SNIPPET, "docs/http.md (flask)", "exec"))
        client = flask_app.test_client()
        assert client.get("/api/environments/1/accounts/").status_code == 401
        token = core.keys.create_statsig_key(project_id="p").token
        listed = client.get("/console/v1/metrics/list?limit=5", headers={"STATSIG-API-KEY": token})
        assert listed.status_code == 200 and listed.json["message"] == "Metrics listed successfully.", listed.data
        print("ok")
        """
    )
    _run_with_snippet(snippet["code"], script, tmp_path)
