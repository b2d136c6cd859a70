# A user's program, checked with `mypy --strict` by tests/test_typing.py (never run by pytest).
# Lines ending in an E-comment must be reported with its text; `reveal_type` lines must reveal
# the type in their R-comment; no other line may be reported.
# fmt: off
from typing import reveal_type

import metricscore as mc
from metricscore import definitions as defs
from metricscore.client import CursorEnvelope, OffsetEnvelope, PostHogClient, SequenceClient, StatsigClient
from metricscore.dialects.posthog import AccountCreate, AccountRecord, AccountsService
from metricscore.dialects.posthog import render_error as posthog_error
from metricscore.dialects.sequence import CursorPage, UsageMetricCreate, UsageMetricRecord
from metricscore.dialects.sequence import render_error as sequence_error
from metricscore.dialects.statsig import NumberedPage, StatsigMetricRecord
from metricscore.dialects.statsig import render_error as statsig_error
from metricscore.pagination import OffsetPage

store = mc.open_store("memory://")
accounts = store.posthog.accounts(project_id=1)
account = accounts.create({"name": "Acme"}, actor_id=7)
reveal_type(account["tags"])  # R: list[str]
reveal_type(accounts.get(account["id"])["created_by"])  # R: int | None
page: OffsetPage[AccountRecord] = accounts.list(search="acme")
reveal_type(page.results[0]["external_id"])  # R: str | None
reveal_type(page.results[0]["tags"])  # R: list[str]
for record in page:
    reveal_type(record["tags"])  # R: list[str]
offset_body = page.envelope("https://app.example/api/environments/1/accounts/?limit=2")
reveal_type(offset_body["results"][0]["name"])  # R: str
reveal_type(offset_body["next"])  # R: str | None
offset_body["items"]  # E: TypedDict "OffsetEnvelope[AccountRecord]" has no key "items"
page.envelope(7)  # E: Argument 1 to "envelope" of "PageItems" has incompatible type "int"; expected "str | None"


def names(listing: mc.Page[AccountRecord]) -> list[str]:
    reveal_type(listing.envelope())  # R: typing.Mapping[str, Any]
    return [record["name"] for record in listing]


names(page)
account["nope"]  # E: TypedDict "AccountRecord" has no key "nope"
accounts.create({"external_id": "acme"})  # E: Missing key "name" for TypedDict "AccountCreate"
accounts.create({"name": "Acme", "nmae": "Acme"})  # E: Extra key "nmae" for TypedDict "AccountCreate"
accounts.create({"name": "Acme", "tags": "vip"})  # E: Incompatible types (expression has type "str", TypedDict item "tags" has type "list[str]")
accounts.update(account["id"], {"tags": ["vip"]})
payloads: list[AccountCreate] = [{"name": "a"}, {"name": "b", "external_id": None}]
accounts.create_many(payloads)
accounts.create_many([{"name": 1}])  # E: Incompatible types (expression has type "int", TypedDict item "name" has type "str")


def sync(service: AccountsService, payload: AccountCreate) -> str:
    return service.create(payload)["id"]


sync(accounts, {"name": "Acme"})
sync(store.posthog.group_usage_metrics(project_id=1, group_type_index=0), {"name": "Acme"})  # E: Argument 1 to "sync" has incompatible type "GroupUsageMetricsService"; expected "AccountsService"
reveal_type(accounts.create({"name": "x"}, idempotency_key="k")["name"])  # R: str
accounts.update(account["id"], {"name": "y"}, idempotency_key="k")  # E: Unexpected keyword argument "idempotency_key" for "update" of "ResourceService"
batch: list[AccountRecord] = accounts.create_many([{"name": "a"}, {"name": "b"}], actor_id=7)
reveal_type(accounts.create_many([{"name": "a"}])[0]["tags"])  # R: list[str]
reveal_type(accounts.validate({"name": "a"}, "replace"))  # R: dict[str, Any]
accounts.create_many([{"name": "a"}], idempotency_key="k")  # E: Unexpected keyword argument "idempotency_key" for "create_many" of "ResourceService"
store.posthog.accounts(project_id="1")  # E: Argument "project_id" to "accounts" of "PostHog" has incompatible type "str"; expected "int"

