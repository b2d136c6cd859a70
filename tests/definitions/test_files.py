"""Loading and validating definition files: positions, every problem at once, cross-document rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import metricscore as mc
from metricscore import definitions as defs

STATSIG = """\
resource: statsig.metrics
scope: {project_id: p1}
definitions:
  - name: signups
    type: event_count_custom
    unitTypes: [userID]
    metricEvents: [{name: signup}]
  - name: signup rate
    type: composite
    unitTypes: [userID]
    metricComponentMetrics:
      - {name: signups, type: event_count_custom}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def lines(problems: list[defs.Problem]) -> list[str]:
    return [str(p) for p in problems]


def test_valid_files_have_no_problems_and_load_every_definition(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", STATSIG)
    loaded = defs.load([tmp_path])
    assert defs.validate(loaded) == []
    assert [d.key for d in loaded.definitions] == ["signups::event_count_custom", "signup rate::composite"]
    # defaults the server applies are part of the desired state
    assert loaded.definitions[0].desired["directionality"] == "increase"


def test_every_problem_of_every_file_with_its_position(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        "resource: posthog.accounts\nscope: {project_id: 1}\ndefinitions:\n"
        "  - {name: '', tags: [ok]}\n"
        "  - name: Acme\n    properties: {csm: {id: x, email: a@b.c}}\n",
    )
    write(
        tmp_path,
        "b.json",
        json.dumps(
            {
                "resource": "sequence.usage_metrics",
                "scope": {"account_id": "a1"},
                "definitions": [{"name": "n", "metricType": "GROUPED", "eventType": "e", "aggregationType": "SUM"}],
            },
            indent=2,
        ),
    )
    found = lines(defs.validate([tmp_path]))
    a, b = str(tmp_path / "a.yaml"), str(tmp_path / "b.json")
    assert f"{a}:4:6: name: This field may not be blank. [blank]" in found
    assert f"{a}:6:24: properties.csm.id: A valid integer is required. [invalid_input]" in found
    assert (
        f"{b}:7:5: aggregationProperty: aggregationProperty is required when aggregationType is SUM. [required]"
        in found
    )
    assert f"{b}:7:5: groupingProperty: groupingProperty is required when metricType is GROUPED. [required]" in found
    assert len(found) == 4


def test_document_level_problems(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.yaml",
        "resource: posthog.nope\nscope: {}\ndefinitions: []\n---\n"
        "resource: posthog.accounts\nscope: {project_id: -1}\ndefinitions: {}\nextra: 1\n",
    )
    found = lines(defs.validate([path]))
    assert any(
        ":1:1: resource: unknown resource 'posthog.nope'" in line and "[unknown_resource]" in line for line in found
    )
    assert any(":6:9: scope.project_id:" in line for line in found)
    assert any(":7:1: definitions: expected a list of payloads [invalid]" in line for line in found)
    assert any(
        ":8:1: extra: unknown field; known fields here: definitions, resource, scope [unknown_field]" in line
        for line in found
    )


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.yaml", "resource: x\n  scope: [\n", "bad.yaml:2:8: syntax:"),
        ("bad.json", '{"resource": "x",\n "scope": }', "bad.json:2:11: syntax: Expecting value [json_syntax]"),
        ("dup.yaml", "resource: x\nresource: y\n", "dup.yaml:2:1: syntax: found duplicate key"),
        ("dup.json", '{"resource": "x",\n "resource": "y"}', "dup.json:2:2: resource: duplicate key 'resource'"),
        ("empty.yaml", "", "empty.yaml:1:1: file: no documents in this file [empty]"),
    ],
)
def test_syntax_errors_are_one_problem_with_a_position(tmp_path: Path, name: str, text: str, expected: str) -> None:
    found = lines(defs.validate([write(tmp_path, name, text)]))
    assert len(found) == 1 and expected in found[0], found


def test_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes(b"name: \xff\n")
    found = lines(defs.validate([tmp_path / "missing.yaml", tmp_path / "latin1.yaml"]))
    assert any("missing.yaml:1:1: file: cannot read" in line and "[unreadable]" in line for line in found)
    assert any("latin1.yaml:1:1: file: not UTF-8 text" in line for line in found)


def test_duplicate_natural_keys_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", STATSIG)
    write(
        tmp_path,
        "b.yaml",
        "resource: statsig.metrics\nscope: {project_id: p1}\ndefinitions:\n"
        "  - {name: signups, type: event_count_custom, unitTypes: [u], metricEvents: [{name: x}]}\n"
        "  - {name: signups, type: sum, unitTypes: [u], metricEvents: [{name: x}]}\n",  # another type: fine
    )
    write(tmp_path, "c.yaml", STATSIG.replace("p1", "p2"))  # another project: fine
    found = lines(defs.validate([tmp_path]))
    assert len(found) == 1
    assert found[0].startswith(f"{tmp_path / 'b.yaml'}:4:")
    assert "duplicate natural key 'signups::event_count_custom'" in found[0]
    assert f"first defined at {tmp_path / 'a.yaml'}:4:5" in found[0]


