from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import metricscore as mc
from metricscore.testing.clock import FakeClock

# benchmarks/ (which tests/test_limits.py reads) importable under any runner, appended so that an
# installed metricscore keeps precedence over the source tree (the tests of an unpacked sdist).
sys.path.append(str(Path(__file__).resolve().parent.parent))

# The machine running the suite is shared (CI runs on 2 cores beside other work): generation speed
# and per-example time are not what the properties are about, so neither may fail a test.
settings.register_profile("metricscore", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "metricscore"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> mc.Store:
    return mc.open_store("memory://", clock=clock)


@pytest.fixture
def accounts(store: mc.Store) -> Any:
    return store.posthog.accounts(project_id=1)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """With METRICSCORE_REQUIRE_SERVERS=1 (CI), a test skipped for want of a server fails instead."""
    report = yield
    if report.skipped and os.environ.get("METRICSCORE_REQUIRE_SERVERS") == "1":
        reason = str(report.longrepr)
        if "METRICSCORE_TEST_" in reason:
            report.outcome = "failed"
            report.longrepr = f"server test skipped in CI, where servers are required: {reason}"
    return report