metric = store.posthog.group_usage_metrics(project_id=1, group_type_index=0).update("id", {"interval": 30})
reveal_type(metric["math"])  # R: Literal['count'] | Literal['sum']

usage = store.sequence.usage_metrics(account_id="acct")
sent: UsageMetricCreate = {"name": "n", "metricType": "SIMPLE", "eventType": "e", "aggregationType": "COUNT"}
created = usage.create(sent, idempotency_key="k1")
reveal_type(created["propertyFilters"])  # R: dict[str, list[str]]
reveal_type(usage.replace(created["id"], {**sent, "unit": None}, idempotency_key="k2")["deletedAt"])  # R: str | None
usage.create({"name": "n", "metricType": "SIMPLE", "eventType": "e"})  # E: Missing key "aggregationType" for TypedDict "UsageMetricCreate"
usage.replace(created["id"], {"name": "n", "metricType": "SIMPLE", "aggregationType": "SUM"})  # E: Missing key "eventType" for TypedDict "UsageMetricCreate"
usage.update(created["id"], {"aggregationType": "MEAN"})  # E: Incompatible types (expression has type "Literal['MEAN']", TypedDict item "aggregationType" has type "Literal['COUNT', 'UNIQUE', 'SUM']")
usage.update(created["id"], {"unit": "messages", "caseSensitive": False})
cursor_page: CursorPage[UsageMetricRecord] = usage.list(limit=10)
reveal_type(cursor_page.results[0]["caseSensitive"])  # R: bool
for usage_record in cursor_page:
    reveal_type(usage_record["caseSensitive"])  # R: bool
reveal_type(cursor_page.envelope(None)["pagination"]["after"])  # R: str | None
reveal_type(cursor_page.envelope()["items"][0]["caseSensitive"])  # R: bool
cursor_page.envelope()["pagination"]["totalItems"]  # E: TypedDict "CursorPosition" has no key "totalItems"

statsig = store.statsig.metrics(project_id="p1")
definition = statsig.get_by_name("revenue", "sum")
reveal_type(definition["lineage"]["events"])  # R: list[str]
reveal_type(definition.get("archiveTime"))  # R: int | None
numbered: NumberedPage[StatsigMetricRecord] = statsig.list(page=2)
reveal_type(numbered.results[0]["metricEvents"][0]["criteria"][0]["condition"])  # R: Literal['in'] | Literal['not_in'] | Literal['='] | Literal['>'] | Literal['<'] | Literal['>='] | Literal['<='] | Literal['is_null'] | Literal['non_null'] | Literal['contains'] | Literal['not_contains'] | Literal['is_true'] | Literal['is_false'] | Literal['sql_filter'] | Literal['starts_with'] | Literal['ends_with'] | Literal['after_exposure']
names(numbered)  # E: Argument 1 to "names" has incompatible type "NumberedPage[StatsigMetricRecord]"; expected "Page[AccountRecord]"
typed_numbered: mc.NumberedPage[StatsigMetricRecord] = numbered
reveal_type(numbered.envelope("/console/v1/metrics/list?page=2")["data"][0]["isPermanent"])  # R: bool
reveal_type(numbered.envelope()["pagination"]["nextPage"])  # R: str | None
wrong_page: OffsetPage[AccountRecord] = usage.list()  # E: Incompatible types in assignment (expression has type "CursorPage[UsageMetricRecord]", variable has type "OffsetPage[AccountRecord]")
reveal_type(statsig.create({"name": "m", "type": "sum"}, dry_run=True, idempotency_key="k")["id"])  # R: str
statsig.update("id", {}, dry_run=True, idempotency_key="k")  # E: Unexpected keyword argument "idempotency_key" for "update" of "ResourceService"
statsig.update("id", {"type": "sum"})  # E: Extra key "type" for TypedDict "StatsigMetricUpdate"
statsig.create({"name": "m", "type": "sum", "metricEvents": [{"name": "e", "criteria": [{"type": "value", "condition": "like"}]}]})  # E: Incompatible types (expression has type "Literal['like']", TypedDict item "condition" has type "Literal['in', 'not_in', '=', '>', '<', '>=', '<=', 'is_null', 'non_null', 'contains', 'not_contains', 'is_true', 'is_false', 'sql_filter', 'starts_with', 'ends_with', 'after_exposure']")
statsig.update("id", {"tags": "one", "owner": {"name": "Ann"}})
statsig.replace("id", {"description": "d"})  # E: Missing key "name" for TypedDict "StatsigMetricReplace"

