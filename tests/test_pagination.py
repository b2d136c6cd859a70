"""DRF-exact link building for limit/offset pages."""

from __future__ import annotations

from metricscore.pagination import LimitOffsetPagination, OffsetPage, remove_query_param, replace_query_param


def test_links_are_rebuilt_sorted_with_plus_for_space() -> None:
    url = "http://h/api/environments/1/accounts/?tags=%5B%22billing%22%5D&search=acme%20corp&limit=2"
    assert replace_query_param(url, "offset", 2) == (
        "http://h/api/environments/1/accounts/?limit=2&offset=2&search=acme+corp&tags=%5B%22billing%22%5D"
    )
    assert remove_query_param("http://h/a/?offset=2&b=1", "offset") == "http://h/a/?b=1"


def test_next_and_previous() -> None:
    page = OffsetPage([], count=10, limit=3, offset=3)
    assert page.next_link("http://h/a/") == "http://h/a/?limit=3&offset=6"
    assert page.previous_link("http://h/a/?offset=3") == "http://h/a/?limit=3"
    assert OffsetPage([], 10, 3, 9).next_link("http://h/a/") is None
    assert OffsetPage([], 10, 3, 0).previous_link("http://h/a/") is None
    assert OffsetPage([], 10, 3, 5).previous_link("http://h/a/") == "http://h/a/?limit=3&offset=2"
    assert OffsetPage([], 10, 3, 20).previous_link("http://h/a/") == "http://h/a/?limit=3&offset=17"


def test_blank_parameters_survive_the_rebuild() -> None:
    assert replace_query_param("http://h/a/?search=&x=1", "limit", 5) == "http://h/a/?limit=5&search=&x=1"


def test_optional_maximum_limit() -> None:
    assert LimitOffsetPagination().window({"limit": "100000"}) == (100000, 0)
    assert LimitOffsetPagination(max_limit=500).window({"limit": "100000"}) == (500, 0)
