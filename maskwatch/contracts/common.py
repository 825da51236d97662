"""What every message shares: a schema version, strictness, and one way to decode."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

SCHEMA_VERSION: Literal[1] = 1

DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
DEVICE_ID_RULE = "letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64"
"""DEVICE_ID_PATTERN in words, for the message that refuses an id (a command line, a device's settings)."""
DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
"""Gate and camera ids appear inside MQTT topics, so wildcards and slashes are refused."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Message(BaseModel):
    """Base of every contract.

    Unknown fields are refused so that a typo on a device fails loudly at the
    server instead of being silently ignored; `v` lets a consumer tell which
    schema a payload was written against when a field does change.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    v: Literal[1] = SCHEMA_VERSION

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


class ContractError(ValueError):
    """A payload that is not a valid message; `code` says which way it failed."""

    def __init__(self, code: Literal["not_json", "schema", "bad_frame"], detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


M = TypeVar("M", bound=Message)


def decode(model: type[M], payload: bytes | str) -> M:
    """Parse and validate a payload, raising ContractError with an operator-readable detail."""
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        kinds = {e["type"] for e in exc.errors()}
        if kinds & {"json_invalid", "json_type"}:
            raise ContractError("not_json", "payload is not valid JSON") from exc
        raise _schema_error(model, exc) from exc


def validate_python(model: type[M], document: object) -> M:
    """Validate an already parsed document (a binary frame's metadata with its image put back)."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise _schema_error(model, exc) from exc


def _schema_error(model: type[Message], exc: ValidationError) -> ContractError:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()[:5]
    )
    return ContractError("schema", f"{model.__name__} invalid: {problems}")
