"""What a provisioned gate account may and may not do on a real Mosquitto enforcing the generated ACL.

Mosquitto never tells a client it was denied (MQTT 3.1.1): a SUBACK grants the
subscription and then the broker withholds what the client may not read; a
PUBACK acknowledges a publish and then the broker drops it. So every denial
here is shown as a message that does not arrive within a short wait, after a
positive control on the same connection proves the message would have arrived.
"""

from __future__ import annotations

import aiomqtt
import pytest

from tests.broker.conftest import DENIED_WAIT_S, GATE_A, GATE_B, AclBroker, next_message, received

pytestmark = pytest.mark.timeout(60)


async def test_a_gate_publishes_its_checks_and_status(acl_broker: AclBroker):
    t = acl_broker.topics
    async with acl_broker.server() as server, acl_broker.gate(GATE_A) as gate:
        await server.subscribe(t.gate_check.filter(), qos=1)
        await server.subscribe(t.gate_status.filter(), qos=1)
        await gate.publish(t.gate_check.format(gate_id=GATE_A), b"check", qos=1)
        await gate.publish(t.gate_status.format(gate_id=GATE_A), b"online", qos=1, retain=True)
        got = {str(m.topic): m.payload for m in await received(server, 2)}
    assert got == {
        t.gate_check.format(gate_id=GATE_A): b"check",
        t.gate_status.format(gate_id=GATE_A): b"online",
    }


async def test_a_gate_receives_its_answers_commands_and_retained_config(acl_broker: AclBroker):
    t = acl_broker.topics
    own = {
        template.pattern: template.format(gate_id=GATE_A)
        for template in t.templates()
        if "gate_id" in template.params
    }
    readable = [t.gate_verdict, t.gate_rejected, t.gate_command, t.gate_config]
    async with acl_broker.server() as server:
        # Published before the gate connects: it must reach the gate as a retained message.
        await server.publish(t.gate_config.format(gate_id=GATE_A), b"config", qos=1, retain=True)
        async with acl_broker.gate(GATE_A) as gate:
            for template in readable:
                await gate.subscribe(own[template.pattern], qos=1)
            retained = await received(gate, 1)
            for template in (t.gate_verdict, t.gate_rejected, t.gate_command):
                await server.publish(own[template.pattern], template.pattern.encode(), qos=1)
            live = await received(gate, 3)
    assert [(str(m.topic), m.retain) for m in retained] == [(own[t.gate_config.pattern], True)]
    assert {str(m.topic): m.payload for m in live} == {
        own[template.pattern]: template.pattern.encode()
        for template in (t.gate_verdict, t.gate_rejected, t.gate_command)
    }


@pytest.mark.parametrize("subscription", ["exact topics", "wildcard filters"])
async def test_a_gate_cannot_read_another_gates_topics(acl_broker: AclBroker, subscription: str):
    t = acl_broker.topics
    others = [t.gate_verdict, t.gate_command, t.gate_config]
    async with acl_broker.server() as server:
        await server.publish(t.gate_config.format(gate_id=GATE_B), b"config-b", qos=1, retain=True)
        async with acl_broker.gate(GATE_A) as gate_a, acl_broker.gate(GATE_B) as gate_b:
            if subscription == "exact topics":
                filters = [t.gate_verdict.format(gate_id=GATE_A)]
                filters += [template.format(gate_id=GATE_B) for template in others]
            else:  # Mosquitto grants `gates/+/...` too, and filters what it delivers topic by topic.
                filters = [template.filter() for template in others]
            for topic_filter in filters:
                await gate_a.subscribe(topic_filter, qos=1)
            for template in others:
                await gate_b.subscribe(template.format(gate_id=GATE_B), qos=1)

            await server.publish(t.gate_verdict.format(gate_id=GATE_A), b"control", qos=1)
            assert [m.payload for m in await received(gate_a, 1)] == [b"control"]

            await server.publish(t.gate_verdict.format(gate_id=GATE_B), b"verdict-b", qos=1)
            await server.publish(t.gate_command.format(gate_id=GATE_B), b"command-b", qos=1)
            # Gate B gets all three, so they were there for gate A to see.
            assert {m.payload for m in await received(gate_b, 3)} == {b"config-b", b"verdict-b", b"command-b"}
            assert await next_message(gate_a, DENIED_WAIT_S) is None


async def test_a_gate_cannot_publish_for_another_gate_nor_answer_or_command_itself(acl_broker: AclBroker):
    t = acl_broker.topics
    forged = [
        t.gate_check.format(gate_id=GATE_B),
        t.gate_status.format(gate_id=GATE_B),
        t.gate_verdict.format(gate_id=GATE_A),
        t.gate_rejected.format(gate_id=GATE_A),
        t.gate_command.format(gate_id=GATE_A),
        t.gate_config.format(gate_id=GATE_A),
    ]
    own_check = t.gate_check.format(gate_id=GATE_A)
    async with acl_broker.server() as server, acl_broker.gate(GATE_A) as gate:
        await server.subscribe(f"{t.root}/#", qos=1)
        await gate.publish(own_check, b"control", qos=1)
        assert [(str(m.topic), m.payload) for m in await received(server, 1)] == [(own_check, b"control")]

        for topic in forged:
            await gate.publish(topic, b"forged", qos=1, retain=True)  # acknowledged all the same
        await gate.publish(own_check, b"after", qos=1)
        # One connection's messages arrive in order, so anything forged would have come first.
        assert [(str(m.topic), m.payload) for m in await received(server, 1)] == [(own_check, b"after")]
        assert await next_message(server, DENIED_WAIT_S) is None

    async with acl_broker.server() as late:  # nothing forged was kept as a retained message either
        await late.subscribe(f"{t.root}/#", qos=1)
        assert await next_message(late, DENIED_WAIT_S) is None


@pytest.mark.parametrize(
    ("username", "password"),
    [
        (GATE_A, "wrong-password"),
        (GATE_A, "gate-b's password"),
        ("unprovisioned-gate", "anything"),
        (None, None),
    ],
)
async def test_a_wrong_or_missing_password_is_refused_at_connect(
    acl_broker: AclBroker, username: str | None, password: str | None
):
    if password == "gate-b's password":
        password = acl_broker.gates[GATE_B].password
    with pytest.raises(aiomqtt.MqttCodeError) as refused:
        async with acl_broker.connect(acl_broker.settings(username, password)):
            pass
    assert str(refused.value.rc) == "Not authorized"  # CONNACK 5, the same for every case
