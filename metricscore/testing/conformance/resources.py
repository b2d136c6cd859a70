"""``ResourceContract``: what every resource promises through its service, on any backend.

A dialect's author (built-in or third party) runs it for each resource by overriding the fixtures::

    class TestWidgets(ResourceContract):
        @pytest.fixture
        def backend(self): ...                      # a fresh backend, as for BackendContracts

        @pytest.fixture
        def service(self, store):                   # a scope-bound service factory
            return lambda scope: store.acme.widgets(tenant=scope)

        valid = {"name": "Sprocket"}                # a payload the resource accepts
        invalid = ({"name": ""}, "name")            # one it refuses, and the field it names
        change = {"name": "Gear"}                   # a partial update (PATCH-like)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from ...errors import NotFound, ValidationError
from ...repository import Backend
from ...store import Store
from .. import fresh_id
from ..clock import FakeClock

__all__ = ["ResourceContract"]


class ResourceContract:
    """Create, read, list, update and delete within a scope; refusals that store nothing; scopes apart."""

    valid: ClassVar[dict[str, Any]]
    invalid: ClassVar[tuple[Any, str]]
    change: ClassVar[dict[str, Any]]

    @pytest.fixture
    def backend(self) -> Backend:
        raise NotImplementedError("Override the `backend` fixture to return a fresh backend instance.")

    @pytest.fixture
    def store(self, backend: Backend) -> Store:
        return Store(backend, clock=FakeClock())

    @pytest.fixture
    def service(self, store: Store) -> Callable[[str], Any]:
        raise NotImplementedError("Override `service`: a scope value -> the resource's service in that scope.")

    @staticmethod
    def _scope() -> str:
        return f"scope-{fresh_id()}"

    def test_lifecycle(self, service: Callable[[str], Any]) -> None:
        widgets = service(self._scope())
        created = widgets.create(dict(self.valid))
        assert widgets.get(created["id"]) == created
        page = widgets.list()
        assert page.count == 1 and list(page.results) == [created]
        assert isinstance(page.envelope(), dict)
        changed = widgets.update(created["id"], dict(self.change))
        assert changed["id"] == created["id"] and changed != created
        assert widgets.get(created["id"]) == changed
        widgets.delete(created["id"])
        with pytest.raises(NotFound):
            widgets.get(created["id"])

    def test_an_invalid_payload_names_the_field_and_stores_nothing(self, service: Callable[[str], Any]) -> None:
        widgets = service(self._scope())
        payload, field = self.invalid
        with pytest.raises(ValidationError) as caught:
            widgets.create(payload)
        assert field in caught.value.errors
        assert widgets.list().count == 0
        junk: Any
        for junk in (None, [], 5, "x"):
            with pytest.raises(ValidationError):
                widgets.create(junk)

    def test_scopes_do_not_see_each_other(self, service: Callable[[str], Any]) -> None:
        mine, theirs = service(self._scope()), service(self._scope())
        created = mine.create(dict(self.valid))
        assert theirs.list().count == 0
        for call in (theirs.get, theirs.delete):
            with pytest.raises(NotFound):
                call(created["id"])
        with pytest.raises(NotFound):
            theirs.update(created["id"], dict(self.change))
        assert mine.get(created["id"]) == created

    def test_an_unknown_id_is_not_found(self, service: Callable[[str], Any]) -> None:
        widgets = service(self._scope())
        for unknown in ("nope", "x" * 500):
            with pytest.raises(NotFound):
                widgets.get(unknown)
