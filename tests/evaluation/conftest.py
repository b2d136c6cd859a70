from __future__ import annotations

from collections.abc import Iterator

import pytest

from .engines import ENGINE_NAMES, Engine, open_engine


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(name, marks=pytest.mark.server) if name in ("postgresql", "mysql") else name
        for name in ENGINE_NAMES
    ],
)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    opened, close = open_engine(request.param)
    try:
        yield opened
    finally:
        close()