def test_accounts_natural_key_is_external_id_else_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.yaml",
        "resource: posthog.accounts\nscope: {project_id: 1}\ndefinitions:\n"
        "  - {name: Acme, external_id: a1}\n  - {name: Acme, external_id: a2}\n"
        "  - {name: Solo}\n  - {name: Solo}\n",
    )
    found = lines(defs.validate([path]))
    assert len(found) == 1 and ":7:" in found[0] and "'name=Solo'" in found[0]


def test_statsig_components_must_exist_in_the_files_or_the_target(tmp_path: Path) -> None:
    path = write(
        tmp_path, "a.yaml", STATSIG.replace("name: signups, type: event_count_custom}", "name: other, type: sum}")
    )
    found = lines(defs.validate([path]))
    assert len(found) == 1 and ":12:9: metricComponentMetrics.0: component metric 'other::sum'" in found[0]
    store = mc.open_store("memory://")
    target = defs.open_target(store)
    assert "neither in the files nor in the target" in lines(defs.validate([path], target=target))[0]
    store.statsig.metrics(project_id="p1").create(
        {"name": "other", "type": "sum", "unitTypes": ["u"], "metricEvents": [{"name": "e"}]}
    )
    assert defs.validate([path], target=target) == []


def test_problem_formats(tmp_path: Path) -> None:
    path = write(
        tmp_path, "a.yaml", "resource: statsig.metrics\nscope: {project_id: p1}\ndefinitions:\n  - {type: sum}\n"
    )
    problems = defs.validate([path])
    github = defs.render_problems(problems, "github").splitlines()
    assert github and all(line.startswith(f"::error file={path},line=4,col=5,") for line in github)
    data = json.loads(defs.render_problems(problems, "json"))
    assert data["valid"] is False and {p["field"] for p in data["problems"]} >= {"name", "unitTypes"}


def test_json_files_may_hold_a_list_of_documents(tmp_path: Path) -> None:
    document = {"resource": "posthog.accounts", "scope": {"project_id": 1}, "definitions": [{"name": "A"}]}
    other = {**document, "scope": {"project_id": 2}, "definitions": [{"name": 5.5, "tags": "x"}]}
    path = write(tmp_path, "a.json", json.dumps([document, other], indent=1))
    found = lines(defs.validate([path]))
    assert [line.split(": ", 1)[0] for line in found] == [f"{path}:21:5"]  # tags is not a list
    assert "tags: Expected a list of items" in found[0]


SCALARS = (
    "a: yes\nb: 017\nc: 0o17\nd: 1.5e3\ne: ~\nf: 2024-01-01\ng: True\nh: -.inf\ni: -5\n"
    "j: [1, x, null]\nk: 0x1F\nl: on\nm: '12'\nn: 2024-01-02T03:04:05Z\n7: seven\n---\n- x\n"
)


def test_libyaml_and_ruamel_read_the_same_values() -> None:
    from metricscore.definitions import files

    fast = files._fast_yaml(SCALARS)
    assert fast is not None, "libyaml (PyYAML) is installed by the cli extra"
    assert fast == files._load_yaml(SCALARS, {})
    assert fast[0]["a"] == "yes" and fast[0]["b"] == 17 and fast[0]["7"] == "seven"  # YAML 1.2 core schema


def test_without_libyaml_ruamel_reads_everything(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from metricscore.definitions import files

    monkeypatch.setattr(files, "_FAST", [None])
    path = write(tmp_path, "a.yaml", STATSIG.replace("unitTypes: [userID]\n    metricEvents", "metricEvents", 1))
    found = lines(defs.validate([path]))
    # only the definition's own problem: the composite using it does not also fail
    assert found == [
        f"{path}:4:5: unitTypes: unitTypes may not be empty for metrics of type 'event_count_custom'. [required]"
    ]
    assert [d.key for d in defs.load([path]).definitions] == ["signup rate::composite"]


def test_a_dry_run_flag_has_no_place_in_a_definition(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.yaml",
        STATSIG.replace("    metricEvents: [{name: signup}]", "    metricEvents: [{name: signup}]\n    dryRun: true"),
    )
    found = lines(defs.validate([path]))
    assert found == [
        f"{path}:8:5: dryRun: a definition is applied for real; remove it (plan is the dry run) [not_allowed]"
    ]


def test_every_registered_resource_is_a_definition_kind() -> None:
    from metricscore.definitions.kinds import KINDS
    from metricscore.dialects import RESOURCES

    assert list(KINDS) == list(RESOURCES)
    assert all(KINDS[name].resource is resource for name, resource in RESOURCES.items())


#: A few hundred bytes whose nested aliases expand to 9**7 (4.8 million) values; each further line
#: would multiply that by 9 (kept small so that a regression fails, rather than exhausts memory).
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n" for previous, name in zip("abcdef", "bcdefg", strict=True)
)


