"""MQTT over TLS: a Mosquitto TLS listener with a certificate from a CA the test makes; a gate and the
server's gate path connect through it and a check is answered; a client that does not trust the CA, or
a host name the certificate does not name, is refused."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import aiomqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devices.gate_agent.client import GateClient
from maskwatch.contracts import Decision, TemperatureReading, Verdict
from maskwatch.mqtt import MqttSettings, mqtt_client
from stack.demo.sample_faces import sample_jpeg
from stack.in_process import Stack
from stack.service_table import GATE_PATH
from stack.settings import DatabaseSettings, IngestSettings, QueueSettings, Settings
from tests.private_broker import PrivateBroker

pytestmark = pytest.mark.timeout(120)


def _write(path: Path, pem: bytes) -> Path:
    path.write_bytes(pem)
    return path


def make_ca_and_server(folder: Path, *, names: list[str]) -> tuple[Path, Path, Path]:
    """A private CA, and a server certificate it signs for `names` (DNS names or IP addresses)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Maskwatch test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return (
        _write(folder / "ca.pem", ca.public_bytes(serialization.Encoding.PEM)),
        _write(folder / "server.pem", server.public_bytes(serialization.Encoding.PEM)),
        _write(
            folder / "server.key",
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        ),
    )


@pytest.fixture
def tls_broker(tmp_path):
    ca, cert, key = make_ca_and_server(tmp_path, names=["127.0.0.1", "localhost"])
    broker = PrivateBroker(
        tmp_path, extra_config=f"allow_anonymous true\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
    )
    broker.start()
    yield broker, ca
    broker.stop()


async def test_a_gate_and_the_gate_path_talk_over_tls(tls_broker, tmp_path, unique_id):
    broker, ca = tls_broker
    mqtt = MqttSettings(
        host="127.0.0.1",
        port=broker.port,
        embedded=False,
        tls=True,
        ca_file=ca,
        topic_root=f"test/{unique_id}",
    )
    settings = Settings(
        mqtt=mqtt,
        queue=QueueSettings(url="memory://", prefix=f"test-{unique_id}"),
        database=DatabaseSettings(url=f"sqlite:///{tmp_path}/db.sqlite"),
        ingest=IngestSettings(http_port=None),
        allow_unregistered_gates=True,
    )
    stack = Stack(settings, GATE_PATH)
    await stack.start(timeout=90)
    try:
        async with GateClient(mqtt, f"gate-{unique_id[:8]}") as gate:
            answer = await gate.check(sample_jpeg("mask"), TemperatureReading(corrected_c=36.6), timeout=30)
    finally:
        await stack.close()
    assert isinstance(answer, Verdict)
    assert answer.decision is Decision.OPEN


async def test_a_client_that_does_not_trust_the_ca_is_refused(tls_broker, tmp_path, unique_id):
    broker, _ = tls_broker
    other = tmp_path / "other"
    other.mkdir()
    other_ca, _, _ = make_ca_and_server(other, names=["127.0.0.1"])
    stranger = MqttSettings(host="127.0.0.1", port=broker.port, embedded=False, tls=True, ca_file=other_ca)
    with pytest.raises(aiomqtt.MqttError):
        async with mqtt_client(stranger, identifier=f"stranger-{unique_id[:8]}"):
            pass


async def test_a_host_name_the_certificate_does_not_name_is_refused(tmp_path, unique_id):
    ca, cert, key = make_ca_and_server(tmp_path, names=["broker.venue.example"])
    broker = PrivateBroker(
        tmp_path, extra_config=f"allow_anonymous true\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
    )
    broker.start()
    try:
        wrong_name = MqttSettings(host="127.0.0.1", port=broker.port, embedded=False, tls=True, ca_file=ca)
        with pytest.raises(aiomqtt.MqttError):
            async with mqtt_client(wrong_name, identifier=f"wrong-{unique_id[:8]}"):
                pass
    finally:
        broker.stop()


def test_tls_settings_that_cannot_work_are_refused(tmp_path):
    with pytest.raises(ValueError, match="set tls: true"):
        MqttSettings(ca_file=tmp_path / "ca.pem")
    with pytest.raises(ValueError, match="both cert_file and key_file"):
        MqttSettings(tls=True, cert_file=tmp_path / "client.pem")
    with pytest.raises(ValueError, match="does not speak TLS"):
        Settings(mqtt=MqttSettings(tls=True))


async def test_the_shipped_tls_listener_example_works_as_written(tmp_path, unique_id):
    from tests.ports import free_port

    ca, _, _ = make_ca_and_server(tmp_path, names=["127.0.0.1"])  # ca.pem, server.pem, server.key
    example = (Path(__file__).parents[2] / "deploy/mosquitto/tls.conf.example").read_text()
    tls_port = free_port()
    config = example.replace("listener 8883", f"listener {tls_port} 127.0.0.1").replace(
        "/mosquitto/config/certs/", f"{tmp_path}/"
    )
    broker = PrivateBroker(tmp_path, extra_config="allow_anonymous true\n" + config)
    broker.start()
    try:
        settings = MqttSettings(host="127.0.0.1", port=tls_port, embedded=False, tls=True, ca_file=ca)
        async with mqtt_client(settings, identifier=f"tls-{unique_id[:8]}") as client:
            await client.subscribe("probe/#")
            await client.publish("probe/x", b"hello", qos=1)
            async for message in client.messages:
                assert message.payload == b"hello"
                break
    finally:
        broker.stop()
