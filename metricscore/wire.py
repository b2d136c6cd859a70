"""Small renderers shared by the dialects' wire shapes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .jsonvalue import copy_json
from .repository import Record

__all__ = ["column", "iso_z", "json_column", "timestamp_column"]


def iso_z(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with ``Z``, microseconds only when present (as DRF renders datetimes)."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def column(name: str) -> Callable[[Record], Any]:
    return lambda record: record.get(name)


def json_column(name: str) -> Callable[[Record], Any]:
    return lambda record: copy_json(record.get(name))


def timestamp_column(name: str) -> Callable[[Record], Any]:
    return lambda record: iso_z(record.get(name))
