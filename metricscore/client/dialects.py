"""The three dialects' clients: paths, auth headers, pagination and error bodies."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, Unpack, cast
from urllib.parse import parse_qs, quote, urlsplit

from ..dialects.posthog import (
    AccountCreate,
    AccountListParams,
    AccountRecord,
    AccountUpdate,
    GroupUsageMetricCreate,
    GroupUsageMetricRecord,
    GroupUsageMetricUpdate,
)
from ..errors import ErrorMessage
from ..pagination import CursorEnvelope, NumberedEnvelope, OffsetEnvelope, OffsetParams
from .base import BaseClient

if TYPE_CHECKING:  # the records' wire shapes, payloads and list keywords, as the store's services type them
    from ..dialects.sequence import UsageMetricCreate, UsageMetricListParams, UsageMetricRecord
    from ..dialects.statsig import (
        MetricListParams,
        StatsigMetricCreate,
        StatsigMetricRecord,
        StatsigMetricReplace,
        StatsigMetricUpdate,
    )

__all__ = [
    "AccountsClient",
    "CursorEnvelope",
    "GroupUsageMetricsClient",
    "NumberedEnvelope",
    "OffsetEnvelope",
    "PostHogClient",
    "SequenceClient",
    "StatsigClient",
    "StatsigMetricsClient",
    "UsageMetricsClient",
]

R = TypeVar("R", bound=Mapping[str, object])
#: A collection's create (and PUT) body and its PATCH body: the store's payload ``TypedDict`` s.
C = TypeVar("C", bound=Mapping[str, object])
U = TypeVar("U", bound=Mapping[str, object])


def _segment(value: Any) -> str:
    return quote(str(value), safe="")


def _list_query(params: Mapping[str, Any], several: Callable[[list[str]], str]) -> dict[str, Any]:
    """A ``list()``'s keywords as the server reads its query string: a list of values (``tags=["a",
    "b"]``) written as the vendor writes several in one parameter (``several``), since of a
    repeated parameter the server keeps only the last, as the vendors do."""
    return {
        key: several([str(item) for item in value]) if isinstance(value, list | tuple) else value
        for key, value in params.items()
    }


def _json_list(values: list[str]) -> str:
    return json.dumps(values, separators=(",", ":"))


def _comma_list(values: list[str]) -> str:
    return ",".join(values)


# -- PostHog --------------------------------------------------------------------------------------


class PostHogClient(BaseClient):
    """PostHog's API with a personal API key (``Authorization: Bearer``)."""

    def __init__(self, base_url: str, api_key: str, **options: Any) -> None:
        super().__init__(base_url, {"Authorization": f"Bearer {api_key}"}, **options)

    def accounts(self, *, project_id: int) -> AccountsClient:
        return AccountsClient(self, f"/api/environments/{_segment(project_id)}/accounts/")

    def group_usage_metrics(self, *, project_id: int, group_type_index: int) -> GroupUsageMetricsClient:
        path = f"/api/projects/{_segment(project_id)}/groups_types/{_segment(group_type_index)}/metrics/"
        return GroupUsageMetricsClient(self, path)

    def error_fields(self, body: Any) -> dict[str, Any]:
        if isinstance(body, dict) and body.get("type") == "validation_error":
            attr = body.get("attr") or "_schema"
            return {str(attr): [ErrorMessage(str(body.get("detail", "")), str(body.get("code", "invalid_input")))]}
        return {}


class _PostHogCollection(Generic[R, C, U]):
    """List (limit/offset, every page), create, retrieve, PATCH, PUT, DELETE."""

    page_size = 100

    def __init__(self, client: BaseClient, path: str) -> None:
        self.client = client
        self.path = path

    def batch(self) -> AbstractContextManager[Self]:
        """Each request stands alone over HTTP: the collection itself."""
        return nullcontext(self)

    def records(self) -> Iterator[R]:
        params: dict[str, Any] | None = {"limit": self.page_size}
        while params is not None:
            page = self.client.request("GET", self.path, params=params)
            yield from page.get("results") or []
            params = _query(page.get("next"))

    def _page(self, params: Mapping[str, Any]) -> OffsetEnvelope[R]:
        """One page as the server sends it (``count``, ``next``, ``previous``, ``results``)."""
        page: OffsetEnvelope[R] = self.client.request("GET", self.path, params=_list_query(params, _json_list))
        return page

    def get(self, id: str) -> R:
        record: R = self.client.request("GET", f"{self.path}{_segment(id)}/")
        return record

    def create(self, payload: C, *, idempotency_key: str | None = None) -> R:
        """``idempotency_key`` is ignored: PostHog takes none (a create is never retried)."""
        record: R = self.client.request("POST", self.path, json=dict(payload))
        return record

    def update(self, id: str, payload: U) -> R:
        record: R = self.client.request("PATCH", f"{self.path}{_segment(id)}/", json=dict(payload))
        return record

    def replace(self, id: str, payload: C, *, idempotency_key: str | None = None) -> R:
        record: R = self.client.request("PUT", f"{self.path}{_segment(id)}/", json=dict(payload))
        return record

    def delete(self, id: str, *, idempotency_key: str | None = None) -> None:
        self.client.request("DELETE", f"{self.path}{_segment(id)}/")

    def archive(self, id: str) -> None:
        raise NotImplementedError("PostHog records are deleted, not archived")

    def restore(self, record: Mapping[str, Any]) -> None:
        raise NotImplementedError("PostHog records are deleted, not archived")


