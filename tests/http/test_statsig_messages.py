"""Every message string the Statsig routes answer with, as Statsig's seed pages and published spec
write them (/work/shared/seeds/statsig-*.md|txt, vendor-behaviour.md section 5)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import metricscore as mc
from metricscore.http import App, Request
from metricscore.testing.clock import FakeClock

SEED = json.loads(Path(__file__).with_name("statsig_create_metric.json").read_text())


def test_every_statsig_message() -> None:
    clock = FakeClock()
    app = App(mc.open_store("memory://", clock=clock), statsig_limits=())
    key = app.keys.create_statsig_key(project_id="p")

    def send(method: str, path: str, body: Any = None, query: str = "", token: str = key.token) -> tuple[int, Any]:
        raw = b"" if body is None else json.dumps(body).encode()
        response = app.handle(Request(method, path, query=query, headers={"STATSIG-API-KEY": token}, body=raw))
        return response.status, response.json()

    def message(reply: tuple[int, Any]) -> tuple[int, str]:
        return reply[0], reply[1]["message"]

    root = "/console/v1/metrics"
    item = f"{root}/metricName::sum"
    assert message(send("POST", root, {**SEED, "dryRun": False})) == (201, "Metric created successfully.")
    assert message(send("GET", item)) == (200, "Metric read successfully.")
    assert message(send("GET", f"{root}/metricName/sum")) == (200, "Metric read successfully.")
    assert message(send("GET", f"{root}/list")) == (200, "Metrics listed successfully.")
    assert message(send("POST", item, {"description": "d"})) == (200, "Metric updated successfully.")
    assert message(send("PUT", f"{item}/schedule_archive")) == (
        200,
        "Metric archive scheduled successfully for next day.",
    )
    assert message(send("PUT", f"{item}/cancel_archive")) == (200, "Metric archival cancelled successfully.")
    assert send("PUT", f"{item}/schedule_archive")[0] == 200
    clock.advance(timedelta(days=2))
    assert message(send("PUT", f"{item}/unarchive")) == (200, "Metric unarchived successfully.")
    assert message(send("DELETE", item)) == (200, "Metric deleted successfully.")
    assert send("GET", item) == (
        404,
        {"status": 404, "message": "Not Found. The requested resource could not be found."},
    )
    assert message(send("POST", root, {"name": "x"})) == (
        400,
        "Invalid request. Please check the request input and try again.",
    )
    assert send("GET", item, token="console-nope") == (
        401,
        {
            "status": 401,
            "message": "This endpoint only accepts an active CONSOLE key, but an invalid key was sent. "
            "Key: console-nope",
        },
    )
