"""The gate's main loop: wait for a person, check them, act on the server's answer.

Entry is fail-secure: the gate opens only on an `open` verdict for the check it
sent, on a fresh operator command, or, while the broker is unreachable, when the
venue chose `offline_policy: allow`. A timeout, a rejection or a camera failure
keeps it closed. Exit (egress) must never depend on this system; see docs/devices.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from uuid import uuid4

import aiomqtt

from devices.gate_agent.client import GateClient
from devices.gate_agent.settings import AgentSettings
from devices.gate_agent.spool import Spool
from devices.hardware.camera import CameraError
from devices.hardware.config import Hardware
from devices.hardware.indicators import IndicatorState
from devices.hardware.thermometer import ThermometerError
from maskwatch.contracts import (
    CommandOutcome,
    Decision,
    GateCheck,
    GateCommand,
    GateConfig,
    Rejection,
    SensorState,
    TemperatureReading,
    Verdict,
)
from maskwatch.contracts.common import utc_now
from maskwatch.contracts.gate_check import OfflineDecision
from maskwatch.contracts.gate_command import COMMAND_TTL_S
from maskwatch.contracts.reason_texts import reason_text
from maskwatch.mqtt import run_connected

log = logging.getLogger(__name__)

Result = Literal[
    "opened", "denied", "rejected", "timeout", "camera_failed", "offline_opened", "offline_denied"
]


@dataclass(frozen=True)
class CheckOutcome:
    result: Result
    message: str


class GateAgent:
    def __init__(self, settings: AgentSettings, hardware: Hardware) -> None:
        self.settings = settings
        self.hardware = hardware
        self.spool = Spool(settings.spool_dir)
        self.outcomes: list[CheckOutcome] = []
        self.commands: list[GateCommand] = []
        self.sensors: dict[str, SensorState] = {}
        """Each sensor's last result, reported in the gate's status for the console."""
        self.connected = asyncio.Event()
        self._client: GateClient | None = None
        self._gate_lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()

    @property
    def gate_id(self) -> str:
        return self.settings.gate_id

    async def run(self, stop: asyncio.Event, *, max_checks: int | None = None) -> None:
        """Serve people until `stop` (or `max_checks` checks, for tests and commissioning)."""
        self.hardware.gate.close()
        self.hardware.indicator.show(IndicatorState.IDLE)
        connection_stop = asyncio.Event()
        connection = asyncio.create_task(self._stay_connected(connection_stop))
        with contextlib.suppress(TimeoutError):  # at boot, give the broker a moment before the first person
            await asyncio.wait_for(self.connected.wait(), timeout=self.settings.verdict_timeout_s)
        try:
            while not stop.is_set() and (max_checks is None or len(self.outcomes) < max_checks):
                if await asyncio.to_thread(self.hardware.trigger.wait, 0.5):
                    self.outcomes.append(await self.check_once())
        finally:
            connection_stop.set()
            await connection

    # -- the connection ------------------------------------------------------------------------

    async def _stay_connected(self, stop: asyncio.Event) -> None:
        """Keep a broker connection, reconnecting with capped backoff; flush the spool on each connect."""
        await run_connected(
            f"gate {self.gate_id}",
            self._session,
            stop,
            connected=self.connected,
            cap_s=self.settings.reconnect_cap_s,
        )

    async def _session(self) -> None:
        """One connection: announce, deliver the spool, then heartbeat until the broker is lost."""
        try:
            async with GateClient(
                self.settings.mqtt,
                self.gate_id,
                on_command=self._on_command,
                on_config=self._on_config,
                sensors=lambda: self.sensors,
            ) as client:
                self._client = client
                self.connected.set()
                log.info("gate %s: connected to the broker", self.gate_id)
                await self._flush_spool(client)
                await self._heartbeat_until_lost(client)
        finally:
            self._client = None

    async def _heartbeat_until_lost(self, client: GateClient) -> None:
        lost = asyncio.create_task(client.wait_disconnected())
        try:
            while True:
                await asyncio.wait({lost}, timeout=self.settings.heartbeat_s)
                if lost.done():
                    log.warning("gate %s: connection to the broker lost", self.gate_id)
                    return
                await client.publish_status()
                if len(self.spool):
                    await self._flush_spool(client)
        finally:
            lost.cancel()

    async def _flush_spool(self, client: GateClient) -> None:
        pending = self.spool.pending()
        for path, check in pending:
            await client.send_record(check)  # raises if the broker drops: the file stays for next time
            self.spool.remove(path)
        if pending:
            log.info("gate %s: sent %d checks recorded while offline", self.gate_id, len(pending))

    # -- a check -------------------------------------------------------------------------------

    async def check_once(self) -> CheckOutcome:
        hw = self.hardware
        hw.indicator.show(IndicatorState.CHECKING)
        try:
            image = await asyncio.to_thread(hw.camera.capture_jpeg)
            self.sensors["camera"] = SensorState.OK
        except CameraError as exc:
            self.sensors["camera"] = SensorState.FAILING
            log.error("gate %s: camera failed: %s; staying closed", self.gate_id, exc)
            return await self._show(IndicatorState.OFFLINE, CheckOutcome("camera_failed", "Out of service"))
        reading = await self._read_temperature()
        client = self._client
        if client is None:
            return await self._decide_offline(image, reading)
        try:
            answer = await client.check(image, reading, timeout=self.settings.verdict_timeout_s)
        except TimeoutError:
            log.warning(
                "gate %s: no verdict within %.1fs; staying closed",
                self.gate_id,
                self.settings.verdict_timeout_s,
            )
            return await self._show(IndicatorState.TRY_AGAIN, CheckOutcome("timeout", "Please try again"))
        except aiomqtt.MqttError as exc:
            log.warning("gate %s: could not send the check (%s)", self.gate_id, exc)
            return await self._decide_offline(image, reading)
        if isinstance(answer, Rejection):
            log.warning("gate %s: check rejected: %s", self.gate_id, answer.detail)
            return await self._show(IndicatorState.TRY_AGAIN, CheckOutcome("rejected", "Please try again"))
        if answer.decision is Decision.OPEN:
            log.info("gate %s: check %s passed, opening", self.gate_id, answer.check_id)
            await self._open_for_a_while()
            return CheckOutcome("opened", answer.message)
        log.info("gate %s: check %s denied: %s", self.gate_id, answer.check_id, ",".join(answer.reasons))
        return await self._show(IndicatorState.DENY, CheckOutcome("denied", self._words_for(answer)))

    def _words_for(self, verdict: Verdict) -> str:
        """What the person is told: the first reason in the gate's language, or the server's message for
        a reason this gate does not know yet."""
        if not verdict.reasons:
            return verdict.message
        return reason_text(verdict.reasons[0], self.settings.language) or verdict.message

    async def _decide_offline(self, image: bytes, reading: TemperatureReading | None) -> CheckOutcome:
        policy = self.settings.offline_policy
        check = GateCheck(
            gate_id=self.gate_id,
            check_id=uuid4(),
            captured_at=utc_now(),
            image_jpeg=image,
            temperature=reading,
            offline=OfflineDecision(decision="open" if policy == "allow" else "deny", decided_at=utc_now()),
        )
        await asyncio.to_thread(self.spool.put, check)
        log.warning("gate %s: offline; policy %s; check %s spooled", self.gate_id, policy, check.check_id)
        if policy == "allow":
            await self._open_for_a_while()
            return CheckOutcome("offline_opened", "Welcome")
        return await self._show(IndicatorState.OFFLINE, CheckOutcome("offline_denied", "Out of service"))

    async def _read_temperature(self) -> TemperatureReading | None:
        try:
            reading = await asyncio.to_thread(self.hardware.thermometer.read)
        except ThermometerError as exc:
            # Sent without a temperature: the server's policy decides (deny by default).
            self.sensors["thermometer"] = SensorState.FAILING
            log.warning("gate %s: thermometer failed: %s", self.gate_id, exc)
            return None
        self.sensors["thermometer"] = SensorState.OK
        return TemperatureReading(
            corrected_c=round(reading.compensated_c, 2),
            samples_c=[round(s, 2) for s in reading.object_c][:64],
            ambient_c=reading.ambient_c,
        )

    # -- acting ----------------------------------------------------------------------------------

    async def _open_for_a_while(self, *, opened: GateCommand | None = None) -> None:
        """Open, wait `open_s`, close; with `opened`, acknowledge that command once the gate is open."""
        async with self._gate_lock:
            self.hardware.indicator.show(IndicatorState.PASS)
            self.hardware.gate.open()
            if opened is not None:
                await self._acknowledge(opened, CommandOutcome.OPENED)
            try:
                await asyncio.sleep(self.settings.open_s)
            finally:
                self.hardware.gate.close()
                self.hardware.indicator.show(IndicatorState.IDLE)

    async def _show(self, state: IndicatorState, outcome: CheckOutcome) -> CheckOutcome:
        self.hardware.indicator.show(state)
        await asyncio.sleep(self.settings.result_display_s)
        self.hardware.indicator.show(IndicatorState.IDLE)
        return outcome

    async def _on_command(self, command: GateCommand) -> None:
        if command.issued_at is not None and utc_now() - command.issued_at > timedelta(seconds=COMMAND_TTL_S):
            log.warning(
                "gate %s: ignoring stale %s command %s", self.gate_id, command.command, command.command_id
            )
            await self._acknowledge(command, CommandOutcome.EXPIRED)
            return
        log.info(
            "gate %s: remote %s by %s (%s), command %s",
            self.gate_id,
            command.command,
            command.by,
            command.reason,
            command.command_id,
        )
        self.commands.append(command)
        # The gate lock serialises it with checks; the acknowledgement goes out once the gate is open.
        task = asyncio.create_task(self._open_for_a_while(opened=command))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _acknowledge(self, command: GateCommand, outcome: CommandOutcome) -> None:
        """Best effort: a lost acknowledgement leaves the console saying "not confirmed", never worse."""
        client = self._client
        if client is None:
            return
        try:
            await client.acknowledge(command.command_id, outcome)
        except aiomqtt.MqttError as exc:
            log.warning(
                "gate %s: could not acknowledge command %s: %s", self.gate_id, command.command_id, exc
            )

    async def _on_config(self, config: GateConfig) -> None:
        changes = config.model_dump(exclude={"v", "version"}, exclude_none=True)
        self.settings = self.settings.model_copy(update=changes)
        log.info(
            "gate %s: configuration %s applied: %s", self.gate_id, config.version, changes or "no changes"
        )
