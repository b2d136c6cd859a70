# A user's program, checked with `mypy --strict` by tests/test_typing.py (never run by pytest).
# Lines ending in an E-comment must be reported with its text; `reveal_type` lines must reveal
# the type in their R-comment; no other line may be reported.
# fmt: off
from typing import reveal_type

import metricscore as mc
from metricscore.dialects.sequence import CursorPage
from metricscore.dialects.statsig import NumberedPage
from metricscore.pagination import OffsetPage

store = mc.open_store("memory://")
accounts = store.posthog.accounts(project_id=1)
account = accounts.create({"name": "Acme"}, actor_id=7)
reveal_type(account["tags"])  # R: list[str]
reveal_type(accounts.get(account["id"])["created_by"])  # R: int | None
reveal_type(accounts.list(search="acme"))  # R: metricscore.pagination.OffsetPage
page: OffsetPage = accounts.list()
account["nope"]  # E: TypedDict "AccountRecord" has no key "nope"
accounts.create({"name": "x"}, idempotency_key="k")  # E: Argument "idempotency_key" to "create" of "ResourceService" has incompatible type "str"; expected "Never"
accounts.delete(account["id"], idempotency_key="k")  # E: Argument "idempotency_key" to "delete" of "ResourceService" has incompatible type "str"; expected "Never"
store.posthog.accounts(project_id="1")  # E: Argument "project_id" to "accounts" of "PostHog" has incompatible type "str"; expected "int"

metric = store.posthog.group_usage_metrics(project_id=1, group_type_index=0).update("id", {"interval": 30})
reveal_type(metric["math"])  # R: Literal['count'] | Literal['sum']

usage = store.sequence.usage_metrics(account_id="acct")
created = usage.create({"name": "n"}, idempotency_key="k1")
reveal_type(created["propertyFilters"])  # R: dict[str, list[str]]
reveal_type(usage.replace(created["id"], {}, idempotency_key="k2")["deletedAt"])  # R: str | None
cursor_page: CursorPage = usage.list(limit=10)

statsig = store.statsig.metrics(project_id="p1")
definition = statsig.get_by_name("revenue", "sum")
reveal_type(definition["lineage"]["events"])  # R: list[str]
reveal_type(definition.get("archiveTime"))  # R: int | None
numbered: NumberedPage = statsig.list(page=2)
statsig.create({}, dry_run=True, idempotency_key="k")  # E: Argument "idempotency_key" to "create" of "ResourceService" has incompatible type "str"; expected "Never"
