"""One page contract: every page kind iterates its results and renders its vendor's envelope from
the request URL as the client sent it (other query parameters kept, the paging ones replaced, any
mount prefix kept)."""

from __future__ import annotations

from typing import Any

import pytest

import metricscore as mc
import metricscore.pagination as pagination
from metricscore.dialects.posthog.envelope import LIST_ENVELOPE, remove_query_param, replace_query_param
from metricscore.pagination import LimitOffsetPagination, OffsetPage

STATSIG_LIST = "/console/v1/metrics/list"
USAGE = {"metricType": "SIMPLE", "eventType": "message_sent", "aggregationType": "COUNT"}
METRIC = {"type": "sum", "unitTypes": ["userID"], "metricEvents": [{"name": "purchase", "type": "value"}]}


@pytest.fixture
def store() -> mc.Store:
    store = mc.open_store("memory://")
    for n in range(5):
        store.posthog.accounts(project_id=1).create({"name": f"acme {n}", "tags": ["billing"]})
        store.statsig.metrics(project_id="p").create({**METRIC, "name": f"metric_{n}", "tags": ["core"]})
        store.sequence.usage_metrics(account_id="a").create({**USAGE, "name": f"usage {n}"})
    return store


# -- PostHog: DRF links ---------------------------------------------------------------------------


def test_drf_links_are_rebuilt_sorted_with_plus_for_space() -> None:
    url = "http://h/api/environments/1/accounts/?tags=%5B%22billing%22%5D&search=acme%20corp&limit=2"
    assert replace_query_param(url, "offset", 2) == (
        "http://h/api/environments/1/accounts/?limit=2&offset=2&search=acme+corp&tags=%5B%22billing%22%5D"
    )
    assert remove_query_param("http://h/a/?offset=2&b=1", "offset") == "http://h/a/?b=1"
    assert replace_query_param("http://h/a/?search=&x=1", "limit", 5) == "http://h/a/?limit=5&search=&x=1"


@pytest.mark.parametrize(
    ("offset", "url", "expected"),
    [
        (3, "http://h/a/", ("http://h/a/?limit=3&offset=6", "http://h/a/?limit=3")),
        (9, "http://h/a/?offset=9", (None, "http://h/a/?limit=3&offset=6")),
        (0, "http://h/a/", ("http://h/a/?limit=3&offset=3", None)),
        (5, "http://h/a/", ("http://h/a/?limit=3&offset=8", "http://h/a/?limit=3&offset=2")),
        (20, "http://h/a/", (None, "http://h/a/?limit=3&offset=17")),  # past the end: back to the last
    ],
)
def test_next_and_previous(offset: int, url: str, expected: tuple[str | None, str | None]) -> None:
    envelope = OffsetPage([], 10, 3, offset, envelope_format=LIST_ENVELOPE).envelope(url)
    assert (envelope["next"], envelope["previous"]) == expected


def test_posthog_links_keep_the_mount_prefix_and_other_parameters(store: mc.Store) -> None:
    page = store.posthog.accounts(project_id=1).list(search="acme", limit=2, offset=2)
    url = "https://h/metrics/api/environments/1/accounts/?search=acme&offset=2&limit=2&ordering=name"
    envelope = page.envelope(url)
    assert (
        envelope["next"] == "https://h/metrics/api/environments/1/accounts/?limit=2&offset=4&ordering=name&search=acme"
    )
    assert envelope["previous"] == "https://h/metrics/api/environments/1/accounts/?limit=2&ordering=name&search=acme"
    assert list(envelope) == ["count", "next", "previous", "results"]


def test_posthog_links_without_a_request_url_are_relative_to_the_list(store: mc.Store) -> None:
    envelope = store.posthog.accounts(project_id=1).list(limit=2, offset=2).envelope()
    assert (envelope["next"], envelope["previous"]) == ("?limit=2&offset=4", "?limit=2")


def test_optional_maximum_limit() -> None:
    assert LimitOffsetPagination(LIST_ENVELOPE).window({"limit": "100000"}) == (100000, 0)
    assert LimitOffsetPagination(LIST_ENVELOPE, max_limit=500).window({"limit": "100000"}) == (500, 0)


# -- Statsig: paths ---------------------------------------------------------------------------------


def test_statsig_links_from_a_request_url_replace_page_and_limit(store: mc.Store) -> None:
    # Appending to the request URL once gave "...?page=1&limit=2?page=2&limit=2".
    first = store.statsig.metrics(project_id="p").list(page=1, limit=2)
    listed = first.envelope(f"{STATSIG_LIST}?page=1&limit=2")["pagination"]
    assert (listed["nextPage"], listed["previousPage"], listed["all"]) == (
        f"{STATSIG_LIST}?page=2&limit=2",
        None,
        STATSIG_LIST,
    )


