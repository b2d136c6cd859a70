"""The definitions library's functions given arguments of the wrong kind: a ValidationError naming
the argument, never a Python error, and nothing written. A caller's object is never compared or
turned into text (its ``__eq__`` or ``__str__`` may raise)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import metricscore as mc
from metricscore import definitions as defs
from metricscore.definitions import importing


class _Hostile:
    """An object whose every comparison and text raises."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("__eq__")

    def __hash__(self) -> int:
        return 1

    def __str__(self) -> str:
        raise RuntimeError("__str__")

    def __repr__(self) -> str:
        raise RuntimeError("__repr__")


NOT_TARGETS = [None, 5, "sqlite:///x.db", object(), _Hostile(), mc.open_store]


def _loaded() -> defs.DefinitionSet:
    body = {"resource": "posthog.accounts", "scope": {"project_id": 1}, "definitions": [{"name": "A"}]}
    return defs.loading.load_documents([defs.Document(defs.Source("a.json", "", True), (0,), body)])


@pytest.mark.parametrize("bad", NOT_TARGETS, ids=lambda value: type(value).__name__)
def test_a_target_that_is_not_a_target_is_a_validation_error_naming_it(bad: Any) -> None:
    store = mc.open_store("memory://")
    planned = defs.plan(_loaded(), defs.open_target(store))
    calls = [
        lambda: defs.plan(_loaded(), bad),
        lambda: defs.apply(planned, bad),
        lambda: defs.export(bad, "posthog.accounts", {"project_id": 1}),
        lambda: importing.import_rows([importing.Row("r", {"name": "A"})], "posthog.accounts", {"project_id": 1}, bad),
        lambda: importing.import_files([], bad),
    ]
    if bad is not None:  # validate without a target is validate(..., target=None)
        calls.append(lambda: defs.validate(_loaded(), target=bad))
    if not isinstance(bad, str):
        calls.append(lambda: defs.open_target(bad))
    for call in calls:
        with pytest.raises(mc.ValidationError) as info:
            call()
        assert list(info.value.errors) == ["target"]
    assert store.posthog.accounts(project_id=1).list().count == 0


@pytest.mark.parametrize(
    "bad",
    [None, 5, "plan", [], _Hostile(), defs.Plan(changes=[5]), defs.Plan(changes=None)],  # type: ignore[list-item, arg-type]
    ids=lambda value: type(value).__name__,
)
def test_apply_given_something_that_is_not_a_plan_names_it(bad: Any) -> None:
    target = defs.open_target(mc.open_store("memory://"))
    with pytest.raises(mc.ValidationError) as info:
        defs.apply(bad, target)
    assert list(info.value.errors) == ["planned"]


ROWS = [5, None, "row", {"name": "A"}, _Hostile(), importing.Row(_Hostile(), {"name": "A"})]  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ROWS, ids=lambda value: type(value).__name__)
def test_import_rows_given_items_that_are_not_rows_names_rows_and_writes_nothing(bad: Any) -> None:
    store = mc.open_store("memory://")
    target = defs.open_target(store)
    rows = [importing.Row("r1", {"name": "A"}), bad]
    with pytest.raises(mc.ValidationError) as info:
        importing.import_rows(rows, "posthog.accounts", {"project_id": 1}, target)
    assert list(info.value.errors) == ["rows"]
    assert store.posthog.accounts(project_id=1).list().count == 0


@pytest.mark.parametrize("bad", [5, None, _Hostile()], ids=lambda value: type(value).__name__)
def test_import_rows_given_no_iterable_or_a_bad_batch_size_names_it(bad: Any) -> None:
    target = defs.open_target(mc.open_store("memory://"))
    with pytest.raises(mc.ValidationError) as info:
        importing.import_rows(bad, "posthog.accounts", {"project_id": 1}, target)
    assert list(info.value.errors) == ["rows"]
    for size in (0, -1, True, 1.5, None, _Hostile()):
        with pytest.raises(mc.ValidationError) as info:
            importing.import_rows([], "posthog.accounts", {"project_id": 1}, target, batch_size=size)  # type: ignore[arg-type]
        assert list(info.value.errors) == ["batch_size"]
    for scope_call in (
        lambda: importing.import_rows([], "posthog.accounts", bad, target),
        lambda: defs.export(target, "posthog.accounts", bad),
    ):
        with pytest.raises(mc.ValidationError) as info:
            scope_call()
        assert list(info.value.errors) == ["scope"]
    with pytest.raises(mc.ValidationError) as info:
        importing.import_rows([], _Hostile(), {"project_id": 1}, target)  # type: ignore[arg-type]
    assert list(info.value.errors) == ["resource"]
    with pytest.raises(defs.PlanError):
        defs.export(target, _Hostile(), {"project_id": 1})  # type: ignore[arg-type]


SOURCE = defs.Source("a.json", "", True)
GOOD_BODY = {"resource": "posthog.accounts", "scope": {"project_id": 1}, "definitions": [{"name": "A"}]}
DOCUMENTS = [
    5,
    None,
    _Hostile(),
    [5],
    [GOOD_BODY],
    [defs.Document(None, (0,), GOOD_BODY)],  # type: ignore[arg-type]
    [defs.Document(defs.Source(_Hostile(), "", True), (0,), GOOD_BODY)],  # type: ignore[arg-type]
    [defs.Document(SOURCE, (_Hostile(),), GOOD_BODY)],
    [defs.Document(SOURCE, 5, GOOD_BODY)],  # type: ignore[arg-type]
    [defs.Document(SOURCE, (0,), {"resource": _Hostile(), "scope": {}, "definitions": []})],
    [defs.Document(SOURCE, (0,), {_Hostile(): 1})],
    [defs.Document(SOURCE, (0,), {**GOOD_BODY, "definitions": [{"name": _Hostile()}]})],
    [defs.Document(SOURCE, (0,), {**GOOD_BODY, "definitions": [{"name": "A", _Hostile(): 1}]})],
    [defs.Document(SOURCE, (0,), {**GOOD_BODY, "scope": {"project_id": _Hostile()}})],
]


@pytest.mark.parametrize("bad", DOCUMENTS, ids=range(len(DOCUMENTS)))
def test_load_documents_given_anything_but_documents_of_json_data_names_documents(bad: Any) -> None:
    with pytest.raises(mc.ValidationError) as info:
        defs.loading.load_documents(bad)
    assert list(info.value.errors) == ["documents"]


@pytest.mark.parametrize("bad", [None, 5, b"a.yaml", _Hostile()], ids=lambda value: type(value).__name__)
def test_read_text_given_a_name_that_is_not_text_names_it(bad: Any) -> None:
    for text in ("resource: [", "resource: posthog.accounts\nscope: {project_id: 1}\ndefinitions: [{name: A}]\n"):
        with pytest.raises(mc.ValidationError) as info:
            defs.read_text(bad, text)
        assert list(info.value.errors) == ["name"]


def test_render_problems_given_anything_but_problems_or_a_known_style_names_it() -> None:
    problems = defs.validate([Path("missing.yaml")])
    assert defs.render_problems(iter(problems), "text") == str(problems[0])  # any iterable of problems
    for style in (None, "yaml", _Hostile()):
        with pytest.raises(mc.ValidationError) as info:
            defs.render_problems(problems, style)
        assert list(info.value.errors) == ["style"]
    for bad in (5, [5], ["a problem"], [_Hostile()], _Hostile()):
        with pytest.raises(mc.ValidationError) as info:
            defs.render_problems(bad, "text")
        assert list(info.value.errors) == ["problems"]
