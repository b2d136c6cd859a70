"""Reading definition files: YAML or JSON, one or more documents each, with source positions.

A document is ``{resource: "<dialect>.<resource>", scope: {...}, definitions: [<payload>, ...]}``.
A YAML file holds one or more documents (``---`` separated) or a list of them; a JSON file holds
one document or a list of them. Every value is turned into plain ``dict``/``list``/``str``/
``int``/``float``/``bool``/``None`` (the resources' validation insists on exact types), and each
node's line and column are kept so that a problem can be reported as ``file:line:column``.

YAML is read with ruamel.yaml's round-trip loader, which knows where every key and item is. JSON is
read with the standard library (fast); its positions are computed only when a problem needs one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from .problems import Problem

__all__ = ["MAX_ALIAS_VALUES", "SUFFIXES", "Document", "Source", "expand_paths", "read_file", "read_text"]

#: File suffixes read when a directory is given.
SUFFIXES = (".yaml", ".yml", ".json")
#: How many values YAML aliases (``*name``) may add to a file, beyond one per character of it: a
#: few hundred bytes of nested aliases (a "billion laughs") would otherwise expand to billions.
MAX_ALIAS_VALUES = 1_000_000

PathKey = tuple[str | int, ...]


@dataclass
class Source:
    """One file: its display name and a map from a node's path to its 1-based (line, column)."""

    name: str
    text: str
    is_json: bool
    _positions: dict[PathKey, tuple[int, int]] | None = None

    def positions(self) -> dict[PathKey, tuple[int, int]]:
        """Computed on first use (only a file with a problem needs them) by ruamel.yaml's
        round-trip loader, which knows where every key and item is; JSON is YAML to it."""
        if self._positions is None:
            self._positions = {}
            try:
                _load_yaml(self.text, self._positions)
            except Exception:  # pragma: no cover - a text ruamel reads differently from the fast path
                self._positions = {}
        return self._positions

    def locate(self, path: PathKey) -> tuple[int, int]:
        """The position of ``path``, or of its nearest ancestor that exists in the file."""
        positions = self.positions()
        for end in range(len(path), -1, -1):
            found = positions.get(path[:end])
            if found is not None:
                return found
        return (1, 1)

    def problem(self, path: PathKey, field_name: str, message: str, code: str) -> Problem:
        line, column = self.locate(path)
        return Problem(self.name, line, column, field_name, message, code)


@dataclass
class Document:
    """One ``{resource, scope, definitions}`` document as written (not validated yet)."""

    source: Source
    #: Path of the document inside its file, e.g. ``(0,)`` for the first YAML document.
    path: PathKey
    body: Any
    problems: list[Problem] = field(default_factory=list)


def expand_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as given, and the definition files under any directory (sorted, recursively). A path
    that is not text or a path is a ValidationError naming ``paths``; one the system refuses (a
    NUL, a name too long) is given as it is, for reading it to report the problem."""
    given: Any = paths  # a caller's value, as it is
    try:
        items: Iterator[Any] = iter([given] if isinstance(given, (str, Path)) else given)
    except TypeError:  # not iterable (or only claiming to be, as a NumPy 0-d array)
        items = iter([given])
    for item in items:
        if not isinstance(item, (str, Path)):
            raise ValidationError({"paths": [f"Expected a path or a list of paths, not {type(item).__name__}."]})
        path = Path(item)
        if _is_dir(path):
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
            # A directory with none is given as it is, so reading it reports the problem (a mistyped
            # directory must not validate, or plan, as "nothing to do").
            yield from found or [path]
        else:
            yield path


#: Told how many more characters of a text were read (a long parse reports as it goes).
Progress = Callable[[int], None]


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):  # a name too long, a NUL: reading it reports the problem
        return False


def read_file(path: Path, progress: Progress | None = None) -> tuple[list[Document], list[Problem]]:
    """The documents of one file, or the problem that kept it from being read (``progress``: see
    :func:`read_text`)."""
    name = str(path)
    if _is_dir(path):
        message = f"a directory without definition files ({', '.join(SUFFIXES)})"
        return [], [Problem(name, 1, 1, "file", message, "unreadable")]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return [], [Problem(name, 1, 1, "file", f"not UTF-8 text: {error.reason}", "unreadable")]
    except OSError as error:
        return [], [Problem(name, 1, 1, "file", f"cannot read: {error.strerror or error}", "unreadable")]
    except ValueError as error:  # a NUL in the name; a lone surrogate no file system encodes
        return [], [Problem(name, 1, 1, "file", f"cannot read: {error}", "unreadable")]
    return read_text(name, text, is_json=path.suffix.lower() == ".json", progress=progress)


def read_text(
    name: str, text: str, *, is_json: bool = False, progress: Progress | None = None
) -> tuple[list[Document], list[Problem]]:
    """The documents of ``text`` (named ``name`` in problems). ``progress`` is told the characters
    read, as libyaml reads them (a large file takes seconds) or at once; ``len(text)`` in all."""
    if not isinstance(text, str):
        raise ValidationError({"text": [f"Expected the file's text, not {type(text).__name__}."]})
    if type(name) is not str:  # every problem names it: a caller's object's __str__ may raise
        raise ValidationError({"name": [f"Expected the file's name as text, not {type(name).__name__}."]})
    told = _Told(progress)
    try:
        return _read_text(name, text, is_json, told)
    finally:
        told(len(text) - told.count)


class _Told:
    """A progress callback that keeps count of what it was told (and may be absent)."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.count = 0

    def __call__(self, count: int) -> None:
        if count > 0 and self.progress is not None:
            self.count += count
            self.progress(count)