calculation = usage.evaluate(created["id"], customerAliases="a", periodStart="2026-01-01", periodEnd="2026-01-31")
reveal_type(calculation["eventCount"])  # R: int
reveal_type(calculation["value"])  # R: decimal.Decimal | int | float | None
reveal_type(usage.events.append([]).appended)  # R: int
group_usage = store.posthog.group_usage_metrics(project_id=1, group_type_index=0).evaluate("id", group_key="acme")
group_usage["value"]  # E: TypedDict "SkippedGroupUsage" has no key "value"
if "skipped" not in group_usage:
    reveal_type(group_usage["timeseries"])  # R: list[float] | None
reveal_type(statsig.evaluate("id", date_from="2026-01-01", date_to="2026-01-02")["data"][0]["denominator"])  # R: int | None
reveal_type(usage.validate({"name": "n"}, "update"))  # R: dict[str, Any]
usage.validate({"name": "n"})  # E: No overload variant of "validate" of "ResourceService" matches argument type "dict[str, str]"
usage.validate(sent, "patch")  # E: No overload variant of "validate" of "ResourceService" matches argument types "UsageMetricCreate", "str"
with usage.batch() as batched_usage:
    reveal_type(batched_usage.create({**sent, "name": "b"}, idempotency_key="k3")["caseSensitive"])  # R: bool
    batched_cursor: CursorPage[UsageMetricRecord] = batched_usage.list()
with accounts.batch() as batched_accounts:
    batched_accounts["nope"]  # E: Value of type "AccountsService" is not indexable
store.nope  # E: "Store" has no attribute "nope"
reveal_type(store.namespace("acme"))  # R: Any
with mc.open_store("memory://") as opened:
    reveal_type(opened.sequence.usage_metrics(account_id="a").get("x")["unit"])  # R: str | None
usage_events = store.sequence.usage_events(account_id="acct")
reveal_type(usage_events.create({"eventType": "e", "customerAlias": "c"})["eventTimestamp"])  # R: str
reveal_type(usage_events.list(sortOrder="ASC").results[0]["customerAlias"])  # R: str | None
usage_events.update  # E: "UsageEvents" has no attribute "update"
reveal_type(usage_events.upload_csv(b"eventType,eventTimestamp,customerAlias\n")["eventCount"])  # R: int
usage_events.list(sortBy="eventTimestamp")  # E: Argument "sortBy" to "list" of "UsageEvents" has incompatible type "Literal['eventTimestamp']"; expected "Literal['CREATED_AT', 'EVENT_TIMESTAMP'] | None"
usage_events.list(sortBy="EVENT_TIMESTAMP", sortOrder="ASC", customerAlias=["a", "b"], limit=10)

# The HTTP clients answer with the same wire shapes as the store's services.

remote_accounts = PostHogClient("http://127.0.0.1:8000", "phx_key").accounts(project_id=1)
reveal_type(remote_accounts.get("id")["tags"])  # R: list[str]
reveal_type(remote_accounts.create({"name": "Acme"})["created_by"])  # R: int | None
remote_accounts.update("id", {"nmae": "Acme"})  # E: Extra key "nmae" for TypedDict "AccountUpdate"
remote_page: OffsetEnvelope[AccountRecord] = remote_accounts.list(limit=10, tags=["vip"], ordering="-name")
remote_accounts.list(serach="acme")  # E: Unexpected keyword argument "serach" for "list" of "AccountsClient"; did you mean "search"?
reveal_type(remote_page["next"])  # R: str | None
reveal_type(remote_page["results"][0]["external_id"])  # R: str | None
for remote_account in remote_accounts.records():
    reveal_type(remote_account["name"])  # R: str
