"""API keys: created and revoked through the library, stored hashed, checked in constant time.

::

    keyring = Keyring(store)
    new = keyring.create_posthog_key(scopes=["account:read"], projects=[1], user_id=7)
    new.token                      # "phx_..." shown once; only its SHA-256 is stored
    keyring.revoke(new.key_id)

Every key lives in the :data:`API_KEYS` table of the store's backend, so every server process that
shares a database sees a key (and its revocation) at once. A token is ``<prefix><key id><secret>``:
the key id finds the stored row, then the SHA-256 of the whole token is compared with
:func:`hmac.compare_digest`. Sequence credentials are a client id (the key id) and a client secret.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ..errors import ConfigurationError, ErrorMessage, ValidationError
from ..jsonvalue import string_problem
from ..query import OrderBy, Query
from ..repository import Record, guarded_unit_of_work
from ..table import Column, ColumnType, Table

__all__ = [
    "API_KEYS",
    "KEY_KINDS",
    "POSTHOG_SCOPES",
    "ApiKey",
    "Keyring",
    "NewKey",
]

KeyKind = Literal["posthog", "sequence", "statsig"]
KEY_KINDS: tuple[KeyKind, ...] = ("posthog", "sequence", "statsig")
#: The PostHog scopes the reference server checks; ``*`` grants all of them.
POSTHOG_SCOPES = ("account:read", "account:write", "usage_metric:read", "usage_metric:write")
#: The name Statsig shows as ``creatorName`` for a key created without one.
DEFAULT_STATSIG_NAME = "CONSOLE API"

KEY_ID_LENGTH = 16  # hex characters
#: The longest token or client secret checked (longer ones are refused without a lookup).
MAX_SECRET_LENGTH = 200
_KEY_ID = re.compile(f"[0-9a-f]{{{KEY_ID_LENGTH}}}")
_INT64 = range(-(2**63), 2**63)
_PREFIX: dict[str, str] = {"posthog": "phx_", "statsig": "console-"}

API_KEYS = Table(
    name="http_api_keys",
    scope=("kind",),
    columns=(
        Column("kind", ColumnType.STRING, nullable=False, length=16),
        Column("id", ColumnType.STRING, nullable=False, length=KEY_ID_LENGTH),
        Column("secret_hash", ColumnType.STRING, nullable=False, length=64),
        Column("name", ColumnType.STRING, nullable=False, length=200),
        #: PostHog: the scopes granted (a list of strings).
        Column("scopes", ColumnType.JSON, nullable=False),
        #: PostHog: the project ids the key may use (a list of integers), or null for every project.
        Column("projects", ColumnType.JSON),
        #: Sequence: the sequenceAccountId; Statsig: the project id. Null for PostHog.
        Column("subject", ColumnType.STRING, length=200),
        #: PostHog: the user id recorded as ``created_by``.
        Column("user_id", ColumnType.INTEGER),
        Column("created_at", ColumnType.DATETIME, nullable=False),
        Column("revoked_at", ColumnType.DATETIME),
    ),
    orderings=(("created_at", "id"),),
)


@dataclass(frozen=True)
class ApiKey:
    """What a stored key allows (never its secret)."""

    key_id: str
    kind: KeyKind
    name: str
    scopes: tuple[str, ...] = ()
    #: PostHog project ids, or ``None`` for every project.
    projects: tuple[int, ...] | None = None
    #: Sequence account id or Statsig project id.
    subject: str | None = None
    user_id: int | None = None
    created_at: datetime | None = None
    revoked_at: datetime | None = None

    def has_scope(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes

    def may_use_project(self, project_id: int) -> bool:
        return self.projects is None or project_id in self.projects

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly description (for listings; never the secret)."""
        return {
            "key_id": self.key_id,
            "kind": self.kind,
            "name": self.name,
            "scopes": list(self.scopes),
            "projects": None if self.projects is None else list(self.projects),
            "subject": self.subject,
            "user_id": self.user_id,
            "created_at": None if self.created_at is None else self.created_at.isoformat(),
            "revoked_at": None if self.revoked_at is None else self.revoked_at.isoformat(),
        }


@dataclass(frozen=True)
class NewKey:
    """A key just created: ``token`` is shown once and cannot be recovered later."""

    key: ApiKey
    token: str = field(repr=False)

    @property
    def key_id(self) -> str:
        return self.key.key_id

    @property
    def client_id(self) -> str:
        """Sequence: the client id of the Basic credentials (the key id)."""
        return self.key.key_id

    @property
    def client_secret(self) -> str:
        """Sequence: the client secret of the Basic credentials."""
        return self.token


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _invalid(field_name: str, text: str) -> ValidationError:
    return ValidationError({field_name: [ErrorMessage(text, "invalid_input")]})


