"""Random operations against the backend under test and the memory backend, side by side.

Both stores get the same clock readings and the same ids, so every result and every error
must be identical. Each example works in a scope of its own.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import Bundle, RuleBasedStateMachine, rule, run_state_machine_as_test

from ...api import Store
from ...errors import MetricscoreError
from ...registry import backend_class
from ...repository import Backend
from ..clock import FakeClock
from ..ids import SequentialIds
from ..strategies import account_list_params, account_payloads, account_updates, invalid_account_payloads
from .fixtures import BackendFixtures, fresh_project_id

__all__ = ["StatefulContract", "compare_with_memory"]

PHASES = tuple(Phase)


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        result = call()
    except MetricscoreError as error:
        return ("error", (type(error).__name__, getattr(error, "errors", str(error))))
    if hasattr(result, "results"):
        return ("page", (result.count, result.results))
    return ("ok", result)


def compare_with_memory(
    backend: Backend,
    *,
    max_examples: int = 25,
    steps: int = 25,
    shrink: bool = False,
    derandomize: bool = False,
) -> None:
    """Run the account state machine against ``backend`` and a fresh memory backend.

    A difference fails at once with the steps that led to it. ``shrink=True`` asks Hypothesis for
    the shortest such sequence first, which on a broken backend can take minutes.
    ``derandomize=True`` runs the same operations every time (no example database either), for a
    gate that must not pass or fail by chance.
    """
    memory_backend = backend_class("memory")  # through the registry: the core imports no backend

    class AccountsMachine(RuleBasedStateMachine):
        ids = Bundle("ids")

        def __init__(self) -> None:
            super().__init__()
            project_id = fresh_project_id()
            prefix = project_id
            self.subject = Store(backend, clock=FakeClock(), id_factory=SequentialIds(prefix))
            self.reference = Store(memory_backend(), clock=FakeClock(), id_factory=SequentialIds(prefix))
            self.accounts = self.subject.posthog.accounts(project_id=project_id)
            self.expected = self.reference.posthog.accounts(project_id=project_id)

        def both(self, operation: str, *args: Any, **kwargs: Any) -> tuple[str, Any]:
            got = _outcome(lambda: getattr(self.accounts, operation)(*args, **kwargs))
            want = _outcome(lambda: getattr(self.expected, operation)(*args, **kwargs))
            assert got == want, f"{operation}{args}{kwargs}: backend gave {got!r}, memory gave {want!r}"
            return got

        @rule(target=ids, payload=account_payloads())
        def create(self, payload: dict[str, Any]) -> str:
            kind, value = self.both("create", payload)
            return value["id"] if kind == "ok" else "missing"

        @rule(case=invalid_account_payloads())
        def create_invalid(self, case: tuple[Any, set[str]]) -> None:
            kind, _ = self.both("create", case[0])
            assert kind == "error"

        @rule(id=ids, changes=account_updates())
        def update(self, id: str, changes: dict[str, Any]) -> None:
            self.both("update", id, changes)

        @rule(id=ids, payload=account_payloads())
        def replace(self, id: str, payload: dict[str, Any]) -> None:
            self.both("replace", id, payload)

        @rule(id=ids)
        def delete(self, id: str) -> None:
            self.both("delete", id)

        @rule(id=ids)
        def get(self, id: str) -> None:
            self.both("get", id)

        @rule(params=account_list_params())
        def list(self, params: dict[str, Any]) -> None:
            self.both("list", **params)

    run_state_machine_as_test(
        AccountsMachine,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=PHASES if shrink else tuple(p for p in PHASES if p is not Phase.shrink),
            derandomize=derandomize,
            database=None if derandomize else settings().database,
        ),
    )


class StatefulContract(BackendFixtures):
    def test_random_operations_match_the_memory_backend(self, backend: Backend) -> None:
        compare_with_memory(backend)
