"""Loading and validating definition files: every problem of every file at once.

:func:`load` reads the files and checks each document and each payload with the resource's own
validation (``ResourceService.validate``). :func:`validate` adds the rules across documents:
duplicate natural keys, and Statsig component metrics that exist neither in the files nor in the
target.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NON_FIELD_ERRORS, MetricscoreError, ValidationError
from ..jsonvalue import json_problem
from .files import Document, PathKey, Progress, Source, expand_paths, read_file
from .kinds import Kind, kind_named, unknown_field_message, unknown_resource
from .problems import Problem

if TYPE_CHECKING:
    from ..service import ResourceService
    from .targets import Target

__all__ = ["Definition", "DefinitionSet", "load", "validate"]

DOCUMENT_KEYS = ("resource", "scope", "definitions")


@dataclass
class Definition:
    """One valid payload of one document."""

    kind: Kind
    scope: dict[str, Any]
    #: The payload exactly as written.
    payload: dict[str, Any]
    #: The managed fields after the server's defaults (wire names), for comparison.
    desired: dict[str, Any]
    key: str
    source: Source
    path: PathKey

    @property
    def where(self) -> str:
        line, column = self.source.locate(self.path)
        return f"{self.source.name}:{line}:{column}"

    def problem(self, sub: PathKey, field_name: str, message: str, code: str) -> Problem:
        return self.source.problem((*self.path, *sub), field_name, message, code)


@dataclass
class DefinitionSet:
    """What :func:`load` read: the valid definitions and every problem found."""

    definitions: list[Definition] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    #: Every (resource, scope) a valid document names, even with no definitions: with ``prune``,
    #: a document listing nothing removes every managed record of its scope.
    declared: dict[tuple[str, tuple[tuple[str, Any], ...]], tuple[Kind, dict[str, Any]]] = field(default_factory=dict)
    #: The natural keys the files mention per (resource, scope), invalid definitions included, so
    #: that a problem in one definition does not also make the metrics using it look undefined.
    mentioned: dict[tuple[str, tuple[tuple[str, Any], ...]], set[str]] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.problems

    def scopes(self) -> dict[tuple[str, tuple[tuple[str, Any], ...]], list[Definition]]:
        """Definitions grouped by (resource, scope), in file order."""
        groups: dict[tuple[str, tuple[tuple[str, Any], ...]], list[Definition]] = {}
        for definition in self.definitions:
            groups.setdefault(scope_key(definition.kind, definition.scope), []).append(definition)
        return groups


def scope_key(kind: Kind, scope: Mapping[str, Any]) -> tuple[str, tuple[tuple[str, Any], ...]]:
    return kind.name, tuple(sorted(scope.items()))


_local = threading.local()


def _service(kind: Kind, scope: Any, name: str = NON_FIELD_ERRORS) -> ResourceService[Any, Any]:
    """A service for validation only: bound to an empty in-memory store, never written to. A
    ``scope`` that is not a mapping is a ValidationError naming ``name``."""
    from ..api import open_store
    from ..service import ResourceService

    store = getattr(_local, "store", None)
    if store is None:
        store = _local.store = open_store("memory://")
    if not isinstance(scope, Mapping):
        raise ValidationError({name: [f"Expected a mapping, not {type(scope).__name__}."]})
    return ResourceService(store, kind.resource, scope)


def load(paths: Iterable[str | Path] | str | Path, progress: Progress | None = None) -> DefinitionSet:
    """Read every file (directories: their ``.yaml``, ``.yml`` and ``.json`` files) and validate each
    payload; ``progress`` is told the characters read as reading goes (see :func:`~.files.read_text`)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    result = DefinitionSet()
    for path in expand_paths(paths):
        result.files.append(str(path))
        documents, problems = read_file(path, progress)
        result.problems.extend(problems)
        for document in documents:
            _load_document(document, result)
    return result