def _query(url: Any) -> dict[str, Any] | None:
    """The query parameters of a ``next`` link (kept relative to the client's base URL)."""
    if not isinstance(url, str) or not url:
        return None
    return {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}


class AccountsClient(_PostHogCollection[AccountRecord, AccountCreate, AccountUpdate]):
    """``/api/environments/{project_id}/accounts/``."""

    def list(self, /, **params: Unpack[AccountListParams]) -> OffsetEnvelope[AccountRecord]:
        """One page as the server sends it (``count``, ``next``, ``previous``, ``results``), for the
        keywords ``accounts.list()`` takes (``tags`` as a list is sent as its JSON text)."""
        return self._page(params)


class GroupUsageMetricsClient(
    _PostHogCollection[GroupUsageMetricRecord, GroupUsageMetricCreate, GroupUsageMetricUpdate]
):
    """``/api/projects/{project_id}/groups_types/{group_type_index}/metrics/``."""

    def list(self, /, **params: Unpack[OffsetParams]) -> OffsetEnvelope[GroupUsageMetricRecord]:
        """One page as the server sends it (``count``, ``next``, ``previous``, ``results``)."""
        return self._page(params)


# -- Sequence -------------------------------------------------------------------------------------


class SequenceClient(BaseClient):
    """Sequence's API with client credentials (``Authorization: Basic``); they name the account."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, **options: Any) -> None:
        token = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        super().__init__(base_url, {"Authorization": f"Basic {token}"}, **options)

    def usage_metrics(self, *, account_id: str | None = None) -> UsageMetricsClient:
        """The usage metrics of the credentials' account (``account_id`` is not sent: the key decides)."""
        return UsageMetricsClient(self)

    def error_message(self, body: Any) -> str:
        if isinstance(body, dict) and isinstance(body.get("errors"), list):
            return "; ".join(
                f"{e.get('key')}: {e.get('error')}" if e.get("key") else str(e.get("error"))
                for e in body["errors"]
                if isinstance(e, dict)
            )
        return super().error_message(body)

    def error_fields(self, body: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if isinstance(body, dict) and isinstance(body.get("errors"), list):
            for error in body["errors"]:
                if isinstance(error, dict):
                    fields.setdefault(str(error.get("key") or "_schema"), []).append(
                        ErrorMessage(str(error.get("error")))
                    )
        return fields


class UsageMetricsClient:
    """``/usage-metrics``: list (cursor pages), create, get, PUT, DELETE; writes take idempotency keys."""

    path = "/usage-metrics"
    page_size = 100

    def __init__(self, client: BaseClient) -> None:
        self.client = client

    @staticmethod
    def _key(idempotency_key: str | None) -> dict[str, str] | None:
        return {"Idempotency-Key": idempotency_key} if idempotency_key else None

    def batch(self) -> AbstractContextManager[Self]:
        """Each request stands alone over HTTP: the collection itself."""
        return nullcontext(self)

    def records(self) -> Iterator[UsageMetricRecord]:
        params: dict[str, Any] = {"limit": self.page_size}
        while True:
            page = self.client.request("GET", self.path, params=params)
            items = page.get("items") or []
            yield from items
            after = (page.get("pagination") or {}).get("after")
            if not after or not items:
                return
            params = {"limit": self.page_size, "after": after}

    def list(self, /, **params: Unpack[UsageMetricListParams]) -> CursorEnvelope[UsageMetricRecord]:
        """One page as the server sends it (``items``, ``pagination``), for the keywords
        ``usage_metrics.list()`` takes (a list of values is sent comma-separated)."""
        page: CursorEnvelope[UsageMetricRecord] = self.client.request(
            "GET", self.path, params=_list_query(params, _comma_list)
        )
        return page

    def get(self, id: str) -> UsageMetricRecord:
        record: UsageMetricRecord = self.client.request("GET", f"{self.path}/{_segment(id)}")
        return record

    def create(self, payload: UsageMetricCreate, *, idempotency_key: str | None = None) -> UsageMetricRecord:
        record: UsageMetricRecord = self.client.request(
            "POST", self.path, json=dict(payload), headers=self._key(idempotency_key)
        )
        return record

    def update(self, id: str, payload: UsageMetricCreate) -> UsageMetricRecord:
        """Sequence has no partial update: the payload replaces the metric (PUT)."""
        return self.replace(id, payload)

    def replace(self, id: str, payload: UsageMetricCreate, *, idempotency_key: str | None = None) -> UsageMetricRecord:
        record: UsageMetricRecord = self.client.request(
            "PUT", f"{self.path}/{_segment(id)}", json=dict(payload), headers=self._key(idempotency_key)
        )
        return record

    def delete(self, id: str, *, idempotency_key: str | None = None) -> None:
        self.client.request("DELETE", f"{self.path}/{_segment(id)}", headers=self._key(idempotency_key))

    def archive(self, id: str) -> None:
        raise NotImplementedError("Sequence usage metrics are deleted, not archived")

    def restore(self, record: Mapping[str, Any]) -> None:
        raise NotImplementedError("Sequence usage metrics are deleted, not archived")


# -- Statsig --------------------------------------------------------------------------------------


class StatsigClient(BaseClient):
    """Statsig's Console API with a console key (``STATSIG-API-KEY``); the key names the project."""

    def __init__(self, base_url: str, api_key: str, **options: Any) -> None:
        super().__init__(base_url, {"STATSIG-API-KEY": api_key}, **options)

    def metrics(self, *, project_id: str | None = None) -> StatsigMetricsClient:
        """The metric definitions of the key's project (``project_id`` is not sent: the key decides)."""
        return StatsigMetricsClient(self)

    def error_fields(self, body: Any) -> dict[str, Any]:
        if isinstance(body, dict) and isinstance(body.get("errors"), dict):
            return dict(body["errors"])
        return {}


class StatsigMetricsClient:
    """``/console/v1/metrics``: list (numbered pages), create, read, partial update, delete, archive."""

    path = "/console/v1/metrics"
    page_size = 100

    def __init__(self, client: BaseClient) -> None:
        self.client = client

    def batch(self) -> AbstractContextManager[Self]:
        """Each request stands alone over HTTP: the collection itself."""
        return nullcontext(self)

    def records(self) -> Iterator[StatsigMetricRecord]:
        page_number = 1
        while True:
            page = self.client.request(
                "GET", f"{self.path}/list", params={"page": page_number, "limit": self.page_size}
            )
            data = page.get("data") or []
            yield from data
            if not (page.get("pagination") or {}).get("nextPage") or not data:
                return
            page_number += 1

    def list(self, /, **params: Unpack[MetricListParams]) -> NumberedEnvelope[StatsigMetricRecord]:
        """One page as the server sends it (``message``, ``data``, ``pagination``), for the keywords
        ``metrics.list()`` takes (a list of tags is sent comma-separated)."""
        page: NumberedEnvelope[StatsigMetricRecord] = self.client.request(
            "GET", f"{self.path}/list", params=_list_query(params, _comma_list)
        )
        return page

    def get(self, id: str) -> StatsigMetricRecord:
        return self._data(self.client.request("GET", f"{self.path}/{_segment(id)}"))

    def create(self, payload: StatsigMetricCreate, *, idempotency_key: str | None = None) -> StatsigMetricRecord:
        """``idempotency_key`` is ignored: Statsig takes none (a create is never retried)."""
        return self._data(self.client.request("POST", self.path, json=dict(payload)))

    def update(self, id: str, payload: StatsigMetricUpdate) -> StatsigMetricRecord:
        return self._data(self.client.request("POST", f"{self.path}/{_segment(id)}", json=dict(payload)))

    def replace(
        self, id: str, payload: StatsigMetricReplace, *, idempotency_key: str | None = None
    ) -> StatsigMetricRecord:
        """Statsig has no PUT: the body (its updatable fields, ``name`` required) is a POST update."""
        return self._data(self.client.request("POST", f"{self.path}/{_segment(id)}", json=dict(payload)))

    def delete(self, id: str, *, idempotency_key: str | None = None) -> None:
        self.client.request("DELETE", f"{self.path}/{_segment(id)}")

    def schedule_archive(self, id: str) -> None:
        """Schedule the archive (Statsig's way to retire a metric). The archive steps are PUTs that
        are not idempotent (a second one is a 409), so they are never retried."""
        self.client.request("PUT", f"{self.path}/{_segment(id)}/schedule_archive", safe=False)

    def archive(self, id: str) -> None:
        """:meth:`schedule_archive`, under the name every target's collection has."""
        self.schedule_archive(id)

    def cancel_archive(self, id: str) -> None:
        self.client.request("PUT", f"{self.path}/{_segment(id)}/cancel_archive", safe=False)

    def unarchive(self, id: str) -> None:
        self.client.request("PUT", f"{self.path}/{_segment(id)}/unarchive", safe=False)

    def restore(self, record: Mapping[str, Any]) -> None:
        from ..errors import Conflict

        try:
            self.cancel_archive(str(record["id"]))
        except Conflict:
            self.unarchive(str(record["id"]))

    @staticmethod
    def _data(body: Any) -> StatsigMetricRecord:
        data = body.get("data") if isinstance(body, dict) else None
        return cast("StatsigMetricRecord", data if isinstance(data, dict) else {})
