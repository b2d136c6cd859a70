"""A problem found in a definition file, reported as ``file:line:column: field: message [code]``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

__all__ = ["Problem", "render_problems"]


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


def render_problems(problems: Iterable[Problem], style: str) -> str:
    """``text`` (one per line), ``json`` (a list of objects) or ``github`` (workflow commands)."""
    items = list(problems)
    if style == "json":
        return json.dumps({"valid": not items, "problems": [p.as_dict() for p in items]}, indent=2)
    if style == "github":
        return "\n".join(p.github() for p in items)
    return "\n".join(str(p) for p in items)
