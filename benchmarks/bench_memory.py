"""Creating accounts through ``open_store("memory://")`` against bare marshmallow validation.

The baseline is a plain marshmallow 4 schema with the same fields and rules, loading the same
payloads: the cost of validation itself. The library may add at most half again (ratio <= 1.5).
The ratio is the median over paired rounds (library, then bare, in each round).

    python -m benchmarks.bench_memory [--quick]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from typing import Any

from marshmallow import Schema, fields, validate

import metricscore as mc

from .common import Result, paired, print_table

TARGET = 1.5


class BareRoleSchema(Schema):
    id = fields.Integer(required=True, strict=True)
    email = fields.String(required=True)


class BarePropertiesSchema(Schema):  # unknown keys raise, as the account rules demand
    csm = fields.Nested(BareRoleSchema, allow_none=True)
    account_executive = fields.Nested(BareRoleSchema, allow_none=True)
    account_owner = fields.Nested(BareRoleSchema, allow_none=True)
    stripe_customer_id = fields.String(allow_none=True)
    hubspot_deal_id = fields.String(allow_none=True)
    billing_id = fields.String(allow_none=True)
    sfdc_id = fields.String(allow_none=True)
    zendesk_id = fields.String(allow_none=True)


class BareAccountSchema(Schema):
    """The account rules in stock marshmallow: the cost of validation itself."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=400))
    external_id = fields.String(allow_none=True, validate=validate.Length(max=400))
    properties = fields.Nested(BarePropertiesSchema, allow_none=True)
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=255)))


def payloads(count: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for index in range(count):
        payload: dict[str, Any] = {
            "name": f"Account {index} {rng.random():.6f}",
            "tags": rng.sample(["a", "B", "c", "vip"], 2),
        }
        if index % 2:
            payload["external_id"] = f"ext-{index}"
        if index % 3:
            payload["properties"] = {"csm": {"id": index % 50, "email": f"csm{index % 50}@example.com"}, "sfdc_id": "s"}
        out.append(payload)
    return out


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 payloads instead of 20,000")
    args = parser.parse_args(argv)
    count = 2_000 if args.quick else 20_000
    data = payloads(count)
    schema = BareAccountSchema()

    def bare() -> None:
        for payload in data:
            schema.load(payload)

    def library() -> None:
        accounts = mc.open_store("memory://").posthog.accounts(project_id=1)
        for payload in data:
            accounts.create(payload)

    library_s, bare_s, ratio = paired(3 if args.quick else 7, library, bare)
    results = [
        Result("memory", f"create {count:,} accounts vs Schema.load", library_s, bare_s, TARGET, paired_ratio=ratio)
    ]
    print_table(results)
    return results


if __name__ == "__main__":
    sys.exit(0 if all(r.verdict != "MISSED" for r in main()) else 1)