remote_accounts.update("id", {"name": "y"})["nope"]  # E: TypedDict "AccountRecord" has no key "nope"
remote_metrics = PostHogClient("http://127.0.0.1:8000", "phx_key").group_usage_metrics(project_id=1, group_type_index=0)
reveal_type(remote_metrics.replace("id", {"name": "m", "filters": {}})["math"])  # R: Literal['count'] | Literal['sum']
remote_usage = SequenceClient("http://127.0.0.1:8000", "client", "secret").usage_metrics()
reveal_type(remote_usage.create(sent, idempotency_key="k")["caseSensitive"])  # R: bool
remote_usage.create({**sent, "unit": 5})  # E: Incompatible types (expression has type "int", TypedDict item "unit" has type "str | None")
reveal_type(next(remote_usage.records())["deletedAt"])  # R: str | None
remote_cursor: CursorEnvelope[UsageMetricRecord] = remote_usage.list(limit=10, eventType=["a", "b"])
reveal_type(remote_usage.list(after="cursor")["items"][0]["caseSensitive"])  # R: bool
reveal_type(remote_cursor["pagination"]["after"])  # R: str | None
remote_usage.list(page=2)  # E: Unexpected keyword argument "page" for "list" of "UsageMetricsClient"
remote_statsig = StatsigClient("http://127.0.0.1:8000", "console-key").metrics()
reveal_type(remote_statsig.get("m")["lineage"]["events"])  # R: list[str]
reveal_type(remote_statsig.update("m", {"description": "d"}).get("archiveTime"))  # R: int | None
remote_statsig.schedule_archive("m")
reveal_type(remote_statsig.list(page=2, tags=["a"])["pagination"]["nextPage"])  # R: str | None
reveal_type(remote_statsig.list()["data"][0]["isPermanent"])  # R: bool
remote_statsig.list(page=[2])  # E: Argument "page" to "list" of "StatsigMetricsClient" has incompatible type "list[int]"; expected "int | str | None"
remote_metrics.list(search="m")  # E: Unexpected keyword argument "search" for "list" of "GroupUsageMetricsClient"
with PostHogClient("http://127.0.0.1:8000", "phx_key") as posthog_client:  # the docstring's example
    reveal_type(posthog_client.accounts(project_id=1))  # R: metricscore.client.dialects.AccountsClient
with remote_statsig.batch() as remote_batch:
    reveal_type(remote_batch.get("m")["isPermanent"])  # R: bool
exported = defs.export(defs.open_target("memory://"), "posthog.accounts", {"project_id": 1})
reveal_type(exported["definitions"][0]["name"])  # R: str
exported["definitions"][0]["created_at"]  # E: TypedDict "AccountCreate" has no key "created_at"
exported["nope"]  # E: TypedDict "ExportedDocument[AccountCreate]" has no key "nope"
reveal_type(defs.export(defs.open_target("memory://"), "sequence.usage_metrics", {"account_id": "a"})["definitions"][0]["metricType"])  # R: Literal['SIMPLE'] | Literal['GROUPED']
exported_resource: str = "posthog.accounts"
reveal_type(defs.export(defs.open_target("memory://"), exported_resource, {"project_id": 1})["definitions"])  # R: list[dict[str, Any]]
status, posthog_body = posthog_error(mc.NotFound())
reveal_type(posthog_body["attr"])  # R: str | None
reveal_type(posthog_body["type"])  # R: Literal['validation_error'] | Literal['invalid_request'] | Literal['authentication_error'] | Literal['throttled_error'] | Literal['server_error']
reveal_type(sequence_error(mc.NotFound())[1]["errors"][0]["key"])  # R: str
reveal_type(statsig_error(mc.NotFound())[1].get("errors"))  # R: dict[str, list[str]] | None

try:
    accounts.create({"name": ""})
