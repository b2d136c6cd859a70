"""API keys: created and revoked through the library, stored hashed, checked in constant time.

::

    keyring = Keyring(store)
    new = keyring.create("posthog", scopes=["account:read"], projects=[1], user_id=7)
    new.token                      # "phx_..." shown once; only its SHA-256 is stored
    keyring.revoke(new.key_id)

The kinds of key are the dialects': each :class:`~metricscore.http.dialect.HttpDialect` declares
its :class:`KeyForm` (a token prefix, or client id and secret; the scopes, projects or subject a key
carries), and this module knows none by name. ``create_posthog_key``,
``create_sequence_credentials`` and ``create_statsig_key`` are shorthands for :meth:`Keyring.create`.

Every key lives in the :data:`API_KEYS` table of the store's backend, so every server process that
shares a database sees a key (and its revocation) at once. A token is ``<prefix><key id><secret>``:
the key id finds the stored row, then the SHA-256 of the whole token is compared with
:func:`hmac.compare_digest`. Client credentials (a form without prefix, e.g. Sequence's) are a client
id (the key id) and a client secret.
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
from typing import Any

from ..errors import ConfigurationError, ErrorMessage, ValidationError
from ..jsonvalue import string_problem
from ..query import OrderBy, Query
from ..repository import Record, guarded_unit_of_work
from ..table import Column, ColumnType, TableSpec

__all__ = [
    "API_KEYS",
    "ApiKey",
    "KeyForm",
    "Keyring",
    "NewKey",
    "key_forms",
]

KEY_ID_LENGTH = 16  # hex characters
#: The longest token or client secret checked (longer ones are refused without a lookup).
MAX_SECRET_LENGTH = 200
_KEY_ID = re.compile(f"[0-9a-f]{{{KEY_ID_LENGTH}}}")
_INT64 = range(-(2**63), 2**63)


@dataclass(frozen=True)
class KeyForm:
    """The kind of key a dialect checks, as its :class:`~metricscore.http.dialect.HttpDialect` declares it.

    :param kind: stored with the key (at most 16 characters); a key of one kind never checks as another.
    :param prefix: a token is ``<prefix><key id><secret>``; ``None``: client credentials (the key id
        is the client id, the secret is the client secret, e.g. HTTP Basic).
    :param header: how a client sends it, for the ``keys create`` command: ``{token}`` (the token or
        the secret) and ``{basic}`` (base64 of ``client_id:secret``) are filled in.
    :param scopes: the scopes a key may be given (``*`` grants all); ``None``: keys carry no scopes.
    :param projects: keys may be limited to integer project ids.
    :param user_id: keys may carry a user id (recorded as the creator of what they create).
    :param subject: the name of the one scope value a key is bound to (``account_id``,
        ``project_id``), required at creation; ``None``: none.
    :param subject_length: the longest subject.
    :param default_name: the name a key created without one gets.
    """

    kind: str
    prefix: str | None = None
    header: str = "{token}"
    scopes: tuple[str, ...] | None = None
    projects: bool = False
    user_id: bool = False
    subject: str | None = None
    subject_length: int = 200
    default_name: str = ""

    def __post_init__(self) -> None:
        if not (isinstance(self.kind, str) and 0 < len(self.kind) <= 16):
            raise ConfigurationError(f"A key kind is a string of 1 to 16 characters: {self.kind!r}")


def key_forms() -> dict[str, KeyForm]:
    """Every key form of the installed dialects' HTTP faces, by kind."""
    from .dialect import installed_http_dialects

    forms: dict[str, KeyForm] = {}
    for face in installed_http_dialects():
        for form in face.key_forms:
            forms.setdefault(form.kind, form)
    return forms