def test_statsig_links_keep_filters_and_the_mount_prefix(store: mc.Store) -> None:
    page = store.statsig.metrics(project_id="p").list(page="2", limit="2", tags="core")
    url = f"http://localhost/metrics{STATSIG_LIST}?tags=core&page=2&showHiddenMetrics=true&limit=2"
    listed = page.envelope(url)["pagination"]
    assert listed == {
        "itemsPerPage": 2,
        "pageNumber": 2,
        "totalItems": 5,
        "nextPage": f"/metrics{STATSIG_LIST}?page=3&limit=2&tags=core&showHiddenMetrics=true",
        "previousPage": f"/metrics{STATSIG_LIST}?page=1&limit=2&tags=core&showHiddenMetrics=true",
        "all": f"/metrics{STATSIG_LIST}",
    }


def test_statsig_links_replace_paging_values_that_fell_back_to_defaults(store: mc.Store) -> None:
    page = store.statsig.metrics(project_id="p").list(page="x", limit="0")
    listed = page.envelope(f"{STATSIG_LIST}?page=x&limit=0&page=7&tags=a%20b")["pagination"]
    assert (listed["pageNumber"], listed["itemsPerPage"], listed["nextPage"]) == (1, 100, None)
    two = store.statsig.metrics(project_id="p").list(page="x", limit="3")
    assert two.envelope(f"{STATSIG_LIST}?page=x&limit=3&tags=a%20b")["pagination"]["nextPage"] == (
        f"{STATSIG_LIST}?page=2&limit=3&tags=a%20b"  # the filter as the client encoded it
    )


def test_statsig_links_without_a_request_url_use_the_list_path(store: mc.Store) -> None:
    listed = store.statsig.metrics(project_id="p").list(page=2, limit=2).envelope()["pagination"]
    assert (listed["nextPage"], listed["previousPage"], listed["all"]) == (
        f"{STATSIG_LIST}?page=3&limit=2",
        f"{STATSIG_LIST}?page=1&limit=2",
        STATSIG_LIST,
    )


# -- Sequence: cursors, no links ------------------------------------------------------------------


def test_sequence_envelope_holds_cursors_whatever_the_request_url(store: mc.Store) -> None:
    usage = store.sequence.usage_metrics(account_id="a")
    page = usage.list(limit=2)
    envelope = page.envelope("https://h/m/api/usage-metrics?limit=2&name=usage")
    assert envelope == page.envelope()
    assert envelope["pagination"] == {"after": page.after, "before": None, "totalResultSize": 5}
    following = usage.list(limit=2, after=envelope["pagination"]["after"])
    assert [item["name"] for item in following] == ["usage 2", "usage 3"]


# -- the contract ---------------------------------------------------------------------------------


def _pages(store: mc.Store) -> dict[str, Any]:
    return {
        "posthog": store.posthog.accounts(project_id=1).list(limit=2),
        "sequence": store.sequence.usage_metrics(account_id="a").list(limit=2),
        "statsig": store.statsig.metrics(project_id="p").list(limit=2),
    }


def test_every_page_iterates_its_results(store: mc.Store) -> None:
    for vendor, page in _pages(store).items():
        assert list(page) == page.results and len(page.results) == 2, vendor
        assert page.count == 5, vendor


def test_every_page_renders_from_a_request_url_or_none(store: mc.Store) -> None:
    urls = {"posthog": "http://h/a/?limit=2", "sequence": "http://h/s?limit=2", "statsig": f"{STATSIG_LIST}?limit=2"}
    for vendor, page in _pages(store).items():
        with_url, without = page.envelope(urls[vendor]), page.envelope(None)
        assert list(with_url) == list(without), vendor
        assert page.envelope(request_url=urls[vendor]) == with_url, vendor


# A lone surrogate (found: PostHog's links re-encode the query, a UnicodeEncodeError escaped).
@pytest.mark.parametrize(
    "bad", [5, b"http://h/a/", "http://[::1/a/", "//[x", "http://h/a/?q=\ud800", "http://h/\udfff/"]
)
def test_a_request_url_that_is_not_one_is_a_validation_error(store: mc.Store, bad: Any) -> None:
    for vendor, page in _pages(store).items():
        with pytest.raises(mc.ValidationError) as caught:
            page.envelope(bad)
        assert list(caught.value.errors) == ["request_url"], vendor


def test_each_style_describes_its_own_envelope(store: mc.Store) -> None:
    resources = {
        "posthog": store.posthog.accounts(project_id=1).resource,
        "sequence": store.sequence.usage_metrics(account_id="a").resource,
        "statsig": store.statsig.metrics(project_id="p").resource,
    }
    for vendor, page in _pages(store).items():
        schema = resources[vendor].pagination.envelope_schema({"type": "object"})
        envelope = page.envelope()
        assert set(schema["required"]) == set(envelope), vendor
        for key, value in envelope.items():
            nested = schema["properties"][key]
            if nested["type"] == "object":
                assert set(nested["required"]) == set(value), (vendor, key)


def test_page_classes_are_exported_from_the_package_and_the_top_level() -> None:
    for name in ("Page", "OffsetPage", "CursorPage", "NumberedPage"):
        assert getattr(mc, name) is getattr(pagination, name)
        assert name in mc.__all__ and name in pagination.__all__