class _Reading:
    """``text`` as a stream libyaml reads in chunks, telling ``told`` of each one."""

    def __init__(self, text: str, told: _Told) -> None:
        self.text = text
        self.at = 0
        self.told = told

    def read(self, size: int = -1) -> str:
        end = len(self.text) if size < 0 else self.at + size
        chunk = self.text[self.at : end]
        self.at += len(chunk)
        self.told(len(chunk))
        return chunk


def _read_text(name: str, text: str, is_json: bool, told: _Told) -> tuple[list[Document], list[Problem]]:
    source = Source(name, text, is_json)
    if is_json:
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as error:
            return [], [Problem(name, error.lineno, error.colno, "syntax", error.msg, "json_syntax")]
        except _DuplicateKey as error:
            source_problem = _json_duplicate(source, error.key)
            return [], [source_problem]
        except RecursionError:
            return [], [Problem(name, 1, 1, "syntax", "nested too deeply", "json_syntax")]
        except ValueError as error:  # an integer of more than 4,300 digits, which int() refuses
            return [], [Problem(name, 1, 1, "syntax", str(error).split(";")[0], "json_syntax")]
        bodies: list[Any] = [data]
    else:
        budget = _Budget(len(text) + MAX_ALIAS_VALUES)
        try:
            fast = _fast_yaml(text, told, budget)
            if fast is not None:
                bodies = fast
            else:  # no libyaml, or a text it refuses: ruamel.yaml reads it and says where it is wrong
                positions: dict[PathKey, tuple[int, int]] = {}
                bodies = _load_yaml(text, positions, _Budget(budget.limit))
                source._positions = positions
        except _YAMLProblem as error:
            return [], [Problem(name, error.line, error.column, "syntax", error.message, "yaml_syntax")]
        except _TooManyValues:
            message = f"YAML aliases expand to more than {MAX_ALIAS_VALUES:,} values more than the file holds"
            return [], [Problem(name, 1, 1, "file", message, "too_large")]
    documents: list[Document] = []
    for index, body in enumerate(bodies):
        if isinstance(body, list):
            documents.extend(Document(source, (index, inner), item) for inner, item in enumerate(body))
        elif body is not None:
            documents.append(Document(source, (index,), body))
    if not documents:
        return [], [Problem(name, 1, 1, "file", "no documents in this file", "empty")]
    return documents, []


# -- JSON -----------------------------------------------------------------------------------------


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _json_duplicate(source: Source, key: str) -> Problem:
    try:
        _load_yaml(source.text, {})
    except _YAMLProblem as error:
        return Problem(source.name, error.line, error.column, key, f"duplicate key {key!r}", "duplicate_key")
    return Problem(source.name, 1, 1, key, f"duplicate key {key!r}", "duplicate_key")  # pragma: no cover


# -- YAML -----------------------------------------------------------------------------------------


class _TooManyValues(Exception):
    """The values of a file, aliases expanded, outnumber its :class:`_Budget`."""


class _Budget:
    """How many plain values reading a file may still make (aliases expand to copies)."""

    def __init__(self, limit: int) -> None:
        self.limit = self.left = limit

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _TooManyValues


def _fast_yaml(text: str, told: _Told | None = None, budget: _Budget | None = None) -> list[Any] | None:
    """Every document read by libyaml (PyYAML's C parser), or ``None`` when it is not installed
    or the text has a problem (duplicate keys included), for ruamel.yaml to read and report.
    Raises :class:`_TooManyValues` when the values outnumber ``budget``.

    The values follow YAML 1.2's core schema, as ruamel.yaml's do (``yes`` is a string).
    """
    loader_class = _fast_loader()
    if loader_class is None:
        return None
    reading = _Reading(text, told or _Told(None))
    loader = loader_class(reading)
    budget = budget or _Budget(len(text) + MAX_ALIAS_VALUES)
    try:
        documents = []
        while loader.check_data():
            documents.append(_plain_fast(loader.get_data(), budget, set()))
        return documents
    except (_TooManyValues, _YAMLProblem):
        raise
    except Exception:
        return None
    finally:
        loader.dispose()


_FAST: list[Any] = []


