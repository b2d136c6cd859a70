"""Pieces of the reference semantics that the in-process backends (memory, TinyDB) share.

The meaning of each filter lives in :func:`metricscore.backends.memory.matches` and of ordering
in :func:`metricscore.backends.memory.sort_records`; this module holds the rest of
``Repository.find``'s semantics (keyset ``after``, offset and limit) and record copying, so a
backend that keeps records in Python applies them exactly as the memory backend does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from metricscore.jsonvalue import copy_json
from metricscore.query import OrderBy, Query, order_key
from metricscore.repository import Record

__all__ = ["copy_record", "is_after", "window"]


def copy_record(record: Record) -> Record:
    """A copy the caller owns: JSON values (dicts, lists) are copied, scalars shared."""
    return {k: copy_json(v) if type(v) in (dict, list) else v for k, v in record.items()}


def is_after(key: tuple[Any, ...], position: tuple[Any, ...], order: Sequence[OrderBy]) -> bool:
    """Whether a row at keyset ``key`` comes strictly after ``position`` under ``order``."""
    for value, at, o in zip(key, position, order, strict=True):
        if value != at:
            return bool(value < at) if o.descending else bool(value > at)
    return False


def window(rows: list[Record], query: Query) -> list[Record]:
    """Copies of the rows of ``rows`` (already filtered and in ``query.order``) after
    ``query.after``, skipping ``query.offset`` and keeping at most ``query.limit``."""
    if query.after is not None:
        rows = [r for r in rows if is_after(order_key(query.order, r), query.after, query.order)]
    stop = None if query.limit is None else query.offset + query.limit
    return [copy_record(r) for r in rows[query.offset : stop]]
