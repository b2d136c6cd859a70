"""Tools for testing code built on metricscore: Hypothesis strategies and the backend contract suite.

The helpers here are shared by the contract suites (``metricscore.testing.conformance``,
``metricscore.http.testing``) and by tests that use them; they import neither pytest nor Hypothesis.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from typing import Any

from ..errors import ValidationError

__all__ = ["errors_of", "fresh_id"]

# One counter for every contract: each test works in scopes (projects, accounts) nobody used before,
# so the contracts also hold on a server database that other tests, or other runs, have written to.
_ids = itertools.count(int.from_bytes(os.urandom(3), "big") * 1000 + 1)


def fresh_id() -> int:
    """A scope id (PostHog project id, or the suffix of a Sequence account or Statsig project) no
    earlier call in this process returned, and unlikely to have been used by another run."""
    return next(_ids)


def errors_of(call: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The ``errors`` of the :class:`~metricscore.ValidationError` that ``call(*args, **kwargs)``
    raises; an ``AssertionError`` when it raises none."""
    try:
        call(*args, **kwargs)
    except ValidationError as error:
        return error.errors
    raise AssertionError(f"{getattr(call, '__name__', call)!r} raised no ValidationError")