def _fast_loader() -> Any:
    if _FAST:
        return _FAST[0]
    try:
        import yaml
        from yaml import CSafeLoader
    except ImportError:
        _FAST.append(None)
        return None
    import re

    class Loader(CSafeLoader):  # type: ignore[misc]
        yaml_implicit_resolvers: dict[Any, Any] = {}

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            keys = [key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
            if len(keys) != len(set(keys)):
                raise ValueError("duplicate key")
            return super().construct_mapping(node, deep)

        def construct_yaml_int(self, node: Any) -> int:
            value = str(self.construct_scalar(node)).replace("_", "")
            sign = -1 if value.startswith("-") else 1
            digits = value.lstrip("+-")
            if digits.startswith(("0o", "0x")):
                return sign * int(digits[2:], 8 if digits[1] == "o" else 16)
            return sign * int(digits)

    core = [
        ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
        (
            "tag:yaml.org,2002:float",
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            "-+0123456789.",
        ),
        ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
        (
            "tag:yaml.org,2002:timestamp",
            r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
            r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?"
            r":[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
            "0123456789",
        ),
        ("tag:yaml.org,2002:merge", r"^(?:<<)$", "<"),
    ]
    for tag, pattern, first in core:
        Loader.add_implicit_resolver(tag, re.compile(pattern), list(first))
    Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)
    _FAST.append(Loader)
    return Loader


ENDLESS = "an alias inside the node it names: its value would be endless"


def _plain_fast(node: Any, budget: _Budget, within: set[int]) -> Any:
    """Values from PyYAML as the exact builtin types (dates as ISO strings, keys as strings).
    ``within``: the ids of the containers being converted, one of which an alias may name again."""
    budget.spend()
    if not isinstance(node, (dict, list)):
        return _scalar(node)
    if id(node) in within:
        raise _YAMLProblem(1, 1, ENDLESS)
    within.add(id(node))
    try:
        if isinstance(node, dict):
            return {
                key if isinstance(key, str) else _scalar_key(key): _plain_fast(value, budget, within)
                for key, value in node.items()
            }
        return [_plain_fast(item, budget, within) for item in node]
    finally:
        within.discard(id(node))


class _YAMLProblem(Exception):
    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line, self.column, self.message = line, column, message


def _load_yaml(text: str, positions: dict[PathKey, tuple[int, int]], budget: _Budget | None = None) -> list[Any]:
    """Every document of ``text`` as plain values; fills ``positions`` (keyed from the document
    index). Raises :class:`_TooManyValues` when the values outnumber ``budget``."""
    try:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import MarkedYAMLError, YAMLError
    except ModuleNotFoundError as error:
        from ..errors import ConfigurationError

        raise ConfigurationError(
            f"reading YAML definition files needs ruamel.yaml ({error}): pip install 'metricscore[cli]'"
        ) from error

    yaml = YAML(typ="rt")
    try:
        loaded = list(yaml.load_all(text))
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        message = " ".join(str(error.problem or error.context or "invalid YAML").split())
        message = message.split(' in "<unicode string>"')[0]
        raise _YAMLProblem(line, column, message) from None
    except YAMLError as error:
        raise _YAMLProblem(1, 1, " ".join(str(error).split())) from None
    except RecursionError:
        raise _YAMLProblem(1, 1, "nested too deeply") from None
    except ValueError as error:  # an integer of more than 4,300 digits, which int() refuses
        raise _YAMLProblem(1, 1, str(error).split(";")[0]) from None
    budget = budget or _Budget(len(text) + MAX_ALIAS_VALUES)
    try:
        return [_plain(document, (index,), positions, (1, 1), budget) for index, document in enumerate(loaded)]
    except RecursionError:  # an alias inside the node it names: an endless value
        raise _YAMLProblem(1, 1, ENDLESS) from None


def _plain(
    node: Any, path: PathKey, positions: dict[PathKey, tuple[int, int]], here: tuple[int, int], budget: _Budget
) -> Any:
    """``node`` as plain Python values, recording where each mapping key and list item is."""
    budget.spend()
    positions[path] = here
    if isinstance(node, dict):
        lc = getattr(node, "lc", None)
        out: dict[str, Any] = {}
        for key, value in node.items():
            where = _at(lc.key(key) if lc is not None else None, here)
            name = key if isinstance(key, str) else _scalar_key(key)
            out[name] = _plain(value, (*path, name), positions, where, budget)
        return out
    if isinstance(node, list):
        lc = getattr(node, "lc", None)
        return [
            _plain(item, (*path, index), positions, _at(lc.item(index) if lc is not None else None, here), budget)
            for index, item in enumerate(node)
        ]
    return _scalar(node)


def _at(mark: Any, default: tuple[int, int]) -> tuple[int, int]:
    if mark is None:
        return default
    return (int(mark[0]) + 1, int(mark[1]) + 1)


def _scalar_key(key: Any) -> str:
    value = _scalar(key)
    return json.dumps(value) if not isinstance(value, str) else value


def _scalar(value: Any) -> Any:
    """A YAML scalar as the exact builtin type JSON would give (ruamel returns subclasses)."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)