def load_documents(documents: Iterable[Document]) -> DefinitionSet:
    """Like :func:`load`, for documents already read (see :func:`~.files.read_text`).

    Anything but an iterable of :class:`~.files.Document` objects holding JSON data (as
    :func:`~.files.read_text` gives them) is a ValidationError naming ``documents``.
    """
    given: Any = documents  # a caller's value, as it is
    try:
        items = list(given)
    except Exception:  # not iterable, or an iterable that fails: a caller's object may raise anything
        raise ValidationError(
            {"documents": [f"Expected a list of Document objects, not {type(given).__name__}."]}
        ) from None
    for index, document in enumerate(items):
        problem = _document_problem(document)
        if problem is not None:
            raise ValidationError({"documents": [f"Item {index}: {problem}"]})
    result = DefinitionSet()
    for document in items:
        _load_document(document, result)
    return result


def _document_problem(document: Any) -> str | None:
    """Why ``document`` is not a Document as :func:`~.files.read_text` makes them, or ``None``."""
    if not isinstance(document, Document):
        return f"expected a Document, not {type(document).__name__}."
    source = document.source
    if not isinstance(source, Source) or type(source.name) is not str or type(source.text) is not str:
        return "its source must be a Source with a text name and text."
    if type(document.path) is not tuple or any(type(part) not in (str, int) for part in document.path):
        return "its path must be a tuple of texts and integers."
    problem = json_problem(document.body, None, types_only=True)
    if problem is not None:
        return f"its body must be JSON data: {problem}"
    return None


def _load_document(document: Document, out: DefinitionSet) -> None:
    source, path, body = document.source, document.path, document.body
    if not isinstance(body, dict):
        out.problems.append(
            source.problem(path, "document", "expected a mapping with resource, scope and definitions", "invalid")
        )
        return
    problems = out.problems
    for key in body:
        if key not in DOCUMENT_KEYS:
            message = unknown_field_message(key, DOCUMENT_KEYS)
            problems.append(source.problem((*path, key), key, message, "unknown_field"))
    resource = body.get("resource")
    kind = kind_named(resource)
    if kind is None:
        message = "This field is required." if resource is None else unknown_resource(resource)
        problems.append(source.problem((*path, "resource"), "resource", message, "unknown_resource"))
    scope_data = body.get("scope", {})
    definitions = body.get("definitions")
    if not isinstance(definitions, list):
        message = "This field is required." if definitions is None else "expected a list of payloads"
        problems.append(source.problem((*path, "definitions"), "definitions", message, "invalid"))
        definitions = []
    if kind is None:
        return
    for key in scope_data if isinstance(scope_data, dict) else ():
        if key not in kind.resource.scope_fields:  # the scope a document names is the one it means
            message = unknown_field_message(key, kind.resource.scope_fields)
            problems.append(source.problem((*path, "scope", key), f"scope.{key}", message, "unknown_field"))
    try:
        service = _service(kind, scope_data)
    except ValidationError as error:
        for sub, message in error.flat():
            sub = tuple(part for part in sub if part != NON_FIELD_ERRORS)
            name = ".".join(("scope", *sub))
            problems.append(source.problem((*path, "scope", *sub), name, str(message), message.code))
        return
    scope = dict(service.scope)
    out.declared.setdefault(scope_key(kind, scope), (kind, scope))
    mentioned = out.mentioned.setdefault(scope_key(kind, scope), set())
    for index, payload in enumerate(definitions):
        where = (*path, "definitions", index)
        if isinstance(payload, dict):
            mentioned.add(kind.natural_key(payload))
        # The vendors ignore a key they do not know; a file holding one would apply something else.
        unknown = [
            source.problem((*where, *found.path), found.name, found.message, "unknown_field")
            for found in kind.unknown_fields(payload)
        ]
        problems.extend(unknown)
        try:
            loaded = service.validate(payload, "create")
        except ValidationError as error:
            for sub, message in error.flat():
                problems.append(_payload_problem(source, where, payload, sub, message))
            continue
        except MetricscoreError as error:  # pragma: no cover - validate raises only ValidationError
            problems.append(source.problem(where, "definition", str(error), error.code))
            continue
        if kind.dry_run_key is not None and kind.dry_run_key in payload:
            message = "a definition is applied for real; remove it (plan is the dry run)"
            problems.append(source.problem((*where, kind.dry_run_key), kind.dry_run_key, message, "not_allowed"))
            continue
        if unknown:
            continue
        desired = kind.normalize(loaded)
        out.definitions.append(Definition(kind, scope, payload, desired, kind.natural_key(desired), source, where))


