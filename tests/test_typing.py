"""A user's ``mypy --strict`` sees the typed results: one mypy run over tests/typing/user_code.py.

Each ``reveal_type`` line there states the type mypy must reveal (``# R: ...``) and each misuse the
error it must report (``# E: ...``); any other report fails the test.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from test_resource_declarations import SCOPES, _service

import metricscore as mc

api = pytest.importorskip("mypy.api", reason="needs the dev extra: pip install 'metricscore[dev]'")

USER_CODE = Path(__file__).parent / "typing" / "user_code.py"


def _expected() -> dict[int, str]:
    expected: dict[int, str] = {}
    for number, line in enumerate(USER_CODE.read_text().splitlines(), start=1):
        found = re.search(r"# ([ER]): (.*)$", line)
        if found:
            kind, text = found.groups()
            expected[number] = f"error: {text}" if kind == "E" else f'note: Revealed type is "{text}"'
    return expected


def test_mypy_strict_knows_the_wire_shapes_pages_and_keywords(tmp_path: Path) -> None:
    # Imported modules are followed silently, as for an installed package: only the user's file reports.
    stdout, stderr, _ = api.run(
        ["--strict", "--follow-imports=silent", "--no-error-summary", "--hide-error-context",
         "--cache-dir", str(tmp_path / "cache"), str(USER_CODE)]
    )  # fmt: skip
    reported: dict[int, list[str]] = {}
    for line in stdout.splitlines():
        found = re.match(r"(?:.*/)?user_code\.py:(\d+): (.*?)(?:  \[[\w-]+\])?$", line)
        assert found, f"unexpected mypy output: {line}\n{stderr}"
        # Context of an error, not a report of its own: where a misused method lives, an overload's variants.
        if not re.fullmatch(
            r'note: ("\w+" defined in "[\w.]+"|Possible overload variants:|    def .*)', found.group(2)
        ):
            reported.setdefault(int(found.group(1)), []).append(found.group(2))
    expected = _expected()
    assert len(expected) >= 12
    for number, text in expected.items():
        assert reported.get(number) == [text], f"line {number}: expected {text!r}, mypy said {reported.get(number)}"
    assert set(reported) == set(expected), {n: reported[n] for n in set(reported) - set(expected)}


def test_the_typed_api_example_type_checks(tmp_path: Path) -> None:
    """The example under "Typed API" in docs/architecture.md (run by tests/test_docs.py) also passes
    ``mypy --strict``, so each of its ``assert_type`` claims holds for a type checker too."""
    doc = (Path(__file__).parent.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = doc.split("### Typed API\n", 1)[1]
    block = section.split("```python\n", 1)[1].split("\n```", 1)[0]
    assert "assert_type(" in block
    example = tmp_path / "typed_api.py"
    example.write_text(block + "\n", encoding="utf-8")
    stdout, stderr, status = api.run(
        [
            "--strict",
            "--follow-imports=silent",
            "--no-error-summary",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(example),
        ]
    )
    assert (stdout, status) == ("", 0), stdout + stderr


def test_pyright_reports_the_same_misuses() -> None:
    """A pyright user sees the same: an error on every line mypy must report, and on no other
    (pyright words its messages its own way, so only the lines are compared)."""
    pytest.importorskip("pyright", reason="needs the dev extra: pip install 'metricscore[dev]'")
    done = subprocess.run(
        [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable, str(USER_CODE)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.stdout.startswith("{"), done.stderr  # pyright runs on Node.js: the system's, or one it downloads
    report = json.loads(done.stdout)
    errors = {d["range"]["start"]["line"] + 1 for d in report["generalDiagnostics"] if d["severity"] == "error"}
    expected = {number for number, text in _expected().items() if text.startswith("error: ")}
    assert errors == expected, {"unexpected": sorted(errors - expected), "missing": sorted(expected - errors)}


def test_every_public_call_has_a_docstring() -> None:
    """``help()`` explains each call a user makes (the namespaces, the services and their methods)."""
    import inspect

    store = mc.open_store("memory://")
    services = [
        store.posthog.accounts(project_id=1),
        store.posthog.group_usage_metrics(project_id=1, group_type_index=0),
        store.sequence.usage_metrics(account_id="a"),
        store.statsig.metrics(project_id="p"),
    ]
    calls = [store.posthog.accounts, store.posthog.group_usage_metrics, store.sequence.usage_metrics,
             store.statsig.metrics, mc.open_store]  # fmt: skip
    for service in services:
        calls += [getattr(service, name) for name in ("get", "list", "create", "update", "replace", "delete")]
    calls += [services[3].get_by_name, services[3].schedule_archive, services[3].cancel_archive, services[3].unarchive]
    for call in calls:
        doc = inspect.getdoc(call)
        assert doc and len(doc) > 30, f"{call.__qualname__} has no docstring"
    assert "idempotency_key" in (inspect.getdoc(services[2].create) or "")


def test_a_plain_service_honours_or_refuses_idempotency_keys_at_run_time() -> None:
    """mypy refuses ``idempotency_key`` on a plain ResourceService; at run time it is honoured when
    the resource is idempotent, a ValidationError naming it when not, and other keywords a TypeError."""
    from metricscore.dialects.posthog.accounts import ACCOUNTS
    from metricscore.idempotency import KEY_FIELD
    from metricscore.testing import errors_of

    store = mc.open_store("memory://")
    plain: Any = mc.ResourceService(store, ACCOUNTS, {"project_id": 1})
    first = plain.create({"name": "Acme"}, idempotency_key="k")
    assert plain.create({"name": "Acme"}, idempotency_key="k") == first
    assert plain.list().count == 1
    with pytest.raises(TypeError, match="colour"):
        plain.create({"name": "Acme"}, colour="red")

    class Unkeyed(type(ACCOUNTS)):  # type: ignore[misc]
        idempotent = False

    unkeyed: Any = mc.ResourceService(store, Unkeyed(), {"project_id": 2})
    assert KEY_FIELD in errors_of(unkeyed.create, {"name": "Acme"}, idempotency_key="k")
    assert KEY_FIELD in errors_of(unkeyed.create, {"name": "Acme"}, dry_run=True, idempotency_key="k")
    assert unkeyed.list().count == 0


# -- the payload types agree with the schemas that validate them -----------------------------------


def _resource_arguments(resource: Any) -> tuple[Any, ...]:
    """The type arguments of the ``Resource[...]`` a resource class declares (record, create, replace, update)."""
    from metricscore.resource import Resource

    for cls in type(resource).__mro__:
        for base in cls.__dict__.get("__orig_bases__", ()):
            if typing.get_origin(base) is Resource:
                return typing.get_args(base)
    raise AssertionError(f"{type(resource).__name__} declares no Resource[...] base")


def _strip(annotation: Any) -> tuple[Any, bool]:
    """``annotation`` without ``Annotated``/``NotRequired`` and ``None``; and whether it allowed ``None``."""
    while typing.get_origin(annotation) in (typing.Annotated, typing.NotRequired, typing.Required):
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(members) < len(typing.get_args(annotation))
        return (members[0] if len(members) == 1 else typing.Union[tuple(members)]), nullable
    return annotation, False


def _literal_values(annotation: Any) -> set[Any]:
    if typing.get_origin(annotation) is typing.Literal:
        return {v for arg in typing.get_args(annotation) for v in _literal_values(arg)}
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return {v for arg in typing.get_args(annotation) for v in _literal_values(arg)}
    return {annotation}


def _payload_problems(typed: Any, schema: Any, partial: bool, where: str) -> list[str]:
    """Every way the ``TypedDict`` ``typed`` disagrees with the marshmallow ``schema`` (keys, which are
    required, which take ``None``, the choices of a ``Choice``), recursing into nested schemas."""
    import marshmallow as ma

    hints = typing.get_type_hints(typed, include_extras=True)
    fields = {f.data_key or name: f for name, f in schema.fields.items() if not f.dump_only}
    problems = [f"{where}: {key} not in the schema" for key in set(hints) - set(fields)]
    problems += [f"{where}: {key} not in {typed.__name__}" for key in set(fields) - set(hints)]
    for key in set(hints) & set(fields):
        field, (annotation, nullable) = fields[key], _strip(hints[key])
        if (key in typed.__required_keys__) != (field.required and not partial):
            problems.append(f"{where}.{key}: required in one, not the other")
        if nullable != bool(field.allow_none):
            problems.append(f"{where}.{key}: None allowed in one, not the other")
        choices = getattr(field, "choices", None)
        if choices is not None and _literal_values(annotation) != set(choices):
            problems.append(f"{where}.{key}: {sorted(_literal_values(annotation), key=str)} != {sorted(choices)}")
        inner, item = field, annotation
        if hasattr(field, "inner"):  # a list: its items
            inner, item = field.inner, _strip(typing.get_args(annotation)[0] if typing.get_args(annotation) else Any)[0]
        nested = getattr(inner, "schema", None)
        if typing.is_typeddict(item):  # a nested payload type is checked against its schema, never unchecked
            if not isinstance(nested, ma.Schema):
                problems.append(f"{where}.{key}: {item.__name__} has no nested schema to agree with")
            else:
                problems += _payload_problems(item, nested, False, f"{where}.{key}")
    return problems


@pytest.mark.parametrize("name", sorted(__import__("metricscore.dialects", fromlist=["RESOURCES"]).RESOURCES))
def test_each_resources_payload_types_match_its_schemas(name: str) -> None:
    """``create``/``replace``/``update`` are typed with the ``TypedDict`` s the resource class names
    (``Resource[Record, Create, Replace, Update]``); each has exactly the fields its schema validates,
    the same ones required (none for ``update``, a partial change), the same ones nullable and the
    same choices, nested items included. A field added to a schema and not to its type fails here."""
    from metricscore.dialects import RESOURCES

    resource = RESOURCES[name]
    record, create, replace, update = _resource_arguments(resource)
    assert record is resource.record_type
    assert all(typing.is_typeddict(t) for t in (create, replace, update)), name
    change_schema = resource.update_schema or resource.create_schema
    problems = _payload_problems(create, resource.create_schema, False, f"{name} create")
    problems += _payload_problems(replace, change_schema, False, f"{name} replace")
    problems += _payload_problems(update, change_schema, True, f"{name} update")
    assert problems == []


#: One definition per metric resource that every other can express (a count of one event's
#: events), so each pair translates at least once whatever the generated payloads are.
TRANSLATABLE: dict[str, dict[str, Any]] = {
    "posthog.group_usage_metrics": {"name": "Calls", "filters": {"events": [{"id": "call", "type": "events"}]}},
    "sequence.usage_metrics": {"name": "Calls", "metricType": "SIMPLE", "eventType": "call",
                               "aggregationType": "COUNT"},
    "statsig.metrics": {"name": "Calls", "type": "event_count_custom", "unitTypes": ["userID"],
                        "metricEvents": [{"name": "call"}]},
}  # fmt: skip


@pytest.mark.parametrize("source", sorted(TRANSLATABLE))
@pytest.mark.parametrize("target", sorted(TRANSLATABLE))
def test_a_translated_payload_is_the_targets_create_payload(source: str, target: str) -> None:
    """``translate(..., target=name)`` is typed ``Translation[<the target's create payload>]`` (so
    its payload passes to the target service's ``create``): each payload it answers has only
    that ``TypedDict`` 's keys and all of its required ones."""
    from hypothesis import HealthCheck, example, given, settings

    from metricscore.dialects import RESOURCES
    from metricscore.testing.strategies import payloads

    create = _resource_arguments(RESOURCES[target])[1]
    translated: list[object] = []

    @settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
    @given(payloads(source))
    @example(TRANSLATABLE[source])
    def check(payload: dict[str, Any]) -> None:
        try:
            answer = mc.translate(payload, source, target)
        except mc.TranslationError:
            return  # a definition the target cannot express
        translated.append(answer.payload)
        assert set(answer.payload) <= set(create.__annotations__), set(answer.payload) - set(create.__annotations__)
        assert create.__required_keys__ <= set(answer.payload)

    check()
    assert translated, "no payload translated: the check checked nothing"


def _keywords(method: Any, namespace: dict[str, Any]) -> Any:
    """The ``TypedDict`` of a method's ``**params: Unpack[...]`` (only that annotation is read: the
    others may name what is imported for type checkers only)."""
    hint = inspect.signature(method).parameters["params"].annotation
    if isinstance(hint, str):  # postponed annotations
        hint = eval(hint, vars(sys.modules[method.__module__]), {"Unpack": typing.Unpack, **namespace})
    assert typing.get_origin(hint) is typing.Unpack, f"{method.__qualname__} takes untyped keywords"
    return typing.get_args(hint)[0]


def _service_class(name: str) -> Any:
    return type(_service(mc.open_store("memory://"), name))


@pytest.mark.parametrize("name", sorted(SCOPES))
def test_list_keywords_are_the_declared_query_parameters(name: str) -> None:
    """``list()`` takes exactly the query parameters the resource and its pagination declare (the
    ones the OpenAPI document lists and ``list_request`` reads), each ``enum`` as a ``Literal``."""
    from metricscore.dialects import RESOURCES

    resource = RESOURCES[name]
    declared = {**resource.list_parameters, **resource.pagination.parameters()}
    service = _service_class(name)
    typed = _keywords(service.list, vars(importlib.import_module(service.__module__)))
    assert set(typing.get_type_hints(typed)) == set(declared)
    assert typed.__required_keys__ == frozenset()
    for key, annotation in typing.get_type_hints(typed).items():
        if "enum" in declared[key]:
            assert _literal_values(_strip(annotation)[0]) == set(declared[key]["enum"]), key


EVALUATION_ROUTES = {
    "posthog.group_usage_metrics": ("metricscore.http.posthog", "_USAGE"),
    "sequence.usage_metrics": ("metricscore.http.sequence", "CALCULATE"),
    "statsig.metrics": ("metricscore.http.statsig", "EVALUATE"),
}


@pytest.mark.parametrize("name", sorted(EVALUATION_ROUTES))
def test_evaluate_keywords_are_the_evaluation_routes_query_parameters(name: str) -> None:
    """``evaluate()`` takes exactly the query parameters its HTTP route documents, the same ones
    required (the route passes its query string to ``evaluate``)."""
    from metricscore.dialects import RESOURCES

    module, attribute = EVALUATION_ROUTES[name]
    route = getattr(importlib.import_module(module), attribute)
    service = _service_class(name)
    evaluation = importlib.import_module(RESOURCES[name].evaluation.partition(":")[0])
    typed = _keywords(service.evaluate, vars(evaluation))
    assert {key: key in typed.__required_keys__ for key in typing.get_type_hints(typed)} == {
        query: required for query, required, _ in route.query
    }


# -- the envelope TypedDicts are what envelope() answers ---------------------------------------------


def _envelope_type(page: Any) -> Any:
    """The envelope ``TypedDict`` a page class declares (``PageItems[ItemT, OffsetEnvelope[ItemT]]``)."""
    from metricscore.pagination.base import PageItems

    for cls in type(page).__mro__:
        for base in cls.__dict__.get("__orig_bases__", ()):
            if typing.get_origin(base) is PageItems:
                return typing.get_origin(typing.get_args(base)[1])
    raise AssertionError(f"{type(page).__name__} declares no envelope type")


def _typed_shape(typed: Any) -> dict[str, Any]:
    """A ``TypedDict`` 's keys, each nested ``TypedDict`` as its own keys."""
    hints = typing.get_type_hints(typed)
    return {key: _typed_shape(hint) if typing.is_typeddict(hint) else None for key, hint in hints.items()}


def _body_shape(body: Any) -> dict[str, Any]:
    """A body's keys, each nested object as its own keys (records sit in lists)."""
    return {key: _body_shape(value) if isinstance(value, dict) else None for key, value in body.items()}


def _schema_shape(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI object's required properties, each nested object as its own."""
    assert set(schema["required"]) == set(schema["properties"])
    return {
        key: _schema_shape(value) if value.get("type") == "object" else None
        for key, value in schema["properties"].items()
    }


def _pagination(name: str) -> Any:
    from metricscore.dialects import RESOURCES
    from metricscore.dialects.sequence import usage_events

    return RESOURCES[name].pagination if name in RESOURCES else usage_events.PAGINATION


#: Every listing's scope: the resources' and the usage events' (a listing of its own, no resource).
LISTINGS = {**SCOPES, "sequence.usage_events": {"account_id": "acct-1"}}


@pytest.mark.parametrize("name", sorted(LISTINGS))
def test_each_pages_envelope_type_is_the_body_it_answers(name: str) -> None:
    """``page.envelope(url)`` is typed as its page class's envelope ``TypedDict``: it has exactly
    the keys (nested ones too) of the body every resource's page answers, and of the OpenAPI
    schema that documents it. A key added to a dialect's envelope and not to the type fails here."""
    namespace, method = name.split(".")
    page = getattr(getattr(mc.open_store("memory://"), namespace), method)(**LISTINGS[name]).list()
    typed = _typed_shape(_envelope_type(page))
    assert _body_shape(page.envelope("http://h/list?limit=1&x=%20")) == typed
    assert _body_shape(page.envelope()) == typed
    assert _schema_shape(_pagination(name).envelope_schema({"type": "object"})) == typed


CLIENT_COLLECTIONS = {
    "posthog.accounts": ("PostHogClient", "accounts"),
    "posthog.group_usage_metrics": ("PostHogClient", "group_usage_metrics"),
    "sequence.usage_metrics": ("SequenceClient", "usage_metrics"),
    "statsig.metrics": ("StatsigClient", "metrics"),
}


@pytest.mark.parametrize("name", sorted(SCOPES))
def test_client_list_takes_the_services_keywords_and_answers_its_envelope(name: str) -> None:
    """An HTTP client's ``list(**params)`` takes the very ``TypedDict`` of keywords the store's
    service takes, and is typed as the envelope of the service's page (the body the server sends)."""
    from metricscore import client, pagination
    from metricscore.dialects import RESOURCES, posthog, sequence, statsig

    client_class, method = CLIENT_COLLECTIONS[name]
    collection = typing.get_type_hints(getattr(getattr(client, client_class), method))["return"]
    names = {**vars(posthog), **vars(sequence), **vars(statsig), **vars(pagination)}
    service = _service_class(name)
    service_keywords = _keywords(service.list, vars(importlib.import_module(service.__module__)))
    assert _keywords(collection.list, names) is service_keywords
    page = _service(mc.open_store("memory://"), name).list()
    record = _resource_arguments(RESOURCES[name])[0]
    assert typing.get_type_hints(collection.list, names)["return"] == _envelope_type(page)[record]


def test_each_exports_definitions_are_typed_as_the_resources_create_payload() -> None:
    """``export(target, "posthog.accounts", ...)`` is typed ``ExportedDocument[AccountCreate]``:
    one overload per resource definitions can manage, its payload the ``Resource[...]`` class's
    create type (so the two cannot drift), and ``ExportedDocument[dict[str, Any]]`` for any name."""
    from metricscore import definitions as defs
    from metricscore.definitions.kinds import KINDS
    from metricscore.dialects import RESOURCES, posthog, sequence, statsig

    names = {**vars(posthog), **vars(sequence), **vars(statsig)}
    typed: dict[Any, Any] = {}
    for overload in typing.get_overloads(defs.export):
        hints = typing.get_type_hints(overload, {**vars(sys.modules[overload.__module__]), **names})
        (resource,) = typing.get_args(hints["resource"]) or (hints["resource"],)
        typed[resource] = typing.get_args(hints["return"])[0]
    assert typed.pop(str) == dict[str, Any]
    assert typed == {name: _resource_arguments(RESOURCES[name])[1] for name in KINDS}


@pytest.mark.parametrize("name", sorted(SCOPES))
def test_exported_definitions_are_the_create_payloads_they_are_typed_as(name: str) -> None:
    """Each exported definition has only its create ``TypedDict`` 's keys and all of its required
    ones, whatever was stored."""
    from hypothesis import HealthCheck, given, settings

    from metricscore import definitions as defs
    from metricscore.dialects import RESOURCES
    from metricscore.testing.strategies import payloads

    create = _resource_arguments(RESOURCES[name])[1]
    exported: list[dict[str, Any]] = []

    @settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
    @given(payloads(name))
    def check(payload: dict[str, Any]) -> None:
        store = mc.open_store("memory://")
        _service(store, name).create(payload)
        for definition in defs.export(defs.open_target(store), name, SCOPES[name])["definitions"]:
            exported.append(definition)
            assert set(definition) <= set(create.__annotations__), set(definition) - set(create.__annotations__)
            assert create.__required_keys__ <= set(definition), create.__required_keys__ - set(definition)

    check()
    assert exported, "nothing exported: the check checked nothing"


def test_the_api_stub_declares_what_the_module_defines() -> None:
    """``metricscore/api.pyi`` (what type checkers read, so the core imports no dialect at run time)
    names the module's public names and ``open_store``'s parameters, in order, with their kinds."""
    import ast

    import metricscore.api as api

    stub = ast.parse((Path(api.__file__).with_suffix(".pyi")).read_text(encoding="utf-8"))
    declared_all = next(
        ast.literal_eval(node.value)
        for node in stub.body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets)
    )
    assert declared_all == api.__all__
    (function,) = [node for node in stub.body if isinstance(node, ast.FunctionDef) and node.name == "open_store"]
    stub_parameters = [(a.arg, "positional") for a in function.args.args]
    stub_parameters += [(a.arg, "keyword") for a in function.args.kwonlyargs]
    stub_parameters += [(function.args.kwarg.arg, "var")] if function.args.kwarg else []
    kinds = {
        inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
        inspect.Parameter.KEYWORD_ONLY: "keyword",
        inspect.Parameter.VAR_KEYWORD: "var",
    }
    parameters = inspect.signature(api.open_store).parameters.values()
    assert stub_parameters == [(p.name, kinds[p.kind]) for p in parameters]
