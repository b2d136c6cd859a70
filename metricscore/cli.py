"""The ``metricscore`` command: run the reference server, manage API keys, migrate a database.

::

    metricscore --version
    metricscore serve [--url URL] [--host 127.0.0.1] [--port 8000] [--workers 2] [--threads 16]
    metricscore keys create posthog --scopes account:read,account:write --projects 1 [--user-id 7]
    metricscore keys create sequence --account ACCOUNT_ID
    metricscore keys create statsig --project PROJECT_ID [--name NAME]
    metricscore keys create KIND [--subject VALUE] ...   (the kinds of the installed dialects)
    metricscore keys list [--all]
    metricscore keys revoke KEY_ID
    metricscore migrate [--url URL] [--revision head] [--downgrade]

``python -m metricscore ...`` runs the same command.

The store URL comes from ``--url``, else the ``METRICSCORE_URL`` environment variable, else the
embedded default :data:`DEFAULT_URL` (an SQLite file in the current directory).

The command is built on click (the ``[cli]`` extra, also part of ``[server]`` and ``[all]``);
``import metricscore`` never imports click. :func:`main` is the console-script entry point: every
usage mistake is one line on stderr with exit status 2, never a traceback.

Adding a command: define it with click anywhere (``@click.command()`` or a ``@click.group()``), then
register it at the end of this module with one line, ``cli.add_command(your_command)``.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote

from . import __version__
from .errors import ConfigurationError, MetricscoreError, ValidationError

try:
    import click
except ModuleNotFoundError as missing:  # pragma: no cover - exercised by a subprocess test
    if missing.name != "click":
        raise

    class _Absent:
        """Stands in for click so this module still imports; :func:`main` then says what to install."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def __getattr__(self, name: str) -> Any:
            return self

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return self

    click = _Absent()  # type: ignore[assignment]
    CLICK_MISSING = True
else:
    CLICK_MISSING = False

__all__ = ["DEFAULT_URL", "cli", "main", "migrate_main", "run"]

DEFAULT_URL = "sqlite:///metricscore.db"
URL_VARIABLE = "METRICSCORE_URL"
#: Stores that live inside one process: a server's workers and the ``keys`` command cannot share them.
IN_PROCESS_URLS = ("memory://", "sqlite://", "sqlite:///:memory:")
#: The extra that installs a module some command imports only when it runs (``[server]`` alone has
#: none of the definitions commands' YAML, terminal and HTTP libraries).
EXTRA_OF_MODULE = {
    **dict.fromkeys(("ruamel", "rich", "httpx", "yaml"), "cli"),
    **dict.fromkeys(("gunicorn", "apispec"), "server"),
}
#: Ctrl-C: the shell's convention for a command stopped by SIGINT is exit status 128 + 2.
INTERRUPTED = "error: interrupted"
MISSING_CLICK = "error: the metricscore command needs click: pip install 'metricscore[cli]'"


def _url(url: str | None) -> str:
    return str(url or os.environ.get(URL_VARIABLE) or DEFAULT_URL)


def _open(url: str, **options: Any) -> Any:
    from .api import open_store

    return open_store(url, **options)


def absent_file(url: str) -> str | None:
    """The file a file-backed store at ``url`` (SQLite, TinyDB) would live in, when it does not
    exist yet: a read-only command then has nothing to read and must not create it by opening it."""
    scheme, sep, rest = url.partition("://")
    kind = scheme.lower().split("+", 1)[0]
    if not sep or kind not in ("sqlite", "tinydb"):
        return None
    path = unquote(rest.split("?", 1)[0])
    if kind == "sqlite" and not path.startswith("/"):
        return None  # sqlite://x.db is no SQLite URL: opening it says so
    path = path[1:] if kind == "sqlite" else path  # sqlite:///x.db is x.db, sqlite:////x.db is /x.db
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return None if os.path.exists(path) else path


#: The URL schemes of SQL stores, whose schema a read-only command must find, not create.
SQL_SCHEMES = ("sqlite", "postgresql", "mysql", "mariadb")


def missing_store(url: str) -> str | None:
    """Why there is nothing to read at ``url`` without creating it (``None``: there is a store).

    A file-backed store (SQLite, TinyDB) whose file does not exist, or an SQL database without
    metricscore's schema. Checking opens the database but creates neither a file nor a table.
    """
    if absent_file(url) is not None:
        return f"no store exists at {_redacted(url)}"
    from .registry import scheme_of

    if scheme_of(url) not in SQL_SCHEMES:
        return None
    with _open(url, create_schema=False) as store:
        if store.backend.schema_revision() is not None:
            return None
    return f"{_redacted(url)} has no metricscore schema (no tables yet)"


