"""The live stream, over a real HTTP server: new checks and alerts of the caller's sites, nothing else."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn

from maskwatch.contracts import Decision, Reason
from services.api.config import ApiSettings
from tests.api.conftest import build_world, verdict
from tests.ports import free_port


@pytest.fixture
def served(new_postgres, password_hash):
    world = build_world(new_postgres(), password_hash, ApiSettings(events_poll_s=0.1))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(world.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield world, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    world.engine.dispose()


def read_events(response, wanted: int, timeout_s: float = 10.0) -> list[tuple[str, dict]]:
    events: list[tuple[str, dict]] = []
    kind = None
    deadline = time.monotonic() + timeout_s
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: ") and kind:
            events.append((kind, json.loads(line.removeprefix("data: "))))
            if len(events) >= wanted:
                break
        if time.monotonic() > deadline:
            break
    return events


def test_a_viewer_sees_new_checks_and_alerts_of_their_site_only(served):
    world, base = served
    headers = {"Authorization": f"Bearer {world.tokens['viewer_a']}"}
    with (
        httpx.Client(base_url=base, timeout=httpx.Timeout(10.0)) as client,
        client.stream("GET", "/api/v1/events", headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        time.sleep(0.3)  # the stream has taken note of what already exists
        now = datetime.now(UTC)
        other_site = verdict("b-1", now)
        mine = verdict("a-1", now, Decision.DENY, [Reason.NO_MASK])
        world.write(other_site, mine)
        world.new_alert("b")
        alert_id = world.new_alert("a")
        events = read_events(response, wanted=2)
    assert [d["check_id"] for k, d in events if k == "check"] == [str(mine.check_id)]
    check = next(d for k, d in events if k == "check")
    assert check == check | {"gate_id": "a-1", "site_id": "a", "decision": "deny", "reasons": ["no_mask"]}
    alert = next(d for k, d in events if k == "alert")
    assert alert["alert_id"] == alert_id
    assert alert["site_id"] == "a"
    assert all(d["site_id"] == "a" for _, d in events)


def test_acknowledgements_are_streamed(served):
    world, base = served
    headers = {"Authorization": f"Bearer {world.tokens['root']}"}
    with (
        httpx.Client(base_url=base, timeout=httpx.Timeout(10.0)) as client,
        client.stream("GET", "/api/v1/events", headers=headers) as response,
    ):
        time.sleep(0.3)
        acked = client.post(f"/api/v1/alerts/{world.alerts['b']}/acknowledge", headers=headers)
        assert acked.status_code == 200
        events = read_events(response, wanted=1)
    assert events[0][0] == "alert_acknowledged"
    assert events[0][1]["alert_id"] == world.alerts["b"]
