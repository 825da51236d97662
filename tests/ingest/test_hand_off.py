"""Ingest hands a check on before the broker hears it was received: with Redis away it waits, and if it
dies while waiting the broker delivers the check again (the real Mosquitto, a private Redis)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from maskwatch.consumer import decode_entry
from maskwatch.contracts import GateCheck, ReceivedGateCheck, TemperatureReading
from maskwatch.mqtt import MqttSettings, mqtt_client
from maskwatch.queue import open_queue
from maskwatch.streams import Group, Streams
from maskwatch.topics import Topics
from services.ingest import bridge as bridge_module
from services.ingest.bridge import IngestBridge
from stack.demo.sample_faces import sample_jpeg
from tests.private_redis import PrivateRedis

pytestmark = pytest.mark.timeout(60)


def a_check(gate_id: str) -> GateCheck:
    return GateCheck(
        gate_id=gate_id,
        check_id=uuid4(),
        captured_at=datetime.now(UTC),
        image_jpeg=sample_jpeg("mask"),
        temperature=TemperatureReading(corrected_c=36.5),
    )


async def until(predicate, timeout_s: float = 20.0) -> bool:
    for _ in range(int(timeout_s / 0.05)):
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


async def queued_checks(url: str, streams: Streams) -> list[ReceivedGateCheck]:
    queue = open_queue(url)
    try:
        source = streams.checks.read_by(Group.INFERENCE)
        await queue.ensure_group(source)
        return [decode_entry(source, e) for e in await queue.read(source, "t", 10, 50)]
    finally:
        await queue.close()


async def test_a_check_taken_while_redis_is_away_survives_ingest_dying(
    mosquitto, tmp_path, unique_id, monkeypatch, caplog
):
    monkeypatch.setattr(bridge_module, "HAND_OFF_CAP_S", 0.2)
    host, port = mosquitto
    mqtt = MqttSettings(
        host=host, port=port, embedded=False, topic_root=f"test/{unique_id}", persistent_sessions=True
    )
    redis_server = PrivateRedis(tmp_path)
    redis_server.start()
    streams = Streams(f"test-{unique_id}")
    identifier = f"ingest-{unique_id[:12]}"  # the same on restart: the broker keeps its session
    gate = f"gate-{unique_id[:8]}"
    check = a_check(gate)

    first_queue = open_queue(redis_server.url)
    first = IngestBridge(mqtt, first_queue, streams=streams, identifier=identifier)
    stop = asyncio.Event()
    running = asyncio.create_task(first.run(stop))
    await asyncio.wait_for(first.ready.wait(), 10)
    redis_server.stop()  # Redis goes away
    caplog.set_level(logging.WARNING)
    async with mqtt_client(mqtt, identifier=f"{gate}-pub") as publisher:
        await publisher.publish(
            Topics(mqtt.topic_root).gate_check.format(gate_id=gate), check.to_json(), qos=1
        )
    assert await until(lambda: any("the queue is away" in r.getMessage() for r in caplog.records))
    await asyncio.sleep(1.0)  # long enough for a receipt to reach the broker, had one been sent
    running.cancel()  # ingest dies holding the check it could not hand on
    with pytest.raises(asyncio.CancelledError):
        await running
    await first_queue.close()

    redis_server.start()
    second_queue = open_queue(redis_server.url)
    second = IngestBridge(mqtt, second_queue, streams=streams, identifier=identifier)
    stop = asyncio.Event()
    restarted = asyncio.create_task(second.run(stop))
    try:
        got: list[ReceivedGateCheck] = []
        for _ in range(200):
            got += await queued_checks(redis_server.url, streams)
            if got:
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await restarted
        await second_queue.close()
        redis_server.stop()
    assert [g.check.check_id for g in got] == [check.check_id]


async def test_a_check_waits_for_redis_and_goes_in_when_it_is_back(
    mosquitto, tmp_path, unique_id, monkeypatch
):
    monkeypatch.setattr(bridge_module, "HAND_OFF_CAP_S", 0.2)
    host, port = mosquitto
    mqtt = MqttSettings(host=host, port=port, embedded=False, topic_root=f"test/{unique_id}")
    redis_server = PrivateRedis(tmp_path)
    redis_server.start()
    streams = Streams(f"test-{unique_id}")
    queue = open_queue(redis_server.url)
    bridge = IngestBridge(mqtt, queue, streams=streams, identifier=f"ingest-{unique_id[:12]}")
    stop = asyncio.Event()
    running = asyncio.create_task(bridge.run(stop))
    gate = f"gate-{unique_id[:8]}"
    checks = [a_check(gate) for _ in range(3)]
    try:
        await asyncio.wait_for(bridge.ready.wait(), 10)
        redis_server.stop()
        async with mqtt_client(mqtt, identifier=f"{gate}-pub") as publisher:
            for check in checks:
                await publisher.publish(
                    Topics(mqtt.topic_root).gate_check.format(gate_id=gate), check.to_json(), qos=1
                )
        await asyncio.sleep(0.5)  # they arrive while Redis is away
        redis_server.start()
        got: list[ReceivedGateCheck] = []
        for _ in range(200):
            got += await queued_checks(redis_server.url, streams)  # each read gets what is new
            if len(got) >= len(checks):
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await running
        await queue.close()
        redis_server.stop()
    assert not running.exception()
    assert sorted(str(g.check.check_id) for g in got) == sorted(str(c.check_id) for c in checks)


@pytest.mark.parametrize("acknowledged", [True, False])
async def test_the_broker_delivers_again_what_was_taken_but_not_acknowledged(
    mosquitto, unique_id, acknowledged
):
    host, port = mosquitto
    mqtt = MqttSettings(host=host, port=port, embedded=False, topic_root=f"test/{unique_id}")
    identifier, topic = f"acks-{unique_id[:12]}", f"test/{unique_id}/acks"
    async with mqtt_client(mqtt, identifier=identifier, clean_session=False, manual_acks=True) as taker:
        await taker.subscribe(topic, qos=1)
        async with mqtt_client(mqtt, identifier=f"{identifier}-pub") as publisher:
            await publisher.publish(topic, b"check", qos=1)
        async for message in taker.messages:
            if acknowledged:
                taker.ack(message)
            break
        await asyncio.sleep(0.3)
    again: list[bytes] = []
    async with mqtt_client(mqtt, identifier=identifier, clean_session=False) as taker:
        try:
            async with asyncio.timeout(1.5):
                async for message in taker.messages:
                    again.append(bytes(message.payload))  # type: ignore[arg-type]
                    break
        except TimeoutError:
            pass
    assert again == ([] if acknowledged else [b"check"])