def open_existing(url: str) -> Any:
    """The store at ``url`` for a command that only reads it: opened without creating a file, a
    table or a migration (an SQL schema is used as found). See :func:`missing_store` first."""
    from .registry import scheme_of

    return _open(url, create_schema=False) if scheme_of(url) in SQL_SCHEMES else _open(url)


def _redacted(url: str) -> str:
    from .definitions.targets import _redact

    return _redact(url)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def url_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--url``: the store URL (default ``$METRICSCORE_URL``, else :data:`DEFAULT_URL`)."""
    option = click.option("--url", default=None, help=f"store URL (default: ${URL_VARIABLE} or {DEFAULT_URL})")
    return option(function)


def parse_limits(text: str | None) -> Any:
    """``'100/10,900/900'`` -> windows; ``None`` -> Statsig's defaults; ``'off'`` -> none."""
    from .http.ratelimit import STATSIG_LIMITS, Window

    if text is None:
        return STATSIG_LIMITS
    if text.strip().lower() in ("off", "none", ""):
        return ()
    windows = []
    for part in text.split(","):
        limit, slash, seconds = part.strip().partition("/")
        if not slash or not limit.strip().isdigit() or not seconds.strip().isdigit():
            raise ConfigurationError(f"{part.strip()!r} is not LIMIT/SECONDS (e.g. 100/10)")
        windows.append(Window(int(limit), int(seconds)))
    return tuple(windows)


def _limits_option(ctx: Any, param: Any, value: str | None) -> Any:
    try:
        return parse_limits(value)
    except ConfigurationError as error:
        raise click.BadParameter(str(error)) from None


def _projects_option(ctx: Any, param: Any, value: str | None) -> list[int] | None:
    """``None`` (option absent) or ``*``: every project; otherwise a non-empty list of project ids."""
    if value is None or value.strip() == "*":
        return None
    parts = [part.strip() for part in value.split(",")]
    if not any(parts):
        raise click.BadParameter("is empty; give project ids (e.g. 1,2) or '*' for every project")
    bad = [part for part in parts if not (part.isascii() and part.isdigit()) or len(part) > 18]
    if bad:
        raise click.BadParameter(f"{bad[0]!r} is not a project id (a positive integer)")
    return [int(part) for part in parts]


def _lasting_url(why: str) -> Callable[[Any, Any, str | None], str]:
    """A ``--url`` callback: the store URL (see :func:`_url`), refusing an in-process store (``why``)."""

    def check(ctx: Any, param: Any, value: str | None) -> str:
        url = _url(value)
        if url.strip().lower() in IN_PROCESS_URLS or url.strip().lower().startswith("memory:"):
            raise click.BadParameter(f"{url!r} is an in-process store: {why}")
        return url

    return check


_serve_url_option = _lasting_url(
    "each worker would get its own empty store and keys made by 'metricscore keys' could not exist in it; "
    "serve a file or server database (e.g. sqlite:///metricscore.db)"
)
_keys_url_option = _lasting_url(
    "it ends with this command, and no server could read a key kept in it; "
    "give the store the server uses (e.g. sqlite:///metricscore.db)"
)


