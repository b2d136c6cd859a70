"""Any JSON value, including hostile ones (deep nesting, odd strings, huge numbers)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = ["json_values"]


def _nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def json_values() -> st.SearchStrategy[Any]:
    """Arbitrary JSON: scalars, containers, and objects nested thousands of levels deep."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers() | st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(),
    )
    trees = st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=20,
    )
    deep = st.builds(_nested, st.integers(60, 5000), scalars)
    return st.one_of(trees, deep)
