"""Type variables with defaults (PEP 696) on Python 3.11, for the public generic classes.

Type checkers read ``TypeVar(..., default=...)`` from their own stubs of ``typing_extensions``; at
run time Python 3.11's ``typing.TypeVar`` takes no default, and needs none: the default only tells
a type checker what a bare or short subscription (``Resource[WidgetRecord]``) means.
:class:`DefaultedGeneric` lets such a short subscription work at run time too.
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any

__all__ = ["DefaultedGeneric", "TypeVar"]

if TYPE_CHECKING:
    from typing_extensions import TypeVar
else:

    def TypeVar(name: str, *constraints: Any, default: Any = None, **options: Any) -> Any:
        """``typing.TypeVar`` without the default, which only type checkers read."""
        return typing.TypeVar(name, *constraints, **options)


class DefaultedGeneric:
    """A base that lets a generic class be subscripted with its leading type arguments only, the
    rest ``Any``, as type checkers read the defaults of its type variables (``Resource[WidgetRecord]``
    is ``Resource[WidgetRecord, Any, Any, Any]``); Python 3.11's ``Generic`` would refuse it."""

    if not TYPE_CHECKING:

        def __class_getitem__(cls, params):
            params = params if isinstance(params, tuple) else (params,)
            missing = len(getattr(cls, "__parameters__", ())) - len(params)
            return super().__class_getitem__(params + (Any,) * missing if missing > 0 else params)
