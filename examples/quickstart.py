"""Embed metricscore in a program: the embedded default store (SQLite), one resource end to end.

Run: python examples/quickstart.py [STORE_URL]
(default: a fresh SQLite file in a temporary folder; try memory:// or tinydb:///tmp/demo.json)
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import metricscore as mc
from metricscore.dialects.posthog import render_error


def show(title: str, value: object) -> None:
    print(f"\n# {title}\n{json.dumps(value, indent=2, ensure_ascii=False)}")


def main(url: str) -> None:
    with mc.open_store(url) as store:
        accounts = store.posthog.accounts(project_id=1)
        acme = accounts.create({"name": "  Acme  ", "tags": ["Enterprise", "enterprise ", "EU"]}, actor_id=7)
        show("create: name trimmed, tags normalised, read-only fields derived", acme)
        accounts.create({"name": "Globex", "external_id": "gx-1", "properties": {"csm": {"id": 3, "email": "c@x.io"}}})
        accounts.create({"name": "Initech", "tags": ["eu"]})

        page = accounts.list(tags='["eu"]', ordering="name", limit=1)
        show(
            'list ?tags=["eu"]&ordering=name&limit=1',
            page.envelope("https://app.example/api/environments/1/accounts/?tags=%5B%22eu%22%5D&ordering=name&limit=1"),
        )
        show("list ?csm=3", [a["name"] for a in accounts.list(csm="3").results])

        show("update (PATCH)", accounts.update(acme["id"], {"name": "Acme Inc"}))

        try:
            accounts.create({"name": "", "tags": "not-a-list", "properties": {"plan": "pro"}})
        except mc.ValidationError as error:
            show("every bad field, at once", error.errors)
            status, body = render_error(error)
            show(f"as PostHog answers it (HTTP {status})", body)

        try:
            accounts.create({"name": "Dup", "external_id": "gx-1"})
        except mc.Conflict as error:
            show("unique external_id", {"status": error.status, "detail": str(error)})

        accounts.delete(acme["id"])
        show("after delete", {"count": accounts.list().count})


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'metricscore-demo.db'}"
            print(f"store: {url}")
            main(url)
