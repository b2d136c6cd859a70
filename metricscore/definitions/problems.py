"""A problem found in a definition file, reported as ``file:line:column: field: message [code]``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import ValidationError

__all__ = ["Problem", "render_problems", "shown"]


@dataclass(frozen=True, order=True)
class Problem:
    """One error in one file. ``line`` and ``column`` count from 1."""

    file: str
    line: int
    column: int
    field: str
    message: str
    code: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.field}: {self.message} [{self.code}]"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def github(self) -> str:
        """A GitHub Actions workflow command: an error annotation on the file and line."""
        message = f"{self.field}: {self.message} [{self.code}]"
        return (
            f"::error file={_property(self.file)},line={self.line},col={self.column},"
            f"title={_property('metricscore ' + self.code)}::{_data(message)}"
        )


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


STYLES = ("text", "json", "github")


def shown(value: Any, limit: int = 200) -> str:
    """``value`` for a message: text quoted (cut at ``limit``), a plain value as Python shows it,
    anything else by its type's name (its own ``__str__``/``__repr__`` are never called)."""
    if type(value) is str:
        return repr(value if len(value) <= limit else value[:limit] + "...")
    if value is None or type(value) in (bool, int, float):
        return repr(value)
    return f"a {type(value).__name__}"


def render_problems(problems: Iterable[Problem], style: str) -> str:
    """``text`` (one per line), ``json`` (a list of objects) or ``github`` (workflow commands).
    Anything but Problem objects, or another style, is a ValidationError naming the argument."""
    if type(style) is not str or style not in STYLES:
        raise ValidationError({"style": [f"Expected one of {', '.join(STYLES)}, not {shown(style)}."]})
    given: Any = problems  # a caller's value, as it is
    try:
        items: list[Any] = list(given)
    except Exception:  # not iterable, or an iterable that fails: a caller's object may raise anything
        items = [given]
    if not all(isinstance(item, Problem) for item in items):
        raise ValidationError({"problems": ["Expected a list of Problem objects (validate(...) gives one)."]})
    if style == "json":
        return json.dumps({"valid": not items, "problems": [p.as_dict() for p in items]}, indent=2)
    if style == "github":
        return "\n".join(p.github() for p in items)
    return "\n".join(str(p) for p in items)