def _text(field_name: str, value: Any, max_length: int, *, blank: bool = False) -> str:
    """``value`` if it is a storable string of at most ``max_length`` characters (non-blank unless
    ``blank``); a ValidationError on ``field_name`` otherwise."""
    if type(value) is not str:
        raise _invalid(field_name, "Not a valid string.")
    problem = string_problem(value)
    if problem is not None:
        raise _invalid(field_name, problem)
    if len(value) > max_length or (not blank and not value.strip()):
        kind = "a" if blank else "a non-blank"
        raise _invalid(field_name, f"Expected {kind} string of at most {max_length} characters.")
    return value


def _items(field_name: str, values: Any) -> list[Any]:
    """The items of a list-like argument (a string or a mapping is not one)."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise _invalid(field_name, "Expected a list.")
    try:
        return list(values)
    except Exception as error:  # an iterable that fails to iterate
        raise _invalid(field_name, f"Expected a list ({type(error).__name__}).") from error


def _well_formed_id(key_id: Any) -> bool:
    return type(key_id) is str and _KEY_ID.fullmatch(key_id) is not None


def _well_formed_secret(secret: Any) -> bool:
    return type(secret) is str and len(secret) <= MAX_SECRET_LENGTH and string_problem(secret) is None


class Keyring:
    """The API keys stored in one store's backend.

    :param cache_seconds: how long a key that checked out is trusted without asking the backend
        again (``0``: ask every time). A key revoked through another process (another server
        worker, the CLI) is refused by this one at most this long after; one revoked through this
        keyring is refused at once. Unknown or wrong keys are never cached.
    """

    #: Most keys kept in the cache; the oldest entry goes first.
    CACHE_SIZE = 1024

    def __init__(self, store: Any, *, cache_seconds: float = 0.0) -> None:
        if type(cache_seconds) not in (int, float) or not math.isfinite(cache_seconds) or cache_seconds < 0:
            raise _invalid("cache_seconds", "Expected a number of seconds, at least 0.")
        self.store = store
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiKey]] = {}
        self._lock = threading.Lock()

    # -- creating and revoking -----------------------------------------------------------------

    def create_posthog_key(
        self,
        *,
        scopes: Iterable[str],
        projects: Iterable[int] | None = None,
        name: str = "",
        user_id: int | None = None,
    ) -> NewKey:
        """A personal API key (``Authorization: Bearer phx_...``) with ``scopes`` for ``projects``
        (``None``: every project). ``user_id`` is recorded as ``created_by`` of what it creates."""
        scope_items = _items("scopes", scopes)
        if not all(type(s) is str for s in scope_items):
            raise _invalid("scopes", "Scopes are strings.")
        scope_list = sorted(set(scope_items))
        unknown = [s for s in scope_list if s != "*" and s not in POSTHOG_SCOPES]
        if unknown:
            shown = ", ".join(repr(s)[:40] for s in unknown[:5])
            raise _invalid("scopes", f"Unknown scope(s): {shown}. Known: {', '.join(POSTHOG_SCOPES)}, *.")
        project_list: list[int] | None = None
        if projects is not None:
            project_list = _items("projects", projects)
            if not all(type(p) is int and 0 <= p < 2**63 for p in project_list):
                raise _invalid("projects", "Project ids are integers from 0 to 2**63 - 1.")
            project_list = sorted(set(project_list))
        if user_id is not None and (type(user_id) is not int or user_id not in _INT64):
            raise _invalid("user_id", "A user id is a 64-bit integer.")
        return self._create("posthog", name, scopes=scope_list, projects=project_list, user_id=user_id)

    def create_sequence_credentials(self, *, account_id: str, name: str = "") -> NewKey:
        """Basic credentials bound to one Sequence account: ``client_id`` and ``client_secret``."""
        _text("account_id", account_id, 200)
        return self._create("sequence", name, subject=account_id)

    def create_statsig_key(self, *, project_id: str, name: str = DEFAULT_STATSIG_NAME) -> NewKey:
        """A console key (``STATSIG-API-KEY: console-...``) bound to one Statsig project. ``name``
        becomes ``creatorName`` of the metrics it creates."""
        _text("project_id", project_id, 100)
        return self._create("statsig", name or DEFAULT_STATSIG_NAME, subject=project_id)

    def _create(
        self,
        kind: KeyKind,
        name: str,
        *,
        scopes: list[str] | None = None,
        projects: list[int] | None = None,
        subject: str | None = None,
        user_id: int | None = None,
    ) -> NewKey:
        _text("name", name, 200, blank=True)
        key_id = secrets.token_hex(KEY_ID_LENGTH // 2)
        secret = secrets.token_urlsafe(32)
        token = secret if kind == "sequence" else f"{_PREFIX[kind]}{key_id}{secret}"
        record: Record = {
            "kind": kind,
            "id": key_id,
            "secret_hash": _digest(token),
            "name": name,
            "scopes": scopes or [],
            "projects": projects,
            "subject": subject,
            "user_id": user_id,
            "created_at": self.store.now(),
            "revoked_at": None,
        }
        with guarded_unit_of_work(self.store.backend) as uow:
            uow.repository(API_KEYS).insert({"kind": kind}, dict(record))
        return NewKey(_key(record), token)

    def revoke(self, key_id: str) -> bool:
        """Revoke the key (or Sequence client id) ``key_id``; ``False`` if there is no such live key."""
        if not _well_formed_id(key_id):
            return False
        with self._lock:
            for digest, (_, cached) in list(self._cache.items()):
                if cached.key_id == key_id:
                    del self._cache[digest]
        with guarded_unit_of_work(self.store.backend) as uow:
            repository = uow.repository(API_KEYS)
            for kind in KEY_KINDS:
                record = repository.get({"kind": kind}, key_id)
                if record is not None and record["revoked_at"] is None:
                    record["revoked_at"] = self.store.now()
                    repository.update({"kind": kind}, record)
                    return True
        return False

    def list(self, *, include_revoked: bool = False) -> list[ApiKey]:
        """Every key, oldest first (never their secrets)."""
        keys: list[ApiKey] = []
        with guarded_unit_of_work(self.store.backend, write=False) as uow:
            repository = uow.repository(API_KEYS)
            for kind in KEY_KINDS:
                order = (OrderBy("created_at"), OrderBy("id"))
                keys.extend(_key(r) for r in repository.find({"kind": kind}, Query((), order)))
        keys = [k for k in keys if include_revoked or k.revoked_at is None]
        return sorted(keys, key=lambda k: (k.created_at or datetime.min, k.key_id))

    # -- checking ------------------------------------------------------------------------------

    def check_token(self, kind: KeyKind, token: str) -> ApiKey | None:
        """The live PostHog or Statsig key whose token is ``token``, else ``None``."""
        if type(kind) is not str or kind not in _PREFIX or not _well_formed_secret(token):
            return None
        prefix = _PREFIX[kind]
        key_id = token[len(prefix) : len(prefix) + KEY_ID_LENGTH]
        if not token.startswith(prefix) or not _well_formed_id(key_id):
            return None
        return self._check(kind, key_id, token)

    def check_credentials(self, client_id: str, client_secret: str) -> ApiKey | None:
        """The live Sequence credentials ``client_id`` / ``client_secret``, else ``None``."""
        if not _well_formed_id(client_id) or not _well_formed_secret(client_secret):
            return None
        return self._check("sequence", client_id, client_secret)

    def _check(self, kind: KeyKind, key_id: str, secret: str) -> ApiKey | None:
        digest = _digest(secret)
        cache_key = f"{kind}:{key_id}:{digest}"
        if self.cache_seconds > 0:
            with self._lock:
                cached = self._cache.get(cache_key)
            if cached is not None and time.monotonic() < cached[0]:
                return cached[1]
        with guarded_unit_of_work(self.store.backend, write=False) as uow:
            record = uow.repository(API_KEYS).get({"kind": kind}, key_id)
        if record is None:
            hmac.compare_digest(digest, digest)  # same work whether the id exists or not
            return None
        if not hmac.compare_digest(digest, str(record["secret_hash"])) or record["revoked_at"] is not None:
            return None
        key = _key(record)
        if self.cache_seconds > 0:
            with self._lock:
                self._cache.pop(cache_key, None)
                while len(self._cache) >= self.CACHE_SIZE:
                    del self._cache[next(iter(self._cache))]
                self._cache[cache_key] = (time.monotonic() + self.cache_seconds, key)
        return key


def _key(record: Mapping[str, Any]) -> ApiKey:
    projects = record.get("projects")
    kind = record["kind"]
    if kind not in KEY_KINDS:  # pragma: no cover - only this module writes the table
        raise ConfigurationError(f"Unknown key kind {kind!r} in {API_KEYS.name}.")
    return ApiKey(
        key_id=record["id"],
        kind=kind,
        name=record.get("name") or "",
        scopes=tuple(record.get("scopes") or ()),
        projects=None if projects is None else tuple(projects),
        subject=record.get("subject"),
        user_id=record.get("user_id"),
        created_at=record.get("created_at"),
        revoked_at=record.get("revoked_at"),
    )
