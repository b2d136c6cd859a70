"""The worst payload each resource accepts: how long validating it takes.

Each payload sits at the documented limits (every list at its cap, every string at its longest,
the whole at ``MAX_PAYLOAD_VALUES`` values, the body under the server's 1 MiB), in the shape that
costs the most to validate. Two rows per resource:

- ``vs json.loads``: validation (``create`` with ``dry_run``: load, rules, render; nothing stored)
  against parsing the same body with ``json.loads``, measured in the same run. Informational.
- ``vs 50 ms budget``: the same time against a fixed 50 ms per request; the target is half of it.

    python -m benchmarks.bench_limits [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

import metricscore as mc
from metricscore.dialects.posthog.accounts import LIMITS as ACCOUNT_LIMITS
from metricscore.dialects.posthog.accounts import STRING_PROPERTIES
from metricscore.dialects.sequence.usage_metrics import LIMITS as USAGE_LIMITS
from metricscore.dialects.statsig.schemas import LIMITS as STATSIG_LIMITS
from metricscore.limits import MAX_PAYLOAD_VALUES, count_values

from .common import Result, best_of, print_table

BUDGET_S = 0.050
TARGET = 0.5  # of the budget: "well under 50 ms"
MAX_BODY = 1024 * 1024


def _account() -> dict[str, Any]:
    role = {"id": 2**63 - 1, "email": "e" * 1000}
    return {
        "name": "n" * 400,
        "external_id": "x" * 400,
        "tags": [f"{i:03d}" + "t" * 252 for i in range(ACCOUNT_LIMITS["tags"])],
        "properties": {
            "csm": role,
            "account_executive": role,
            "account_owner": role,
            **{key: "s" * 1000 for key in STRING_PROPERTIES},
        },
    }


def _group_metric() -> dict[str, Any]:
    # Free-form filters: as many small values as the budget allows (each event object holds 7).
    event = {"id": "$pageview", "properties": [{"key": "k" * 20, "value": "v" * 60}]}
    events = [event] * ((MAX_PAYLOAD_VALUES - 10) // 7)
    return {"name": "n" * 255, "filters": {"events": events}, "math": "sum", "math_property": "p" * 255}


def _usage_metric() -> dict[str, Any]:
    properties = USAGE_LIMITS["propertyFilters"]
    per_property = min(USAGE_LIMITS["propertyFilters.*"], (MAX_PAYLOAD_VALUES - 20) // properties - 1)
    return {
        "name": "n" * 255,
        "description": "d" * 2000,
        "metricType": "GROUPED",
        "eventType": "e" * 255,
        "aggregationType": "SUM",
        "aggregationProperty": "a" * 255,
        "groupingProperty": "g" * 255,
        "unit": "u" * 255,
        "propertyFilters": {f"{i:02d}" + "k" * 253: ["v" * 120] * per_property for i in range(properties)},
    }


def _statsig_metric() -> dict[str, Any]:
    events = STATSIG_LIMITS["metricEvents"]
    # each event holds 3 values plus 6 per criterion; the rest of the payload about 130
    criteria = min(STATSIG_LIMITS["criteria"], ((MAX_PAYLOAD_VALUES - 130) // events - 3) // 6)
    criterion = {"type": "value", "condition": "in", "column": "c" * 200, "values": ["v" * 100]}
    return {
        "name": "n" * 200,
        "type": "sum",
        "description": "d" * 1000,
        "tags": [f"{i:03d}" + "t" * 97 for i in range(STATSIG_LIMITS["tags"] - 10)],
        "unitTypes": ["u" * 200 for _ in range(STATSIG_LIMITS["unitTypes"])],
        "metricEvents": [{"name": "e" * 200, "criteria": [dict(criterion) for _ in range(criteria)]}] * events,
    }


def worst_payloads(store: mc.Store) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Resource name -> (service, its worst accepted payload)."""
    return {
        "account": (store.posthog.accounts(project_id=1), _account()),
        "group metric": (
            store.posthog.group_usage_metrics(project_id=1, group_type_index=0),
            _group_metric(),
        ),
        "usage metric": (store.sequence.usage_metrics(account_id="a"), _usage_metric()),
        "statsig metric": (store.statsig.metrics(project_id="p"), _statsig_metric()),
    }


def check(payload: dict[str, Any]) -> None:
    """The payload is within what a server accepts at all."""
    body = json.dumps(payload).encode("utf-8")
    assert len(body) <= MAX_BODY, f"{len(body)} bytes"
    assert count_values(payload, MAX_PAYLOAD_VALUES) <= MAX_PAYLOAD_VALUES + 1


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 repeats instead of 25")
    args = parser.parse_args(argv)
    repeats = 5 if args.quick else 25
    store = mc.open_store("memory://")
    results: list[Result] = []
    for name, (service, payload) in worst_payloads(store).items():
        check(payload)
        body = json.dumps(payload)
        # create(dry_run=True): every step of a create but the write, so the payload can be reused
        validate: Callable[[], object] = lambda s=service, b=body: s.create(json.loads(b), dry_run=True)  # noqa: E731
        parse: Callable[[], object] = lambda b=body: json.loads(b)  # noqa: E731
        subject_s, baseline_s = best_of(repeats, validate, parse)
        label = f"worst {name} ({len(body) // 1024} KiB)"
        results.append(Result("limits", f"{label} vs json.loads", subject_s, baseline_s))
        results.append(Result("limits", f"{label} vs 50 ms", subject_s, BUDGET_S, TARGET))
    print_table(results)
    return results


if __name__ == "__main__":
    sys.exit(0 if all(r.verdict != "MISSED" for r in main()) else 1)
