"""The HTTP door for devices that cannot speak MQTT: POST a photo and a temperature, get the verdict.

The request is turned into the same GateCheck a Pi would publish and sent on
the gate's MQTT topic, so it passes the same validation, queue and policy; the
answer is the Verdict (200) or the Rejection (422) the gate would have received.

The door is on the network and FastAPI reads a multipart body whole before the
gate's password is checked, so bodies are capped (413, see maskwatch.body_limit)
a little above the largest image a check may carry: an anonymous client cannot
make it buffer more than that.
"""

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import uuid4

import aiomqtt
from fastapi import Depends, FastAPI, File, Form, HTTPException, Path, UploadFile, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from maskwatch.answers import Answer, PendingAnswers
from maskwatch.body_limit import BodyLimit
from maskwatch.broker_accounts import verify_password
from maskwatch.contracts import ContractError, GateCheck, Rejection, TemperatureReading
from maskwatch.contracts.binary_frame import encode_device_payload
from maskwatch.contracts.common import utc_now
from maskwatch.contracts.gate_check import MAX_IMAGE_BYTES
from maskwatch.mqtt import MqttSettings, mqtt_client, run_connected
from maskwatch.topics import Topics
from services.ingest.settings import HttpDeviceAuth

log = logging.getLogger(__name__)

FORM_ALLOWANCE_BYTES = 64 * 1024
"""Room around the image in a multipart body: boundaries, part headers, the temperature field."""
MAX_BODY_BYTES = MAX_IMAGE_BYTES + FORM_ALLOWANCE_BYTES
"""The largest request body read: an image at the check's limit, with its form around it."""


class VerdictRelay:
    """One broker connection that publishes checks and hands each answer to the request awaiting it.

    The connection is kept up by `run_connected`: after a broker restart it reconnects with capped
    backoff, and meanwhile a check is answered 503 ("try again") rather than failing for good."""

    def __init__(self, mqtt: MqttSettings, *, client_prefix: str) -> None:
        self._mqtt = mqtt
        self._client_prefix = client_prefix
        self._topics = Topics(mqtt.topic_root)
        self._answers = PendingAnswers(self._topics)
        self._client: aiomqtt.Client | None = None
        self.connected = asyncio.Event()
        self._identifier = f"{client_prefix}-http-{secrets.token_hex(3)}"

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        stop = asyncio.Event()
        keeper = asyncio.create_task(
            run_connected("http checks", self._session, stop, connected=self.connected)
        )
        try:
            with contextlib.suppress(TimeoutError):  # not yet: checks answer 503 until it is
                await asyncio.wait_for(self.connected.wait(), timeout=10)
            yield
        finally:
            stop.set()
            await keeper

    async def _session(self) -> None:
        async with mqtt_client(self._mqtt, identifier=self._identifier) as client:
            await client.subscribe(self._topics.gate_verdict.filter(), qos=1)
            await client.subscribe(self._topics.gate_rejected.filter(), qos=1)
            self._client = client
            self.connected.set()
            try:
                await self._listen(client)
            finally:
                self._client = None

    async def _listen(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            topic = str(message.topic)
            payload = message.payload if isinstance(message.payload, bytes | str) else b""
            try:
                answer = self._answers.decode(topic, payload)
            except ContractError:
                continue
            if answer is not None:
                self._answers.resolve(answer)

    async def check(self, check: GateCheck, timeout: float) -> Answer:
        if self._client is None:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "not connected to the broker; try again",
                headers={"Retry-After": "2"},
            )
        with self._answers.expecting(check.check_id) as future:
            try:
                topic = self._topics.gate_check.format(gate_id=check.gate_id)
                await self._client.publish(topic, encode_device_payload(check), qos=1)
                return await asyncio.wait_for(future, timeout)
            except TimeoutError as exc:
                raise HTTPException(
                    status.HTTP_504_GATEWAY_TIMEOUT, f"no verdict within {timeout:.0f}s"
                ) from exc


def create_check_app(
    mqtt: MqttSettings,
    auth: HttpDeviceAuth,
    *,
    client_prefix: str,
    verdict_timeout_s: float = 10.0,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    relay = VerdictRelay(mqtt, client_prefix=client_prefix)
    passwd_file = auth.passwd_file
    basic = HTTPBasic(auto_error=False)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if not passwd_file.exists():
            log.warning(
                "HTTP checks: no gate account yet (%s); provision one with `maskwatch device add`",
                passwd_file,
            )
        async with relay.running():
            yield

    app = FastAPI(title="Maskwatch device check endpoint", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)

    def authorised_gate(
        gate_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")],
        credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)],
    ) -> str:
        if (
            credentials is None
            or credentials.username != gate_id
            or not verify_password(passwd_file, credentials.username, credentials.password)
        ):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "sign in with the gate's own id and password",
                headers={"WWW-Authenticate": 'Basic realm="maskwatch-gates"'},
            )
        return gate_id

    @app.post("/api/v1/gates/{gate_id}/checks", response_model=None)
    async def post_check(
        gate_id: Annotated[str, Depends(authorised_gate)],
        image: Annotated[UploadFile, File(description="JPEG (or PNG) photo of the person")],
        temperature_c: Annotated[float | None, Form(allow_inf_nan=False)] = None,
    ) -> Any:
        """Check one person, as a gate would over MQTT; answers with the verdict."""
        data = await image.read(MAX_IMAGE_BYTES + 1)
        if len(data) > MAX_IMAGE_BYTES:
            raise HTTPException(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"image over {MAX_IMAGE_BYTES} bytes"
            )
        if not data:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "image is empty")
        try:
            reading = TemperatureReading(corrected_c=temperature_c) if temperature_c is not None else None
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"temperature_c: {exc}") from exc
        check = GateCheck(
            gate_id=gate_id, check_id=uuid4(), captured_at=utc_now(), image_jpeg=data, temperature=reading
        )
        answer = await relay.check(check, verdict_timeout_s)
        body = answer.model_dump(mode="json")
        code = status.HTTP_422_UNPROCESSABLE_CONTENT if isinstance(answer, Rejection) else status.HTTP_200_OK
        return JSONResponse(body, status_code=code)

    return app
