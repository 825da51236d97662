"""Mosquitto restarted under load: the gates' checks it had taken are still answered and stored (the
services' persistent sessions and ingest's manual acknowledgements), and the HTTP check door, which
answers 503 meanwhile, takes checks again once the broker is back."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from stack.demo.sample_faces import sample_jpeg

pytestmark = pytest.mark.timeout(420)

OUTAGE_S = 3.0
HTTP_RECOVERY_WAIT_S = 90.0


async def test_mosquitto_restarted_under_load_loses_nothing_and_both_doors_recover(drill):
    await drill.start()
    load = drill.load()
    await drill.until_sent(10)
    drill.broker.stop()
    await asyncio.sleep(OUTAGE_S)
    drill.broker.start()
    await drill.finish("mosquitto restarted", load)
    assert await http_check_answered(drill, "gate-1")


async def http_check_answered(drill, gate_id: str) -> bool:
    """A check through the HTTP door gets its verdict, within a bounded number of tries."""
    url = f"http://127.0.0.1:{drill.http_port}/api/v1/gates/{gate_id}/checks"
    auth = (gate_id, drill.passwords[gate_id])
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(int(HTTP_RECOVERY_WAIT_S / 0.5)):
            files = {"image": ("p.jpg", sample_jpeg("mask"), "image/jpeg")}
            answer = await http.post(url, files=files, data={"temperature_c": "36.6"}, auth=auth)
            if answer.status_code == 200:
                print(f"http door after the restart: {answer.json()['decision']}")
                return True
            assert answer.status_code == 503, answer.text  # "try again", never an error
            await asyncio.sleep(0.5)
    return False
