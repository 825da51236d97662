import base64
import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from maskwatch.contracts import (
    AnalyzedFace,
    ContractError,
    GateCheck,
    GateStatus,
    Rejection,
    TemperatureReading,
    decode,
)
from maskwatch.contracts.gate_check import MAX_IMAGE_BYTES


def check_payload(**overrides):
    body = {
        "v": 1,
        "gate_id": "entrance-1",
        "check_id": str(uuid4()),
        "captured_at": datetime.now(UTC).isoformat(),
        "image_jpeg": base64.b64encode(b"\xff\xd8\xff fake").decode(),
        "temperature": {"corrected_c": 36.6, "samples_c": [36.5, 36.6], "ambient_c": 22.0},
    }
    body.update(overrides)
    return json.dumps(body).encode()


def test_gate_check_round_trips_through_json():
    check = GateCheck(
        gate_id="g1",
        check_id=uuid4(),
        captured_at=datetime.now(UTC),
        image_jpeg=b"\xff\xd8\xffjpeg-bytes",
        temperature=TemperatureReading(corrected_c=36.4),
    )
    again = decode(GateCheck, check.to_json())
    assert again == check
    assert again.image_jpeg == b"\xff\xd8\xffjpeg-bytes"


def test_not_json_is_reported_as_such():
    with pytest.raises(ContractError) as err:
        decode(GateCheck, b"\x00garbage{")
    assert err.value.code == "not_json"


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"temperature": {"corrected_c": "NaN"}}, "temperature.corrected_c"),
        ({"temperature": {"corrected_c": "Infinity"}}, "temperature.corrected_c"),
        ({"image_jpeg": "***not base64***"}, "image_jpeg"),
        ({"image_jpeg": ""}, "image_jpeg"),
        ({"gate_id": "a/b"}, "gate_id"),
        ({"gate_id": "+"}, "gate_id"),
        ({"check_id": "not-a-uuid"}, "check_id"),
        ({"captured_at": "2026-01-01T00:00:00"}, "captured_at"),
        ({"unexpected": 1}, "unexpected"),
        ({"v": 2}, "v"),
    ],
)
def test_schema_violations_name_the_field(override, fragment):
    with pytest.raises(ContractError) as err:
        decode(GateCheck, check_payload(**override))
    assert err.value.code == "schema"
    assert fragment in err.value.detail


def test_oversized_image_is_refused():
    big = base64.b64encode(b"x" * (MAX_IMAGE_BYTES + 1)).decode()
    with pytest.raises(ContractError) as err:
        decode(GateCheck, check_payload(image_jpeg=big))
    assert "limit" in err.value.detail


def test_last_will_payload_is_a_valid_status():
    status = decode(GateStatus, b'{"v": 1, "gate_id": "g1", "state": "offline"}')
    assert status.state == "offline"
    assert status.at is None


def test_rejection_without_check_id():
    rejection = Rejection.model_validate(
        {"gate_id": "g1", "received_at": datetime.now(UTC), "code": "not_json", "detail": "x", "topic": "t"}
    )
    assert decode(Rejection, rejection.to_json()).check_id is None


def test_a_face_without_the_nose_answer_reads_as_before():
    """Gates of earlier versions refuse unknown fields: a face the nose probe was not asked about (and
    every face in a verdict) serialises without the field."""
    face = AnalyzedFace(box=(1, 2, 30, 40), label="mask", score=0.9, detector_score=0.8)
    assert set(json.loads(face.to_json())) == {"v", "box", "label", "score", "detector_score"}
    asked = face.model_copy(update={"nose_uncovered": True})
    assert json.loads(asked.to_json())["nose_uncovered"] is True
    assert AnalyzedFace.model_validate_json(asked.to_json()) == asked