def keys_url_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--url`` of the keys commands: as :func:`url_option`, refusing an in-process store."""
    option = click.option(
        "--url",
        default=None,
        callback=_keys_url_option,
        help=f"store URL (default: ${URL_VARIABLE} or {DEFAULT_URL})",
    )
    return option(function)


def _public_url_option(ctx: Any, param: Any, value: str | None) -> str | None:
    if value is None:
        return None
    from .http.links import check_base_url

    try:
        return check_base_url(value)
    except ConfigurationError as error:
        raise click.BadParameter(str(error)) from None


def _hosts_option(ctx: Any, param: Any, value: str | None) -> list[str] | None:
    if value is None:
        return None
    from .http.links import LinkBase

    hosts = [part.strip() for part in value.split(",") if part.strip()]
    if not hosts:
        raise click.BadParameter("is empty; give host names, '.example.com' or '*'")
    try:
        LinkBase(allowed_hosts=hosts)
    except ConfigurationError as error:
        raise click.BadParameter(str(error)) from None
    return hosts


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="metricscore", message="%(prog)s %(version)s")
def cli() -> None:
    """metricscore: the reference server, API keys and database migrations; definitions as code
    (validate, plan, apply, export, import, schema) and translation between metric dialects.

    The store URL of serve, keys and migrate: --url, else $METRICSCORE_URL, else
    sqlite:///metricscore.db. Exit status: 0 done, 1 failed, 2 a usage mistake, 130 Ctrl-C
    (plan: 2 means changes, see its --help).
    """


# -- serve ----------------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--url", default=None, callback=_serve_url_option, help=f"store URL (default: ${URL_VARIABLE} or {DEFAULT_URL})"
)
@click.option("--host", default="127.0.0.1", show_default=True, help="address to bind")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="port to bind")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="worker processes")
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=16,
    show_default=True,
    help="request threads per worker (a slow client holds one thread at most --read-timeout seconds)",
)
@click.option(
    "--read-timeout",
    type=click.FloatRange(0.1, 300, min_open=False),
    default=10.0,
    show_default=True,
    help="seconds a client may take to send each part of its request headers or body",
)
@click.option("--access-log", is_flag=True, help="log every request to stderr")
@click.option(
    "--key-cache-seconds",
    type=click.FloatRange(0, 3600),
    default=1.0,
    show_default=True,
    help="trust a verified API key this long per worker (a revocation applies within it; 0: never cache)",
)
@click.option(
    "--statsig-limits",
    default=None,
    callback=_limits_option,
    help="Statsig mutation limits as LIMIT/SECONDS pairs, e.g. '100/10,900/900'; 'off' disables",
)
@click.option(
    "--public-url",
    default=None,
    callback=_public_url_option,
    help="the base URL clients reach the server at (e.g. https://api.example.com/metrics); pagination links use it",
)
@click.option(
    "--allowed-hosts",
    default=None,
    callback=_hosts_option,
    help="comma-separated Host header values trusted in pagination links ('*', '.example.com', names; "
    "default: the loopback names and --host)",
)
def serve(
    url: str,
    host: str,
    port: int,
    workers: int,
    threads: int,
    read_timeout: float,
    access_log: bool,
    key_cache_seconds: float,
    statsig_limits: Any,
    public_url: str | None,
    allowed_hosts: list[str] | None,
) -> int:
    """Run the HTTP server (gunicorn, threaded workers)."""
    try:
        from .http.serve import run_server
    except ModuleNotFoundError as error:
        raise click.UsageError(f"the server needs {error.name}: pip install 'metricscore[server]'") from None
    if allowed_hosts is None:
        from .http.links import DEFAULT_ALLOWED_HOSTS

        bound = [] if host in ("0.0.0.0", "::", "") else [f"[{host}]" if ":" in host else host]
        allowed_hosts = [*DEFAULT_ALLOWED_HOSTS, *bound]
    _check_bind(host, port)
    # Open once in the master: a bad URL fails here, and the schema is created before any worker.
    _open(url).close()
    print(f"metricscore serving {url} on http://{host}:{port}", file=sys.stderr, flush=True)
    run_server(
        url,
        host=host,
        port=port,
        workers=workers,
        threads=threads,
        read_timeout=read_timeout,
        access_log=access_log,
        app_options={
            "statsig_limits": statsig_limits,
            "key_cache_seconds": key_cache_seconds,
            "public_url": public_url,
            "allowed_hosts": allowed_hosts,
        },
    )
    return 0


def _check_bind(host: str, port: int) -> None:
    """Fail in one line when the address cannot be listened on (gunicorn would retry five times,
    logging two lines each, then exit)."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
            probe.bind(address)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


# -- keys -----------------------------------------------------------------------------------------


@cli.group()
def keys() -> None:
    """Create, list and revoke API keys."""


def _kind_option(ctx: Any, param: Any, value: str) -> Any:
    """The key form of ``value`` among the installed dialects' (see :class:`~metricscore.http.keys.KeyForm`)."""
    from .http.keys import key_forms

    forms = key_forms()
    if value not in forms:
        raise click.BadParameter(f"{value!r} is not a kind of key; installed kinds: {', '.join(sorted(forms))}")
    return forms[value]


#: The options naming the one value a key is bound to (``KeyForm.subject``): ``--subject``, or its
#: name without ``_id`` (``--account`` for ``account_id``, ``--project`` for ``project_id``).
_SUBJECT_ALIASES = ("account", "project")