except mc.ValidationError as invalid:
    reveal_type(invalid.messages("name")[0].code)  # R: str
    reveal_type(invalid.errors["name"])  # R: list[metricscore.errors.ErrorMessage] | dict[str, list[metricscore.errors.ErrorMessage] | ...]
    invalid.errors["name"][0]  # E: Invalid index type "int" for "dict[str, list[ErrorMessage] | ErrorTree]"; expected type "str"
    if isinstance(field_errors := invalid.errors["name"], list):
        reveal_type(field_errors[0])  # R: metricscore.errors.ErrorMessage
except mc.NotFound as missing:
    reveal_type(missing.resource)  # R: str
except mc.RateLimited as throttled:
    reveal_type(throttled.retry_after)  # R: int

# translate() answers the target's create payload, ready for that service's create().
translation = mc.translate({"name": "revenue", "type": "sum"}, source="statsig.metrics", target="sequence.usage_metrics")
reveal_type(translation.payload["metricType"])  # R: Literal['SIMPLE'] | Literal['GROUPED']
usage.create(translation.payload)
usage.create(mc.translate(sent, "sequence.usage_metrics", "statsig.metrics").payload)  # E: Argument 1 to "create" of "IdempotentService" has incompatible type "StatsigMetricCreate"; expected "UsageMetricCreate"
statsig_payload, translation_report = mc.translate(sent, "sequence.usage_metrics", "statsig.metrics")
reveal_type(statsig.create(statsig_payload)["type"])  # R: Literal['ratio'] | Literal['mean'] | Literal['event_count_custom'] | Literal['event_user'] | Literal['funnel'] | Literal['composite'] | Literal['composite_sum'] | Literal['sum'] | Literal['undefined'] | Literal['user_warehouse'] | Literal['setup_incomplete'] | Literal['import_window']
store.posthog.group_usage_metrics(project_id=1, group_type_index=0).create(mc.translate(sent, "sequence.usage_metrics", "posthog.group_usage_metrics").payload)
chosen_target: str = "statsig.metrics"
reveal_type(mc.translate(sent, "sequence.usage_metrics", chosen_target).payload)  # R: dict[str, Any]
any_translation: mc.Translation = translation

# list() and evaluate() take the vendor's parameters as typed keywords: a misspelled one is an error
# (at run time it would be ignored, as the vendors ignore unknown query parameters).
accounts.list(serach="acme")  # E: Unexpected keyword argument "serach" for "list" of "AccountsService"; did you mean "search"?
accounts.list(ordering="-name", tags=["vip"], csm="unassigned", limit="50")
accounts.list(ordering="size")  # E: Argument "ordering" to "list" of "AccountsService" has incompatible type "Literal['size']"; expected "Literal['name', '-name', 'created_at', '-created_at', 'updated_at', '-updated_at'] | None"
usage.list(eventType=["a", "b"], after="cursor")
usage.list(page=2)  # E: Unexpected keyword argument "page" for "list" of "UsageMetricsService"
statsig.list(tags="a,b", page=2, limit=10)
usage.evaluate(created["id"], customerAlias="a", periodStart="2026-01-01", periodEnd="2026-01-31")  # E: Unexpected keyword argument "customerAlias" for "evaluate" of "UsageMetricsService"; did you mean "customerAliases"?
usage.evaluate(created["id"], customerAliases=["a"], periodStart="2026-01-01")  # E: Missing named argument "periodEnd" for "evaluate" of "UsageMetricsService"
statsig.evaluate("id", date_from="2026-01-01", date_to="2026-01-02", day_start_utc_offset=-8)  # E: Argument "day_start_utc_offset" to "evaluate" of "MetricService" has incompatible type "int"; expected "str"
store.posthog.group_usage_metrics(project_id=1, group_type_index=0).evaluate("id", group_key="acme", now="2026-01-01T00:00:00Z", events=[])
usage.evaluate(created["id"], events=[{"id": "e1", "name": "sent", "timestamp": "2026-01-02T00:00:00Z"}], customerAliases="a", periodStart="2026-01-01", periodEnd="2026-01-31")
usage.evaluate(created["id"], events=5, customerAliases="a", periodStart="2026-01-01", periodEnd="2026-01-31")  # E: Argument "events" to "evaluate" of "UsageMetricsService" has incompatible type "int"; expected "EventsRunner | Iterable[Event | Mapping[str, Any]] | None"
