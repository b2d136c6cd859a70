"""The ``metricscore`` command: run the reference server, manage API keys.

::

    metricscore serve [--url URL] [--host 127.0.0.1] [--port 8000] [--workers 2]
    metricscore keys create posthog --scopes account:read,account:write --projects 1 [--user-id 7]
    metricscore keys create sequence --account ACCOUNT_ID
    metricscore keys create statsig --project PROJECT_ID [--name NAME]
    metricscore keys list
    metricscore keys revoke KEY_ID

The store URL comes from ``--url``, else the ``METRICSCORE_URL`` environment variable, else the
embedded default :data:`DEFAULT_URL` (an SQLite file in the current directory).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from .errors import MetricscoreError

__all__ = ["DEFAULT_URL", "main"]

DEFAULT_URL = "sqlite:///metricscore.db"
URL_VARIABLE = "METRICSCORE_URL"


def _url(args: argparse.Namespace) -> str:
    return str(args.url or os.environ.get(URL_VARIABLE) or DEFAULT_URL)


def _open(url: str) -> Any:
    from .store import open_store

    return open_store(url)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="metricscore", description="metricscore reference server and API keys.")
    commands = parser.add_subparsers(dest="command", required=True)

    def add_url(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--url", help=f"store URL (default: ${URL_VARIABLE} or {DEFAULT_URL})")

    serve = commands.add_parser("serve", help="run the HTTP server under gunicorn")
    add_url(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    serve.add_argument("--access-log", action="store_true", help="log every request to stderr")
    serve.add_argument(
        "--key-cache-seconds",
        type=float,
        default=1.0,
        help="trust a verified API key this long per worker (a revocation applies within it; 0: never cache)",
    )
    serve.add_argument(
        "--statsig-limits",
        default=None,
        help="Statsig mutation limits as LIMIT/SECONDS pairs, e.g. '100/10,900/900'; 'off' disables",
    )

    keys = commands.add_parser("keys", help="create, list and revoke API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="create a key and print it (once)")
    create.add_argument("kind", choices=("posthog", "sequence", "statsig"))
    add_url(create)
    create.add_argument("--name", default="", help="a label (Statsig: shown as creatorName)")
    create.add_argument("--scopes", default="", help="PostHog: comma-separated scopes, or '*'")
    create.add_argument("--projects", default=None, help="PostHog: comma-separated project ids (default: all)")
    create.add_argument("--user-id", type=int, default=None, help="PostHog: user id recorded as created_by")
    create.add_argument("--account", default=None, help="Sequence: the sequenceAccountId")
    create.add_argument("--project", default=None, help="Statsig: the project id")
    create.add_argument("--json", action="store_true", help="print JSON")
    listing = key_commands.add_parser("list", help="list keys (never their secrets)")
    add_url(listing)
    listing.add_argument("--all", action="store_true", help="include revoked keys")
    revoke = key_commands.add_parser("revoke", help="revoke a key by its id (Sequence: the client id)")
    add_url(revoke)
    revoke.add_argument("key_id")
    return parser


def parse_limits(text: str | None) -> Any:
    """``'100/10,900/900'`` -> windows; ``None`` -> Statsig's defaults; ``'off'`` -> none."""
    from .http.ratelimit import STATSIG_LIMITS, Window

    if text is None:
        return STATSIG_LIMITS
    if text.strip().lower() in ("off", "none", ""):
        return ()
    windows = []
    for part in text.split(","):
        limit, _, seconds = part.strip().partition("/")
        windows.append(Window(int(limit), int(seconds)))
    return tuple(windows)


def _create_key(args: argparse.Namespace) -> int:
    from .http.keys import Keyring

    store = _open(_url(args))
    try:
        keyring = Keyring(store)
        if args.kind == "posthog":
            scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
            if not scopes:
                print("error: --scopes is required for a PostHog key", file=sys.stderr)
                return 2
            projects = None if args.projects in (None, "", "*") else [int(p) for p in args.projects.split(",")]
            new = keyring.create_posthog_key(scopes=scopes, projects=projects, name=args.name, user_id=args.user_id)
            out = {"key_id": new.key_id, "token": new.token, "header": f"Authorization: Bearer {new.token}"}
        elif args.kind == "sequence":
            if not args.account:
                print("error: --account is required for Sequence credentials", file=sys.stderr)
                return 2
            new = keyring.create_sequence_credentials(account_id=args.account, name=args.name)
            basic = base64.b64encode(f"{new.client_id}:{new.client_secret}".encode()).decode("ascii")
            out = {
                "key_id": new.key_id,
                "client_id": new.client_id,
                "client_secret": new.client_secret,
                "header": f"Authorization: Basic {basic}",
            }
        else:
            if not args.project:
                print("error: --project is required for a Statsig key", file=sys.stderr)
                return 2
            new = keyring.create_statsig_key(project_id=args.project, name=args.name)
            out = {"key_id": new.key_id, "token": new.token, "header": f"STATSIG-API-KEY: {new.token}"}
    finally:
        store.close()
    if args.json:
        print(json.dumps(out))
    else:
        for name, value in out.items():
            print(f"{name}: {value}")
        print("# The secret is shown only now; it is stored hashed.", file=sys.stderr)
    return 0


def _list_keys(args: argparse.Namespace) -> int:
    from .http.keys import Keyring

    store = _open(_url(args))
    try:
        for key in Keyring(store).list(include_revoked=args.all):
            print(json.dumps(key.as_dict()))
    finally:
        store.close()
    return 0


def _revoke_key(args: argparse.Namespace) -> int:
    from .http.keys import Keyring

    store = _open(_url(args))
    try:
        revoked = Keyring(store).revoke(args.key_id)
    finally:
        store.close()
    if not revoked:
        print(f"error: no live key {args.key_id!r}", file=sys.stderr)
        return 1
    print(f"revoked {args.key_id}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    try:
        from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]
    except ModuleNotFoundError:
        print("error: the server needs gunicorn: pip install 'metricscore[server]'", file=sys.stderr)
        return 2
    url = _url(args)
    limits = parse_limits(args.statsig_limits)
    # Open once in the master: a bad URL fails here, and the schema is created before any worker.
    _open(url).close()

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", max(1, args.workers))
            self.cfg.set("worker_class", "sync")
            self.cfg.set("proc_name", "metricscore")
            if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 25.1: no shared socket
                self.cfg.set("control_socket_disable", True)
            if args.access_log:
                self.cfg.set("accesslog", "-")

        def load(self) -> Any:  # runs in each worker (no preload): one store per process
            from .http.core import App
            from .http.wsgi import wsgi_app

            return wsgi_app(App(_open(url), statsig_limits=limits, key_cache_seconds=args.key_cache_seconds))

    print(f"metricscore serving {url} on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    Server().run()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.keys_command == "create":
            return _create_key(args)
        if args.keys_command == "list":
            return _list_keys(args)
        return _revoke_key(args)
    except (MetricscoreError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
