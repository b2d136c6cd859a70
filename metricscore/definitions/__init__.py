"""Definitions as code: files of vendor payloads, validated, planned and applied to any target.

::

    from metricscore import definitions as defs

    loaded = defs.load(["metrics/"])                  # YAML/JSON files or directories
    problems = defs.validate(loaded)                  # [] when valid; each is file:line:col: field: msg [code]
    target = defs.open_target("sqlite:///metrics.db")  # or http(s)://... with METRICSCORE_*_KEY credentials
    plan = defs.plan(loaded, target, prune=True)
    report = defs.apply(plan, target)
    document = defs.export(target, "statsig.metrics", {"project_id": "p1"})

The CLI (``metricscore validate|plan|apply|export|import|schema``) is a thin layer over these
functions. See docs/definitions.md.
"""

from __future__ import annotations

from .files import Document, Source, read_text
from .kinds import KINDS, Kind
from .loading import Definition, DefinitionSet, load, validate
from .planning import (
    ApplyReport,
    Change,
    DefinitionsInvalid,
    ExportedDocument,
    ExportOptions,
    FieldDiff,
    Plan,
    PlanError,
    apply,
    export,
    plan,
)
from .problems import Problem, render_problems
from .schema import json_schema
from .targets import CREDENTIAL_VARIABLES, Collection, HttpTarget, StoreTarget, Target, open_target

__all__ = [
    "CREDENTIAL_VARIABLES",
    "KINDS",
    "ApplyReport",
    "Change",
    "Collection",
    "Definition",
    "DefinitionSet",
    "DefinitionsInvalid",
    "Document",
    "ExportOptions",
    "ExportedDocument",
    "FieldDiff",
    "HttpTarget",
    "Kind",
    "Plan",
    "PlanError",
    "Problem",
    "Source",
    "StoreTarget",
    "Target",
    "apply",
    "export",
    "json_schema",
    "load",
    "open_target",
    "plan",
    "read_text",
    "render_problems",
    "validate",
]
