"""A user's ``mypy --strict`` sees the typed results: one mypy run over tests/typing/user_code.py.

Each ``reveal_type`` line there states the type mypy must reveal (``# R: ...``) and each misuse the
error it must report (``# E: ...``); any other report fails the test.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

api = pytest.importorskip("mypy.api", reason="needs the dev extra: pip install 'metricscore[dev]'")

USER_CODE = Path(__file__).parent / "typing" / "user_code.py"


def _expected() -> dict[int, str]:
    expected: dict[int, str] = {}
    for number, line in enumerate(USER_CODE.read_text().splitlines(), start=1):
        found = re.search(r"# ([ER]): (.*)$", line)
        if found:
            kind, text = found.groups()
            expected[number] = f"error: {text}" if kind == "E" else f'note: Revealed type is "{text}"'
    return expected


def test_mypy_strict_knows_the_wire_shapes_pages_and_keywords(tmp_path: Path) -> None:
    # Imported modules are followed silently, as for an installed package: only the user's file reports.
    stdout, stderr, _ = api.run(
        ["--strict", "--follow-imports=silent", "--no-error-summary", "--hide-error-context",
         "--cache-dir", str(tmp_path / "cache"), str(USER_CODE)]
    )  # fmt: skip
    reported: dict[int, list[str]] = {}
    for line in stdout.splitlines():
        found = re.match(r"(?:.*/)?user_code\.py:(\d+): (.*?)(?:  \[[\w-]+\])?$", line)
        assert found, f"unexpected mypy output: {line}\n{stderr}"
        if not re.fullmatch(r'note: "\w+" defined in "[\w.]+"', found.group(2)):  # where a misused method lives
            reported.setdefault(int(found.group(1)), []).append(found.group(2))
    expected = _expected()
    assert len(expected) >= 12
    for number, text in expected.items():
        assert reported.get(number) == [text], f"line {number}: expected {text!r}, mypy said {reported.get(number)}"
    assert set(reported) == set(expected), {n: reported[n] for n in set(reported) - set(expected)}


def test_every_public_call_has_a_docstring() -> None:
    """``help()`` explains each call a user makes (the namespaces, the services and their methods)."""
    import inspect

    import metricscore as mc

    store = mc.open_store("memory://")
    services = [
        store.posthog.accounts(project_id=1),
        store.posthog.group_usage_metrics(project_id=1, group_type_index=0),
        store.sequence.usage_metrics(account_id="a"),
        store.statsig.metrics(project_id="p"),
    ]
    calls = [store.posthog.accounts, store.posthog.group_usage_metrics, store.sequence.usage_metrics,
             store.statsig.metrics, mc.open_store]  # fmt: skip
    for service in services:
        calls += [getattr(service, name) for name in ("get", "list", "create", "update", "replace", "delete")]
    calls += [services[3].get_by_name, services[3].schedule_archive, services[3].cancel_archive, services[3].unarchive]
    for call in calls:
        doc = inspect.getdoc(call)
        assert doc and len(doc) > 30, f"{call.__qualname__} has no docstring"
    assert "idempotency_key" in (inspect.getdoc(services[2].create) or "")


def test_a_plain_service_honours_or_refuses_idempotency_keys_at_run_time() -> None:
    """mypy refuses ``idempotency_key`` on a plain ResourceService; at run time it is honoured when
    the resource is idempotent, a ValidationError naming it when not, and other keywords a TypeError."""
    import metricscore as mc
    from metricscore.dialects.posthog.accounts import ACCOUNTS
    from metricscore.idempotency import KEY_FIELD
    from metricscore.testing import errors_of

    store = mc.open_store("memory://")
    plain: Any = mc.ResourceService(store, ACCOUNTS, {"project_id": 1})
    first = plain.create({"name": "Acme"}, idempotency_key="k")
    assert plain.create({"name": "Acme"}, idempotency_key="k") == first
    assert plain.list().count == 1
    with pytest.raises(TypeError, match="colour"):
        plain.create({"name": "Acme"}, colour="red")

    class Unkeyed(type(ACCOUNTS)):  # type: ignore[misc]
        idempotent = False

    unkeyed: Any = mc.ResourceService(store, Unkeyed(), {"project_id": 2})
    assert KEY_FIELD in errors_of(unkeyed.create, {"name": "Acme"}, idempotency_key="k")
    assert KEY_FIELD in errors_of(unkeyed.create, {"name": "Acme"}, dry_run=True, idempotency_key="k")
    assert unkeyed.list().count == 0
