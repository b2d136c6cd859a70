"""Property tests: whatever a caller passes, the cursor decoder, the Keyring and the services'
``list`` and ``evaluate`` raise only metricscore's errors (and the decoder gives back only
positions of the right types)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metricscore as mc
from metricscore.errors import MetricscoreError, StorageError, ValidationError
from metricscore.http.keys import Keyring, key_forms
from metricscore.pagination import decode_cursor, encode_cursor
from metricscore.testing.conformance.inputs import Ambiguous

BOUNDED = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TYPES = (datetime, str)

#: Any character, lone surrogates and NUL included.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**62, max_value=2**70),
    st.floats(),
    any_text,
    st.binary(max_size=20),
    st.just(object()),
    st.builds(Ambiguous),  # as a NumPy array: == gives no truth value, iteration refuses
)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.frozensets(st.one_of(st.integers(), any_text), max_size=4),
        st.dictionaries(any_text, inner, max_size=3),
    ),
    max_leaves=8,
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), any_text),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(any_text, inner, max_size=3)),
    max_leaves=10,
)
parts = st.lists(st.tuples(st.sampled_from(["d", "v", "x"]), json_values).map(list), max_size=3)
cursors = st.one_of(
    anything,
    any_text,
    st.binary(max_size=200).map(_b64),
    json_values.map(lambda v: _b64(json.dumps(v).encode("utf-8", "surrogatepass"))),
    parts.map(lambda p: _b64(json.dumps(p).encode("utf-8", "surrogatepass"))),
    st.tuples(st.datetimes(timezones=st.timezones()).map(datetime.isoformat), json_values).map(
        lambda p: _b64(json.dumps([["d", p[0]], ["v", p[1]]]).encode("utf-8", "surrogatepass"))
    ),
)


@BOUNDED
@given(cursors)
def test_the_cursor_decoder_only_raises_invalid_cursor(cursor: Any) -> None:
    try:
        position = decode_cursor(cursor, TYPES, "after")
    except ValidationError as error:
        assert error.errors == {"after": ["Invalid cursor."]}
        return
    moment, id = position
    assert type(moment) is datetime and moment.utcoffset() is not None and moment.tzinfo is UTC
    assert type(id) is str and "\x00" not in id
    id.encode("utf-8")


@BOUNDED
@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)),
    st.text(max_size=50).filter(lambda t: "\x00" not in t),
)
def test_cursors_round_trip(moment: datetime, id: str) -> None:
    assert decode_cursor(encode_cursor((moment, id)), TYPES, "before") == (moment, id)


@pytest.fixture(params=["memory", "sqlite"])
def keyring(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Keyring]:
    if request.param == "sqlite":
        pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/keys.db"
    store = mc.open_store(url)
    yield Keyring(store)
    store.close()


def _only_metricscore_errors(call: Any) -> Any:
    """What ``call`` answers; a metricscore error is ``None``, but never a StorageError (a bad
    input is the caller's error, not the store's)."""
    try:
        return call()
    except StorageError:
        raise
    except MetricscoreError:
        return None


@BOUNDED
@given(anything, anything, anything, anything)
def test_creating_keys_raises_only_metricscore_errors(keyring: Keyring, a: Any, b: Any, c: Any, d: Any) -> None:
    _only_metricscore_errors(lambda: keyring.create_posthog_key(scopes=a, projects=b, name=c, user_id=d))
    _only_metricscore_errors(lambda: keyring.create_posthog_key(scopes=["*"], projects=b, name=c, user_id=d))
    _only_metricscore_errors(lambda: keyring.create_sequence_credentials(account_id=a, name=c))
    _only_metricscore_errors(lambda: keyring.create_statsig_key(project_id=a, name=c))
    _only_metricscore_errors(lambda: Keyring(keyring.store, cache_seconds=a))


@BOUNDED
@given(anything, anything, anything)
def test_checking_and_revoking_raise_only_metricscore_errors(keyring: Keyring, a: Any, b: Any, c: Any) -> None:
    for kind in (*key_forms(), a):
        assert _only_metricscore_errors(lambda kind=kind: keyring.check_token(kind, b)) is None
    assert _only_metricscore_errors(lambda: keyring.check_credentials("sequence", a, b)) is None
    assert _only_metricscore_errors(lambda: keyring.revoke(a)) in (False, None)
    _only_metricscore_errors(lambda: keyring.list(include_revoked=c))
    new = keyring.create_sequence_credentials(account_id="acct")
    assert _only_metricscore_errors(lambda: keyring.check_credentials("sequence", new.client_id, a)) is None
    assert keyring.check_credentials("sequence", new.client_id, new.client_secret) is not None


@pytest.fixture(params=["memory", "tinydb", "sqlite"])
def metric_services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[tuple[Any, str]]]:
    """A stored metric of each dialect, with its service (reads never change it)."""
    if request.param == "sqlite":
        pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")
    urls = {"memory": "memory://", "tinydb": f"tinydb://{tmp_path}/db.json", "sqlite": f"sqlite:///{tmp_path}/m.db"}
    store = mc.open_store(urls[request.param])
    group = store.posthog.group_usage_metrics(project_id=1, group_type_index=0)
    usage = store.sequence.usage_metrics(account_id="acct")
    metrics = store.statsig.metrics(project_id="p")
    accounts = store.posthog.accounts(project_id=1)
    yield [
        (accounts, accounts.create({"name": "Acme"})["id"]),
        (group, group.create({"name": "Events", "filters": {"events": [{"id": "$pageview"}]}})["id"]),
        (
            usage,
            usage.create({"name": "Sent", "metricType": "SIMPLE", "eventType": "e", "aggregationType": "COUNT"})["id"],
        ),
        (
            metrics,
            metrics.create(
                {"name": "Carts", "type": "sum", "unitTypes": ["userID"], "metricEvents": [{"name": "cart"}]}
            )["id"],
        ),
    ]
    store.close()


#: The calls' own argument names among the parameter names (``list(self, **params)``, ``evaluate(self, id, ...)``).
parameter_names = st.one_of(
    st.sampled_from(["self", "id", "params", "limit", "page", "tags", "after", "before", "offset", "search"]),
    st.sampled_from(["ordering", "csm", "name", "eventType", "group_key", "now", "customerAliases", "periodStart"]),
    st.sampled_from(["periodEnd", "date_from", "date_to", "day_start_utc_offset", "sortBy", "sortOrder"]),
    any_text,
)


@BOUNDED
@given(st.dictionaries(parameter_names, anything, max_size=4))
def test_list_and_evaluate_take_any_parameters(metric_services: list[tuple[Any, str]], params: dict[str, Any]) -> None:
    events = metric_services[0][0].store.sequence.usage_events(account_id="acct")
    _only_metricscore_errors(lambda: events.list(**params))
    # ``events`` given twice would be Python's TypeError at the call itself, before the library
    others = {name: value for name, value in params.items() if name != "events"}
    for service, id in metric_services:
        _only_metricscore_errors(lambda service=service: service.list(**params))
        _only_metricscore_errors(lambda service=service, id=id: service.evaluate(id, **params))
        _only_metricscore_errors(lambda service=service, id=id: service.evaluate(id, events=params, **others))
