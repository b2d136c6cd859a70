"""import (files and accounts CSV, streamed) and the shipped JSON Schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import metricscore as mc
from metricscore import definitions as defs
from metricscore.definitions import importing
from metricscore.definitions.cli import definitions_cli
from metricscore.definitions.schema import SHIPPED, dumps, json_schema

CSV = """\
name,external_id,tags,csm.id,csm.email,sfdc_id
Acme,acme,"Enterprise,VIP",7,csm@example.com,s-1
Globex,,,,,
,nameless,,,,
Initech,init,,x,,
Acme Inc,acme,Enterprise,7,csm@example.com,s-1
"""


@pytest.fixture
def store() -> Iterator[mc.Store]:
    opened = mc.open_store("memory://")
    yield opened
    opened.close()


def test_csv_import_upserts_by_natural_key_and_reports_each_bad_row(store: mc.Store, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(CSV)
    target = defs.open_target(store)
    dry = importing.import_csv(path, {"project_id": 1}, target, dry_run=True)
    assert (dry.created, dry.updated, dry.failed) == (2, 0, 3)
    assert store.posthog.accounts(project_id=1).list().count == 0  # a dry run writes nothing
    report = importing.import_csv(path, {"project_id": 1}, target, batch_size=2)
    assert (report.created, report.updated, report.unchanged, report.failed) == (2, 0, 0, 3)
    assert report.errors == [
        f"{path}:4: name: This field is required. [required]",
        f"{path}:5: csm.id: A valid integer is required.",
        f"{path}:6: duplicate natural key 'external_id=acme' in this import [duplicate]",
    ]
    accounts = {a["external_id"]: a for a in store.posthog.accounts(project_id=1).list().results}
    assert accounts["acme"]["name"] == "Acme"
    assert accounts["acme"]["properties"] == {"csm": {"id": 7, "email": "csm@example.com"}, "sfdc_id": "s-1"}
    assert accounts["acme"]["tags"] == ["enterprise", "metricscore-managed", "vip"]
    again = importing.import_csv(path, {"project_id": 1}, target)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    path.write_text(CSV.replace("Globex,,,,,", "Globex,,,,,s-2"))
    changed = importing.import_csv(path, {"project_id": 1}, target)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    globex = store.posthog.accounts(project_id=1).list(search="globex").results[0]
    assert globex["properties"] == {"sfdc_id": "s-2"}


def test_csv_export_then_import_changes_nothing(store: mc.Store, tmp_path: Path) -> None:
    accounts = store.posthog.accounts(project_id=1)
    accounts.create({"name": "A, Inc", "external_id": "a", "tags": ["x,y", "z"], "properties": {"zendesk_id": "7"}})
    accounts.create({"name": "B", "properties": {"account_owner": {"id": 3, "email": "o@x.io"}}})
    url_result = CliRunner().invoke(
        definitions_cli,
        [
            "export",
            "--target",
            "memory://",
            "--resource",
            "posthog.accounts",
            "--scope",
            "project_id=1",
            "--format",
            "csv",
        ],
    )
    assert url_result.exit_code == 0
    path = tmp_path / "accounts.csv"
    with path.open("w", newline="") as handle:
        importing.write_csv(accounts.list().results, handle)
    report = importing.import_csv(path, {"project_id": 1}, defs.open_target(store))
    assert (report.created, report.updated, report.unchanged, report.failed) == (0, 0, 2, 0)


def test_csv_with_unknown_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("name,colour\nA,red\n")
    with pytest.raises(ValueError, match="unknown column"):
        list(importing.csv_rows(path))
    result = CliRunner().invoke(
        definitions_cli, ["import", str(path), "--target", "memory://", "--scope", "project_id=1"]
    )
    assert result.exit_code == 1 and result.output.startswith("error: ") and "'colour'" in result.output


def test_csv_rows_are_streamed(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("name\n" + "".join(f"A{i}\n" for i in range(10)))
    rows = importing.csv_rows(path)
    assert isinstance(rows, Iterator) and next(rows).payload == {"name": "A0"}


def test_file_import_through_the_cli(store: mc.Store, tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "resource: sequence.usage_metrics\nscope: {account_id: a1}\ndefinitions:\n"
        "  - {name: calls, metricType: SIMPLE, eventType: call, aggregationType: COUNT}\n"
        "  - {name: bytes, metricType: SIMPLE, eventType: call, aggregationType: SUM}\n"
    )
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    dry = CliRunner().invoke(definitions_cli, ["import", str(path), "--target", url, "--dry-run"])
    assert dry.exit_code == 1
    assert f"{path}:5:5: aggregationProperty: aggregationProperty is required" in dry.stdout
    assert "2 row(s): 1 would be created, 0 would be updated, 0 unchanged, 1 failed." in dry.stdout
    done = CliRunner().invoke(definitions_cli, ["import", str(path), "--target", url, "--format", "json"])
    assert json.loads(done.stdout)["created"] == 1
    opened = mc.open_store(url)
    assert [m["name"] for m in opened.sequence.usage_metrics(account_id="a1").list().results] == ["calls"]
    opened.close()


# -- JSON Schema ----------------------------------------------------------------------------------


def test_the_shipped_schema_is_the_generated_one() -> None:
    assert SHIPPED.read_text() == dumps(), "regenerate: python -m metricscore.definitions.schema > " + str(SHIPPED)


def test_the_schema_accepts_valid_files_and_names_bad_fields() -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="needs the dev extra: pip install 'metricscore[dev]'")
    validator = jsonschema.Draft202012Validator(json_schema())
    jsonschema.Draft202012Validator.check_schema(json_schema())
    good: Any = [
        {"resource": "posthog.accounts", "scope": {"project_id": 1}, "definitions": [{"name": "A", "tags": ["x"]}]},
        {
            "resource": "statsig.metrics",
            "scope": {"project_id": "p"},
            "definitions": [{"name": "abcd", "type": "sum", "tags": "one", "metricEvents": [{"name": "e"}]}],
        },
        {
            "resource": "sequence.usage_metrics",
            "scope": {"account_id": "a"},
            "definitions": [
                {"name": "n", "metricType": "SIMPLE", "eventType": "e", "aggregationType": "COUNT", "unit": None}
            ],
        },
    ]
    assert list(validator.iter_errors(good)) == []
    bad = {"resource": "statsig.metrics", "scope": {"project_id": "p"}, "definitions": [{"name": "abcd", "type": "x"}]}
    assert list(validator.iter_errors(bad))
    unknown = {"resource": "posthog.nope", "scope": {}, "definitions": []}
    assert list(validator.iter_errors(unknown))


@pytest.mark.parametrize("backend", ["memory", "sqlite", "tinydb"])
def test_service_batch_is_one_unit_of_work(backend: str, tmp_path: Path) -> None:
    url = {
        "memory": "memory://",
        "sqlite": f"sqlite:///{tmp_path / 'x.db'}",
        "tinydb": f"tinydb:///{tmp_path / 'x.json'}",
    }
    store = mc.open_store(url[backend])
    accounts = store.posthog.accounts(project_id=1)
    with accounts.batch() as batched:
        first = batched.create({"name": "A", "external_id": "a"})
        batched.update(first["id"], {"name": "A2"})
        assert [a["name"] for a in batched.list().results] == ["A2"]  # reads see the batch's writes
    assert accounts.get(first["id"])["name"] == "A2"
    with pytest.raises(mc.Conflict), accounts.batch() as batched:
        batched.create({"name": "B", "external_id": "b"})
        batched.create({"name": "C", "external_id": "a"})  # taken: the whole batch is undone
    assert [a["external_id"] for a in accounts.list().results] == ["a"]
    with pytest.raises(mc.NotFound), accounts.batch() as batched:  # create_many joins the batch
        many = batched.create_many([{"name": "D", "external_id": "d"}, {"name": "E", "external_id": "e"}])
        assert batched.get(many[1]["id"])["name"] == "E"  # a get sees the batch's writes
        batched.delete(first["id"])
        batched.get(first["id"])  # NotFound: the batch, and create_many's records, are undone
    assert [a["external_id"] for a in accounts.list().results] == ["a"]
    usage = store.sequence.usage_metrics(account_id="acct")
    with usage.batch() as batched_usage:
        metric = batched_usage.create(
            {"name": "n", "eventType": "e", "aggregationType": "COUNT", "metricType": "SIMPLE"}
        )
        period = {"customerAliases": "a", "periodStart": "2026-01-01", "periodEnd": "2026-01-31"}
        assert batched_usage.evaluate(metric["id"], **period)["eventCount"] == 0  # reads join the batch
        with pytest.raises(mc.ValidationError) as refused:
            batched_usage.events.append([])  # its own transaction: never inside a batch
        assert set(refused.value.errors) == {"events"}
    assert usage.events.append([]).appended == 0
    store.close()


def test_a_failed_batch_is_written_again_row_by_row(store: mc.Store, tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "resource: statsig.metrics\nscope: {project_id: p1}\ndefinitions:\n"
        "  - {name: signups, type: event_count_custom, unitTypes: [u], metricEvents: [{name: s}]}\n"
        "  - {name: ratio x, type: composite, unitTypes: [u], metricComponentMetrics: [{name: gone, type: sum}]}\n"
    )
    report, problems = importing.import_files([path], defs.open_target(store))
    assert problems == [] and (report.created, report.failed) == (1, 1)
    assert report.errors == [
        f"{path}:5:5: metricComponentMetrics.0: Metric 'gone::sum' does not exist in this project. [invalid_input]"
    ]
    assert [m["id"] for m in store.statsig.metrics(project_id="p1").list().results] == ["signups::event_count_custom"]


def test_an_import_never_replaces_what_the_vendor_cannot_update(store: mc.Store, tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    metric = "{name: signups, type: event_count_custom, unitTypes: [u], metricEvents: [{name: %s}]%s}"
    document = "resource: statsig.metrics\nscope: {project_id: p1}\ndefinitions:\n  - %s\n"
    path.write_text(document % (metric % ("s", "")))
    target = defs.open_target(store)
    assert importing.import_files([path], target)[0].created == 1
    path.write_text(document % (metric % ("s", ", description: new")))
    assert importing.import_files([path], target)[0].updated == 1  # description: updatable in place
    path.write_text(document % (metric % ("t", ", description: new")))
    report = importing.import_files([path], target)[0]
    assert report.failed == 1 and "cannot change" in report.errors[0] and "metricEvents" in report.errors[0]
    assert store.statsig.metrics(project_id="p1").get("signups::event_count_custom")["metricEvents"][0]["name"] == "s"


def test_a_csv_file_that_cannot_be_imported_is_a_validation_error_naming_the_file(tmp_path: Path) -> None:
    target = defs.open_target(mc.open_store("memory://"))
    wide = tmp_path / "wide.csv"
    wide.write_text("name,external_id\n" + "x" * 200_000 + ",a\n")  # a field over csv's 128 kB limit
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("name,colour\nA,red\n")
    # 1 is no path: open() would read (and close) file descriptor 1, the process's stdout
    for path in (wide, unknown, tmp_path / "missing.csv", tmp_path, "x" * 300, "a\x00.csv", 1, None, b"a.csv"):
        with pytest.raises(importing.CsvFileError) as info:
            importing.import_csv(path, {"project_id": 1}, target)  # type: ignore[arg-type]
        assert isinstance(info.value, mc.ValidationError) and list(info.value.errors) == ["file"]
        assert isinstance(info.value, ValueError)  # as it was before it was a ValidationError
