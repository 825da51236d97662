"""The binary frame (device contract 1) and today's JSON payload (device contract 0) both decode to the
same check; a truncated or garbled frame is refused with `bad_frame`, never guessed at."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from maskwatch.contracts import CameraFrame, ContractError, GateCheck, TemperatureReading
from maskwatch.contracts.binary_frame import (
    HEADER,
    MAGIC,
    decode_device_payload,
    encode_device_payload,
    join_image,
    pack,
    split_image,
)

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40 + b"\xff\xd9"


def a_check() -> GateCheck:
    return GateCheck(
        gate_id="door-1",
        check_id=uuid4(),
        captured_at=datetime.now(UTC),
        image_jpeg=JPEG,
        temperature=TemperatureReading(corrected_c=36.6),
    )


def test_a_binary_frame_and_a_json_payload_decode_to_the_same_check() -> None:
    check = a_check()
    frame = encode_device_payload(check)
    assert frame.startswith(MAGIC)
    assert JPEG in frame  # the image as it is, not base64
    assert b"image_jpeg" not in frame
    assert len(frame) < len(check.to_json())
    assert decode_device_payload(GateCheck, frame) == check
    assert decode_device_payload(GateCheck, check.to_json()) == check


def test_camera_frames_travel_the_same_way() -> None:
    frame = CameraFrame(camera_id="hall", frame_id=uuid4(), captured_at=datetime.now(UTC), image_jpeg=JPEG)
    assert decode_device_payload(CameraFrame, encode_device_payload(frame)) == frame


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (MAGIC, "truncated"),
        (MAGIC + b"\x01\x00\x00", "truncated"),
        (HEADER.pack(MAGIC, 1, 5000) + b'{"v":1}', "announces 5000"),
        (HEADER.pack(MAGIC, 1, 0xFFFFFFFF), "announces"),
        (HEADER.pack(MAGIC, 9, 2) + b"{}", "version 9"),
    ],
)
def test_a_truncated_or_garbled_header_is_refused_as_bad_frame(payload: bytes, words: str) -> None:
    with pytest.raises(ContractError) as refused:
        decode_device_payload(GateCheck, payload)
    assert refused.value.code == "bad_frame"
    assert words in refused.value.detail


def test_metadata_is_held_to_the_contract_schema() -> None:
    check = a_check()
    metadata, image = split_image(check)
    with pytest.raises(ContractError) as not_json:
        decode_device_payload(GateCheck, pack(b"{not json", image))
    assert not_json.value.code == "not_json"
    with pytest.raises(ContractError) as typo:
        decode_device_payload(GateCheck, pack(metadata.replace(b'"gate_id"', b'"gate"'), image))
    assert typo.value.code == "schema"
    with pytest.raises(ContractError) as twice:
        decode_device_payload(GateCheck, pack(check.to_json(), image))
    assert "not inside it" in twice.value.detail
    with pytest.raises(ContractError) as empty:
        decode_device_payload(GateCheck, pack(metadata, b""))
    assert empty.value.code == "schema"


def test_an_image_nested_in_an_envelope_is_split_and_joined_back() -> None:
    from maskwatch.contracts import ReceivedGateCheck

    received = ReceivedGateCheck(check=a_check(), received_at=datetime.now(UTC))
    data, image = split_image(received, ("check", "image_jpeg"))
    assert image == JPEG
    assert b"image_jpeg" not in data
    assert join_image(ReceivedGateCheck, data, image, ("check", "image_jpeg")) == received
