"""Devices without MQTT: POST a photo, get the verdict that the same queue and policy produced."""

from __future__ import annotations

import httpx
import pytest

from maskwatch.broker_accounts import write_password
from stack.demo.sample_faces import sample_jpeg

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def stack_settings(stack_settings, tmp_path):
    passwd = tmp_path / "passwd"
    write_password(passwd, "kiosk-1", "kiosk-secret")
    return stack_settings.model_copy(
        update={
            "provisioning": stack_settings.provisioning.model_copy(update={"mosquitto_passwd_file": passwd}),
        }
    )


async def test_http_check_gets_the_verdict(stack):
    base_url = f"http://127.0.0.1:{stack.settings.ingest.http_port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        url = "/api/v1/gates/kiosk-1/checks"
        files = {"image": ("p.jpg", sample_jpeg("no_mask"), "image/jpeg")}
        ok = await http.post(
            url, files=files, data={"temperature_c": "36.6"}, auth=("kiosk-1", "kiosk-secret")
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["decision"] == "deny"
        assert ok.json()["reasons"] == ["no_mask"]
        assert ok.json()["gate_id"] == "kiosk-1"

        bad_image = {"image": ("p.jpg", b"\xff\xd8\xff\xe0 broken", "image/jpeg")}
        rejected = await http.post(url, files=bad_image, auth=("kiosk-1", "kiosk-secret"))
        assert rejected.status_code == 422
        assert rejected.json()["code"] == "bad_image"

        wrong = await http.post(url, files=files, auth=("kiosk-1", "nope"))
        assert wrong.status_code == 401
        other_gate = await http.post(
            "/api/v1/gates/kiosk-2/checks", files=files, auth=("kiosk-1", "kiosk-secret")
        )
        assert other_gate.status_code == 401
        nan = await http.post(
            url, files=files, data={"temperature_c": "nan"}, auth=("kiosk-1", "kiosk-secret")
        )
        assert nan.status_code == 422