@keys.command("create")
@click.argument("kind", callback=_kind_option)
@keys_url_option
@click.option("--name", default="", help="a label (Statsig: shown as creatorName)")
@click.option("--scopes", default="", help="comma-separated scopes, or '*' (kinds with scopes, e.g. posthog)")
@click.option(
    "--projects",
    default=None,
    callback=_projects_option,
    help="comma-separated project ids, or '*' (kinds limited to projects, e.g. posthog; default: every project)",
)
@click.option(
    "--user-id", type=click.IntRange(0, 2**63 - 1), default=None, help="user id recorded as created_by (e.g. posthog)"
)
@click.option("--subject", default=None, help="the value the key is bound to (kinds with a subject)")
@click.option("--account", default=None, help="--subject of a kind bound to an account_id (e.g. sequence)")
@click.option("--project", default=None, help="--subject of a kind bound to a project_id (e.g. statsig)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option(
    "--token-only",
    is_flag=True,
    help="print only the credential for the auth header: the token, or the base64 Basic credentials "
    "of client credentials (e.g. sequence), e.g. KEY=$(metricscore keys create ... --token-only)",
)
def create_key(
    kind: Any,
    url: str,
    name: str,
    scopes: str,
    projects: list[int] | None,
    user_id: int | None,
    subject: str | None,
    account: str | None,
    project: str | None,
    as_json: bool,
    token_only: bool,
) -> int:
    """Create a key of KIND (one an installed dialect checks) and print it (the secret is shown only once)."""
    from .http.keys import Keyring

    form = kind
    scope_list = [s.strip() for s in scopes.split(",") if s.strip()]
    if form.scopes is not None and not scope_list:
        raise click.UsageError(f"--scopes is required for a {form.kind} key (some of {', '.join(form.scopes)}, or '*')")
    given = {"subject": subject, "account": account, "project": project}
    if form.subject is not None:
        alias = form.subject.removesuffix("_id")
        option = alias if alias in _SUBJECT_ALIASES else "subject"
        bound = given[option] if given[option] is not None else subject
        if not bound:
            raise click.UsageError(f"--{option} is required for a {form.kind} key (its {form.subject})")
    for option, value in given.items():
        if value is not None and (form.subject is None or option not in ("subject", form.subject.removesuffix("_id"))):
            raise click.UsageError(f"--{option} does not apply to a {form.kind} key")
    if form.scopes is None and scope_list:  # silently dropped, the user would think the key is limited
        raise click.UsageError(f"--scopes does not apply to a {form.kind} key (it has no scopes)")
    extra: dict[str, Any] = {}
    if form.scopes is not None:
        extra["scopes"] = scope_list
    if form.subject is not None:
        extra["subject"] = bound
    store = _open(url)
    try:
        new = Keyring(store).create(form, name=name, projects=projects, user_id=user_id, **extra)
    except ValidationError as error:  # a wrong option value (an unknown scope, projects on a sequence key)
        raise click.UsageError(_one_line(str(error))) from None
    finally:
        store.close()
    out: dict[str, Any] = {"key_id": new.key_id}
    if form.prefix is None:
        out |= {"client_id": new.client_id, "client_secret": new.client_secret}
    else:
        out["token"] = new.token
    basic = base64.b64encode(f"{new.client_id}:{new.token}".encode()).decode("ascii")
    out["header"] = form.header.format(token=new.token, basic=basic)
    if token_only:
        print(out["header"].split(" ")[-1])
    elif as_json:
        print(json.dumps(out))
    else:
        for label, value in out.items():
            print(f"{label}: {value}")
        print("# The secret is shown only now; it is stored hashed.", file=sys.stderr)
    return 0


@keys.command("list")
@keys_url_option
@click.option("--all", "include_revoked", is_flag=True, help="include revoked keys")
def list_keys(url: str, include_revoked: bool) -> int:
    """List keys (never their secrets), one JSON object a line."""
    from .http.keys import Keyring

    if absent_file(url) is not None:
        print(f"no keys: no store exists at {url}", file=sys.stderr)
        return 0
    missing = missing_store(url)
    if missing is not None:
        raise click.ClickException(f"no keys: {missing}")
    store = open_existing(url)
    try:
        for key in Keyring(store).list(include_revoked=include_revoked):
            print(json.dumps(key.as_dict()))
    finally:
        store.close()
    return 0


