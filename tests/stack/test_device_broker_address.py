"""The broker address printed into a device's config is the one a device can reach."""

from __future__ import annotations

from maskwatch.mqtt import MqttSettings
from stack.settings import ProvisioningSettings, Settings


def test_the_embedded_broker_is_reached_on_its_own_port(tmp_path) -> None:
    settings = Settings(mqtt=MqttSettings(port=18830), secret_key_file=tmp_path / "key")
    assert settings.device_broker_address().port == 18830


def test_a_public_port_named_in_the_settings_wins(tmp_path) -> None:
    settings = Settings(
        mqtt=MqttSettings(port=18830),
        provisioning=ProvisioningSettings(public_broker_host="gates.example.org", public_broker_port=11883),
        secret_key_file=tmp_path / "key",
    )
    address = settings.device_broker_address()
    assert (address.host, address.port) == ("gates.example.org", 11883)


def test_a_real_broker_is_reached_on_the_public_port(tmp_path) -> None:
    settings = Settings(
        mqtt=MqttSettings(embedded=False, host="mosquitto", port=1883, username="s", password="p" * 20),
        provisioning=ProvisioningSettings(public_broker_host="10.0.0.5"),
        secret_key_file=tmp_path / "key",
    )
    address = settings.device_broker_address()
    assert (address.host, address.port) == ("10.0.0.5", 1883)