API_KEYS = TableSpec(
    name="http_api_keys",
    scope=("kind",),
    columns=(
        Column("kind", ColumnType.STRING, nullable=False, length=16),
        Column("id", ColumnType.STRING, nullable=False, length=KEY_ID_LENGTH),
        Column("secret_hash", ColumnType.STRING, nullable=False, length=64),
        Column("name", ColumnType.STRING, nullable=False, length=200),
        #: The scopes granted (a list of strings; kinds with scopes, e.g. PostHog's).
        Column("scopes", ColumnType.JSON, nullable=False),
        #: The project ids the key may use (a list of integers), or null for every project.
        Column("projects", ColumnType.JSON),
        #: The one value the key is bound to (its form's ``subject``), or null.
        Column("subject", ColumnType.STRING, length=200),
        #: The user id recorded as the creator of what the key creates, or null.
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
    kind: str
    name: str
    scopes: tuple[str, ...] = ()
    #: The project ids the key may use, or ``None`` for every project (a PostHog key's).
    projects: tuple[int, ...] | None = None
    #: The one scope value the key is bound to (a Sequence account id, a Statsig project id).
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

    def form(self, kind: str | KeyForm) -> KeyForm:
        """The :class:`KeyForm` of ``kind`` among the installed dialects' (a form is itself)."""
        if isinstance(kind, KeyForm):
            return kind
        forms = key_forms()
        if not isinstance(kind, str) or kind not in forms:
            raise _invalid("kind", f"Unknown kind of key {str(kind)[:40]!r}; known: {', '.join(sorted(forms))}.")
        return forms[kind]

    def create(
        self,
        kind: str | KeyForm,
        *,
        name: Any = "",
        scopes: Iterable[str] | None = None,
        projects: Iterable[int] | None = None,
        subject: Any = None,
        user_id: int | None = None,
    ) -> NewKey:
        """A new key of ``kind`` (a dialect's :class:`KeyForm`, or its kind): with ``scopes`` (required
        when the form has scopes) for ``projects`` (``None``: every project), bound to ``subject``
        (required when the form names one), carrying ``user_id``. Each is refused by a form that
        does not take it."""
        form = self.form(kind)
        scope_list: list[str] = []
        if form.scopes is not None:
            scope_items = _items("scopes", scopes)
            if not all(type(s) is str for s in scope_items):
                raise _invalid("scopes", "Scopes are strings.")
            scope_list = sorted(set(scope_items))
            unknown = [s for s in scope_list if s != "*" and s not in form.scopes]
            if unknown:
                shown = ", ".join(repr(s)[:40] for s in unknown[:5])
                raise _invalid("scopes", f"Unknown scope(s): {shown}. Known: {', '.join(form.scopes)}, *.")
        elif scopes is not None:
            raise _invalid("scopes", f"A {form.kind} key takes no scopes.")
        project_list: list[int] | None = None
        if projects is not None:
            if not form.projects:
                raise _invalid("projects", f"A {form.kind} key takes no projects.")
            project_list = _items("projects", projects)
            if not all(type(p) is int and 0 <= p < 2**63 for p in project_list):
                raise _invalid("projects", "Project ids are integers from 0 to 2**63 - 1.")
            project_list = sorted(set(project_list))
        if user_id is not None:
            if not form.user_id:
                raise _invalid("user_id", f"A {form.kind} key takes no user id.")
            if type(user_id) is not int or user_id not in _INT64:
                raise _invalid("user_id", "A user id is a 64-bit integer.")
        if form.subject is not None:
            _text(form.subject, subject, form.subject_length)
        elif subject is not None:
            raise _invalid("subject", f"A {form.kind} key is bound to no subject.")
        if form.default_name:
            name = name or form.default_name
        _text("name", name, 200, blank=True)
        key_id = secrets.token_hex(KEY_ID_LENGTH // 2)
        secret = secrets.token_urlsafe(32)
        token = secret if form.prefix is None else f"{form.prefix}{key_id}{secret}"
        record: Record = {
            "kind": form.kind,
            "id": key_id,
            "secret_hash": _digest(token),
            "name": name,
            "scopes": scope_list,
            "projects": project_list,
            "subject": subject,
            "user_id": user_id,
            "created_at": self.store.now(),
            "revoked_at": None,
        }
        with guarded_unit_of_work(self.store.backend) as uow:
            uow.repository(API_KEYS).insert({"kind": form.kind}, dict(record))
        return NewKey(_key(record), token)

    # Shorthands for the built-in dialects' kinds (documented before keys came from the dialects).

    def create_posthog_key(
        self,
        *,
        scopes: Iterable[str],
        projects: Iterable[int] | None = None,
        name: str = "",
        user_id: int | None = None,
    ) -> NewKey:
        """``create("posthog", ...)``: a personal API key (``Authorization: Bearer phx_...``) with
        ``scopes`` for ``projects`` (``None``: every project); ``user_id`` is recorded as
        ``created_by`` of what it creates."""
        return self.create("posthog", scopes=scopes, projects=projects, name=name, user_id=user_id)

    def create_sequence_credentials(self, *, account_id: str, name: str = "") -> NewKey:
        """``create("sequence", subject=account_id)``: Basic credentials bound to one Sequence
        account: ``client_id`` and ``client_secret``."""
        return self.create("sequence", subject=account_id, name=name)

    def create_statsig_key(self, *, project_id: str, name: str = "") -> NewKey:
        """``create("statsig", subject=project_id)``: a console key (``STATSIG-API-KEY: console-...``)
        bound to one Statsig project. ``name`` becomes ``creatorName`` of the metrics it creates."""
        return self.create("statsig", subject=project_id, name=name)

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
            for kind in key_forms():
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
            for kind in key_forms():
                order = (OrderBy("created_at"), OrderBy("id"))
                keys.extend(_key(r) for r in repository.find({"kind": kind}, Query((), order)))
        keys = [k for k in keys if include_revoked or k.revoked_at is None]
        return sorted(keys, key=lambda k: (k.created_at or datetime.min, k.key_id))

    # -- checking ------------------------------------------------------------------------------

    def check_token(self, kind: str | KeyForm, token: str) -> ApiKey | None:
        """The live key of ``kind`` (a form with a prefix) whose token is ``token``, else ``None``."""
        form = key_forms().get(kind) if isinstance(kind, str) else kind
        if not isinstance(form, KeyForm) or form.prefix is None or not _well_formed_secret(token):
            return None
        key_id = token[len(form.prefix) : len(form.prefix) + KEY_ID_LENGTH]
        if not token.startswith(form.prefix) or not _well_formed_id(key_id):
            return None
        return self._check(form.kind, key_id, token)

    def check_credentials(self, kind: str | KeyForm, client_id: str, client_secret: str) -> ApiKey | None:
        """The live credentials of ``kind`` (a form without prefix) ``client_id`` / ``client_secret``, else ``None``."""
        form = key_forms().get(kind) if isinstance(kind, str) else kind
        if not isinstance(form, KeyForm) or form.prefix is not None:
            return None
        if not _well_formed_id(client_id) or not _well_formed_secret(client_secret):
            return None
        return self._check(form.kind, client_id, client_secret)

    def _check(self, kind: str, key_id: str, secret: str) -> ApiKey | None:
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
    kind = str(record["kind"])
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