@keys.command("revoke")
@click.argument("key_id")
@keys_url_option
def revoke_key(key_id: str, url: str) -> int:
    """Revoke a key by its id (Sequence: the client id)."""
    from .http.keys import Keyring

    missing = missing_store(url)
    if missing is not None:
        print(f"error: no live key {key_id!r}: {missing}", file=sys.stderr)
        return 1
    store = open_existing(url)
    try:
        revoked = Keyring(store).revoke(key_id)
    finally:
        store.close()
    if not revoked:
        print(f"error: no live key {key_id!r}", file=sys.stderr)
        return 1
    print(f"revoked {key_id}")
    return 0


# -- migrate --------------------------------------------------------------------------------------


@cli.command()
@url_option
@click.option("--revision", default="head", show_default=True, help="the schema revision to reach ('base': none)")
@click.option("--downgrade", is_flag=True, help="allow going back to an older revision (drops the newer tables)")
def migrate(url: str | None, revision: str, downgrade: bool) -> int:
    """Bring an SQL database's schema to a revision (default: the newest)."""
    from .registry import scheme_of

    target_url = _url(url)
    scheme = scheme_of(target_url)
    if scheme in ("memory", "tinydb") or not (scheme.startswith(("sqlite", "postgresql", "mysql", "mariadb"))):
        raise click.UsageError(f"migrate works on SQL URLs (sqlite, postgresql, mysql); {scheme}:// has no schema")
    try:  # found by name, like every backend (the core imports none)
        migrations: Any = importlib.import_module("metricscore.backends.sql.migrate")
    except ModuleNotFoundError as error:
        raise click.UsageError(f"migrate needs {error.name}: pip install 'metricscore[sql]'") from None
    try:
        reached = migrations.migrate_url(target_url, revision, allow_downgrade=downgrade)
    except migrations.MigrationRefused as error:
        raise click.UsageError(str(error)) from None
    print(f"{target_url}: at revision {reached or 'base'}")
    return 0


# -- the entry point ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (2: a usage mistake, 1: a failure, 130: Ctrl-C)."""
    if CLICK_MISSING:
        print(MISSING_CLICK, file=sys.stderr)
        return 2
    return run(cli, argv, "metricscore")


def run(command: Any, argv: Sequence[str] | None, prog_name: str) -> int:
    """Run a click ``command`` as :func:`main` does: every error one line, the exit status returned."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as error:  # bare `metricscore`: the help, as click shows it
        assert error.ctx is not None
        print(error.ctx.get_help(), file=sys.stderr)
        return 2
    except click.UsageError as error:
        print(f"error: {_one_line(error.format_message())}", file=sys.stderr)
        return 2
    except click.ClickException as error:
        print(f"error: {_one_line(error.format_message())}", file=sys.stderr)
        return error.exit_code
    except click.Abort as error:
        if isinstance(error.__cause__, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            print(INTERRUPTED, file=sys.stderr)
            return 130
        print("error: aborted", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    except ConfigurationError as error:
        print(f"error: {_one_line(str(error))}", file=sys.stderr)
        return 2
    except MetricscoreError as error:
        print(f"error: {_one_line(str(error))}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as error:
        extra = EXTRA_OF_MODULE.get((error.name or "").partition(".")[0])
        if extra is None:
            print(f"error: {type(error).__name__}: {_one_line(str(error))}", file=sys.stderr)
            return 1
        print(f"error: this command needs {error.name}: pip install 'metricscore[{extra}]'", file=sys.stderr)
        return 2
    except Exception as error:  # never a traceback
        print(f"error: {type(error).__name__}: {_one_line(str(error))}", file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0


def migrate_main() -> None:
    """The ``metricscore-migrate`` console script (``python -m metricscore.backends.sql`` under its
    own name); without the ``[sql]`` extra, one line saying what to install instead of a traceback."""
    try:  # found by name, like every backend (the core imports none)
        migrations: Any = importlib.import_module("metricscore.backends.sql.migrate")
    except ModuleNotFoundError as error:
        print(f"error: metricscore-migrate needs {error.name}: pip install 'metricscore[sql]'", file=sys.stderr)
        sys.exit(2)
    try:
        sys.exit(migrations.main(prog="metricscore-migrate"))
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        sys.exit(130)


# Commands from other modules: one `cli.add_command(command)` line each, below.
if not CLICK_MISSING:
    from .translation.cli import translate_command

    cli.add_command(translate_command)

    from .definitions import cli as _definitions  # validate, plan, apply, export, import, schema

    for _command in _definitions.COMMANDS:
        cli.add_command(_command)


if __name__ == "__main__":
    sys.exit(main())