def _payload_problem(source: Source, where: PathKey, payload: Any, sub: tuple[str, ...], message: Any) -> Problem:
    """A payload error at the position of the deepest part of its path that the file has."""
    located: list[str | int] = []
    node = payload
    for part in sub:
        if part == NON_FIELD_ERRORS:
            continue
        if isinstance(node, list) and part.isdigit():
            located.append(int(part))
            node = node[int(part)] if int(part) < len(node) else None
        else:
            located.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    name = ".".join(str(part) for part in located) or "definition"
    return source.problem((*where, *located), name, str(message), getattr(message, "code", "invalid_input"))


def validate(
    paths: Iterable[str | Path] | str | Path | DefinitionSet, *, target: Target | None = None
) -> list[Problem]:
    """Every problem of the files: their own and the rules across documents, sorted by position.

    With ``target``, Statsig component metrics may also exist there instead of in the files.
    """
    if target is not None:
        from .targets import checked_target

        target = checked_target(target)
    loaded = paths if isinstance(paths, DefinitionSet) else load(paths)
    problems = list(loaded.problems)
    problems.extend(cross_document_problems(loaded.definitions, target, loaded.mentioned))
    return sorted(set(problems), key=_order)


def _order(problem: Problem) -> tuple[Any, ...]:
    return (problem.file, problem.line, problem.column, problem.field, problem.message)


def cross_document_problems(
    definitions: Sequence[Definition],
    target: Target | None,
    mentioned: Mapping[tuple[str, tuple[tuple[str, Any], ...]], set[str]] | None = None,
) -> list[Problem]:
    problems: list[Problem] = []
    first: dict[tuple[Any, ...], Definition] = {}
    for definition in definitions:
        identity = (*scope_key(definition.kind, definition.scope), definition.key)
        earlier = first.setdefault(identity, definition)
        if earlier is not definition:
            key_field = definition.key.split("=", 1)[0] if "=" in definition.key else "name"
            problems.append(
                definition.problem(
                    (key_field,),
                    key_field,
                    f"duplicate natural key {definition.key!r} of {definition.kind.name}"
                    f" (first defined at {earlier.where})",
                    "duplicate",
                )
            )
    problems.extend(_component_problems(definitions, target, mentioned or {}))
    return problems


def _component_problems(
    definitions: Sequence[Definition],
    target: Target | None,
    mentioned: Mapping[tuple[str, tuple[tuple[str, Any], ...]], set[str]],
) -> list[Problem]:
    statsig = [d for d in definitions if d.kind.removal == "archive"]
    defined: dict[tuple[Any, ...], set[str]] = {key: set(keys) for key, keys in mentioned.items()}
    for definition in statsig:
        defined.setdefault(scope_key(definition.kind, definition.scope), set()).add(definition.key)
    in_target: dict[tuple[Any, ...], set[str]] = {}
    problems: list[Problem] = []
    for definition in statsig:
        group = scope_key(definition.kind, definition.scope)
        for index, component in enumerate(definition.desired.get("metricComponentMetrics") or ()):
            component_id = f"{component.get('name')}::{component.get('type')}"
            if component_id in defined[group]:
                continue
            if target is not None:
                if group not in in_target:
                    collection = target.collection(definition.kind, definition.scope)
                    in_target[group] = {
                        definition.kind.natural_key(definition.kind.project(record)) for record in collection.records()
                    }
                if component_id in in_target[group]:
                    continue
                message = f"component metric {component_id!r} exists neither in the files nor in the target"
            else:
                message = f"component metric {component_id!r} is not defined in the files (use --target to look it up)"
            problems.append(
                definition.problem(
                    ("metricComponentMetrics", index),
                    f"metricComponentMetrics.{index}",
                    message,
                    "unknown_component",
                )
            )
    return problems