@pytest.fixture(params=["libyaml", "ruamel"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each YAML reader: libyaml's fast path, and ruamel.yaml alone (as without PyYAML)."""
    from metricscore.definitions import files

    if request.param == "ruamel":
        monkeypatch.setattr(files, "_FAST", [None])
    return str(request.param)


def test_an_alias_bomb_is_one_problem_not_a_memory_exhaustion(reader: str) -> None:
    documents, problems = defs.read_text("bomb.yaml", ALIAS_BOMB)
    assert documents == []
    assert [(p.field, p.code) for p in problems] == [("file", "too_large")]


def test_aliases_within_the_bound_still_expand(reader: str) -> None:
    from metricscore.definitions.files import MAX_ALIAS_VALUES

    shared = "{name: x, properties: {a: 1}}"
    text = f"resource: posthog.accounts\nscope: {{project_id: 1}}\nshared: &s {shared}\ndefinitions: [*s, *s]\n"
    documents, problems = defs.read_text("a.yaml", text)
    assert problems == [] and documents[0].body["definitions"] == [{"name": "x", "properties": {"a": 1}}] * 2
    # 4,000 values of 256 each: 1,024,000 values beyond the file's own, just over the bound
    over = "a: &a [" + ", ".join(["x"] * 256) + "]\nb: [" + ", ".join(["*a"] * 4000) + "]\n"
    assert MAX_ALIAS_VALUES + len(over) < 256 * 4000
    assert [p.code for p in defs.read_text("over.yaml", over)[1]] == ["too_large"]
    under = over.replace(", ".join(["*a"] * 4000), ", ".join(["*a"] * 3000))
    assert defs.read_text("under.yaml", under)[1] == []


def test_an_alias_inside_the_mapping_it_names_is_a_problem(reader: str) -> None:
    text = "&d {resource: posthog.accounts, scope: {project_id: 1}, definitions: [{name: x, properties: *d}]}\n"
    documents, problems = defs.read_text("a.yaml", text)
    assert documents == [] and [(p.field, p.code) for p in problems] == [("syntax", "yaml_syntax")]


def test_an_alias_inside_the_list_it_names_is_a_problem() -> None:
    # (ruamel.yaml alone reads such a list's alias as null; libyaml, installed with the cli extra, is read first)
    documents, problems = defs.read_text("a.yaml", "resource: posthog.accounts\ndefinitions: &d [*d]\n")
    assert documents == [] and [(p.field, p.code) for p in problems] == [("syntax", "yaml_syntax")]


@pytest.mark.parametrize("is_json", [True, False])
def test_an_integer_of_thousands_of_digits_is_a_problem(reader: str, is_json: bool) -> None:
    digits = "9" * 5000
    text = f'{{"resource": "posthog.accounts", "scope": {{"project_id": {digits}}}, "definitions": []}}'
    documents, problems = defs.read_text("a.json" if is_json else "a.yaml", text, is_json=is_json)
    assert documents == [] and [p.field for p in problems] == ["syntax"]
    assert "4300 digits" in problems[0].message


@pytest.mark.parametrize("name", ["x" * 300 + ".yaml", "a\x00.yaml", "a\ud800.yaml"])
def test_a_path_the_system_refuses_is_an_unreadable_file(name: str) -> None:
    loaded = defs.load([name])
    assert [(p.field, p.code) for p in loaded.problems] == [("file", "unreadable")]


@pytest.mark.parametrize("paths", [None, 5, 1.5, [5], [None], [b"a.yaml"]])
def test_paths_of_a_wrong_type_are_a_validation_error(paths: object) -> None:
    with pytest.raises(mc.ValidationError) as info:
        defs.load(paths)  # type: ignore[arg-type]
    assert list(info.value.errors) == ["paths"]


def test_text_of_a_wrong_type_is_a_validation_error() -> None:
    for text in (None, b"resource: x", ["resource: x"]):
        with pytest.raises(mc.ValidationError) as info:
            defs.read_text("a.yaml", text)  # type: ignore[arg-type]
        assert list(info.value.errors) == ["text"]


def test_an_unknown_resource_of_any_type_is_a_metricscore_error() -> None:
    from metricscore.definitions import importing

    target = defs.open_target(mc.open_store("memory://"))
    for resource in (None, [], {}, 5, "nope.nope"):
        with pytest.raises(defs.PlanError):
            defs.export(target, resource, {"project_id": 1})  # type: ignore[arg-type]
        with pytest.raises(mc.ValidationError) as info:
            importing.import_rows([], resource, {"project_id": 1}, target)  # type: ignore[arg-type]
        assert list(info.value.errors) == ["resource"]
