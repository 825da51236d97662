"""Every number a device sends is a JSON number, never a string guessed into one.

A gate or camera that sends `"fps": "5"` or `"corrected_c": "36.6"` has a bug
(a formatting slip, a firmware sending text): coercing would hide it until a
value that does not parse arrives. Temperatures were strict first; these tests
hold every measurement in every device-sent contract to the same rule, and
fail when a new numeric field is added without being held to it.
"""

from __future__ import annotations

import base64
import json
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Union, get_args, get_origin
from uuid import uuid4

import pytest
from pydantic import BaseModel

from maskwatch.contracts import (
    CameraFrame,
    CameraStatus,
    ContractError,
    GateCheck,
    GateCommandAck,
    GateStatus,
    Message,
    decode,
)
from maskwatch.contracts.binary_frame import decode_device_payload, pack, split_image
from maskwatch.topics import Topics

DEVICE_SENT: tuple[type[Message], ...] = (GateCheck, GateStatus, GateCommandAck, CameraFrame, CameraStatus)
"""What gates and cameras publish (the topics a device may write, maskwatch/topics.py)."""

MEASUREMENTS: dict[tuple[str, ...], Any] = {
    ("GateCheck", "temperature", "corrected_c"): 36.6,
    ("GateCheck", "temperature", "samples_c"): [36.5, 36.6],
    ("GateCheck", "temperature", "ambient_c"): 22.0,
    ("CameraStatus", "fps"): 5.0,
    ("CameraStatus", "frames_dropped"): 3,
}
"""Every numeric field of a device-sent contract, with a valid value."""


def _leaf_types(annotation: Any) -> Iterator[Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        yield from _leaf_types(get_args(annotation)[0])
    elif origin in (Union, types.UnionType, list, tuple, dict):
        for arg in get_args(annotation):
            yield from _leaf_types(arg)
    else:
        yield annotation


def _numeric_fields(model: type[BaseModel], path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    for name, info in model.model_fields.items():
        for leaf in _leaf_types(info.annotation):
            if leaf in (int, float):
                yield (*path, name)
            elif isinstance(leaf, type) and issubclass(leaf, BaseModel):
                yield from _numeric_fields(leaf, (*path, name))


def test_every_numeric_field_a_device_sends_is_in_the_strict_table():
    """A new measurement must join MEASUREMENTS (and so the strictness tests below) to pass."""
    found = {path for model in DEVICE_SENT for path in _numeric_fields(model, (model.__name__,))}
    assert found == set(MEASUREMENTS)


def test_the_device_sent_contracts_are_the_ones_devices_may_publish():
    writable = {t.pattern.split("/")[-1] for t in Topics().templates() if "write" in t.device_access}
    assert writable == {"check", "status", "command_ack", "frame"}


def _payload(contract: str, path: tuple[str, ...], value: Any) -> bytes:
    if contract == "GateCheck":
        body: dict[str, Any] = {
            "gate_id": "entrance-1",
            "check_id": str(uuid4()),
            "captured_at": datetime.now(UTC).isoformat(),
            "image_jpeg": base64.b64encode(b"\xff\xd8\xff fake").decode(),
            "temperature": {"corrected_c": 36.6},
        }
    else:
        body = {"camera_id": "cam-1", "state": "online", "at": datetime.now(UTC).isoformat()}
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(body).encode()


def _as_text(value: Any) -> Any:
    return [str(v) for v in value] if isinstance(value, list) else str(value)


CONTRACTS: dict[str, type[Message]] = {"GateCheck": GateCheck, "CameraStatus": CameraStatus}


@pytest.mark.parametrize("path", list(MEASUREMENTS), ids=".".join)
def test_a_measurement_sent_as_a_string_is_refused(path):
    contract, *field = path
    value = MEASUREMENTS[path]
    accepted = decode(CONTRACTS[contract], _payload(contract, tuple(field), value))
    assert accepted is not None
    with pytest.raises(ContractError) as err:
        decode(CONTRACTS[contract], _payload(contract, tuple(field), _as_text(value)))
    assert err.value.code == "schema"
    assert ".".join(field) in err.value.detail


@pytest.mark.parametrize(
    ("field", "value"),
    [("fps", "5"), ("frames_dropped", "3"), ("frames_dropped", 3.5), ("frames_dropped", True), ("fps", True)],
)
def test_camera_status_numbers_are_numbers(field, value):
    with pytest.raises(ContractError, match=field):
        decode(CameraStatus, _payload("CameraStatus", (field,), value))


def test_a_json_integer_is_a_valid_float_measurement():
    status = decode(CameraStatus, _payload("CameraStatus", ("fps",), 5))
    assert status.fps == 5.0
    check = decode(GateCheck, _payload("GateCheck", ("temperature", "corrected_c"), 37))
    assert check.temperature is not None
    assert check.temperature.corrected_c == 37.0


def test_a_binary_frame_is_held_to_the_same_rule():
    """A gate's binary frame carries its metadata as JSON beside the image: strict there too."""
    check = decode(GateCheck, _payload("GateCheck", ("temperature", "corrected_c"), 36.6))
    metadata, image = split_image(check)
    assert decode_device_payload(GateCheck, pack(metadata, image)) == check
    document = json.loads(metadata)
    document["temperature"]["corrected_c"] = "36.6"
    with pytest.raises(ContractError) as err:
        decode_device_payload(GateCheck, pack(json.dumps(document).encode(), image))
    assert err.value.code == "schema"
    assert "temperature.corrected_c" in err.value.detail
