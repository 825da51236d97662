"""Server settings: environment variables (MASKWATCH_*, nested with `__`) over a YAML file over defaults.

Composed here, above the services, from the sections each part declares for
itself (the floor's MQTT, queue and database settings; each service's own);
the composition root hands every service only its sections.

The defaults are the embedded stand-ins (an in-process MQTT broker, an
in-process queue, SQLite), so a newcomer runs everything with no services
installed; an operator points each part at the real service. In production the
settings refuse to start with a missing or placeholder secret, and the API's
cookies are `Secure`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from maskwatch.broker_accounts import FileOwnership
from maskwatch.consumer import ConsumerSettings
from maskwatch.database.engine import DatabaseSettings
from maskwatch.device_accounts import BrokerAddress, DeviceAccounts
from maskwatch.face_crops import FaceCropSettings
from maskwatch.mqtt import MqttSettings
from maskwatch.queue import QueueSettings
from maskwatch.snapshots import SnapshotSettings
from services.api.config import ApiSettings
from services.gate_controller.policy import PolicyConfig
from services.inference.model.config import ModelConfig
from services.inference.settings import WorkerSettings
from services.ingest.settings import HttpDeviceAuth, IngestSettings
from services.notifier.settings import NotifierSettings
from services.stats.settings import StatsSettings
from stack.embedded_account import embedded_server_account
from stack.secret_key import local_secret_key

__all__ = [
    "ApiSettings",
    "ConsumerSettings",
    "DatabaseSettings",
    "IngestSettings",
    "ModelConfig",
    "MqttSettings",
    "PolicyConfig",
    "ProvisioningSettings",
    "QueueSettings",
    "Settings",
    "WorkerSettings",
    "load_settings",
]

PLACEHOLDER_SECRETS = {"", "changethis", "changeme", "secret", "password", "maskwatch"}


class ProvisioningSettings(BaseModel):
    mosquitto_passwd_file: Path = Path("deploy/mosquitto/passwd")
    """The broker's password file (mounted into the Mosquitto container by compose.yaml)."""
    passwd_file_mode: str = Field(default="0640", pattern=r"^0?[0-7]{3}$")
    """Octal mode of a new password file (an existing one keeps its own owner, group and mode)."""
    passwd_file_owner: str | None = None
    """The user a new password file belongs to; None: whoever runs the command."""
    passwd_file_group: str | None = None
    """The group a new password file belongs to, e.g. `mosquitto` when the broker runs as that user on
    this host; None: the group of whoever runs the command."""

    def ownership(self) -> FileOwnership:
        return FileOwnership(
            mode=int(self.passwd_file_mode, 8), owner=self.passwd_file_owner, group=self.passwd_file_group
        )

    public_broker_host: str = "127.0.0.1"
    """The broker address as the gates reach it (the server's LAN name or address), written into each
    device's config by `maskwatch device add` and the console (docs/devices.md)."""
    public_broker_port: int = 1883
    public_broker_tls: bool = False
    """Devices connect over TLS (port 8883 then); their config names the CA file to install."""
    broker_reload_command: list[str] = []
    """Run after a device's account changes so the broker applies it at once (and drops a revoked
    device's connection), e.g. `["systemctl", "reload", "mosquitto"]` or `["docker", "compose", "kill",
    "-s", "SIGHUP", "mosquitto"]`; empty: reload the broker yourself."""

    def device_accounts(self) -> DeviceAccounts:
        return DeviceAccounts(self.mosquitto_passwd_file, self.ownership(), tuple(self.broker_reload_command))

    def broker_address(self, topic_root: str) -> BrokerAddress:
        return BrokerAddress(
            self.public_broker_host, self.public_broker_port, topic_root, self.public_broker_tls
        )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MASKWATCH_",
        env_nested_delimiter="__",
        env_parse_none_str="null",
        extra="forbid",
        yaml_file=None,
    )

    environment: Literal["local", "production"] = "local"
    metrics_port: int | None = None
    """Each service process's /metrics, /healthz and /readyz on this port (containers: 9100; the API
    serves its own /metrics too); None: none."""
    metrics_host: str = "127.0.0.1"
    """Where that port listens: 0.0.0.0 in a container, so Prometheus can scrape it."""
    site_timezone: str = "UTC"
    secret_key: SecretStr | None = None
    """Signs sessions and API tokens. Production names its own; elsewhere, left unset, one is made on
    the first run and kept in `secret_key_file` (stack/secret_key.py)."""
    secret_key_file: Path = Path("var/secret_key")
    demo_database_url: str = "sqlite:///var/demo.db"
    """Where `maskwatch demo` records its made-up checks, alerts and demo account: never the
    installation's own database (`database.url`), whatever that is."""
    mqtt: MqttSettings = MqttSettings()
    queue: QueueSettings = QueueSettings()
    database: DatabaseSettings = DatabaseSettings()
    worker: WorkerSettings = WorkerSettings(batch_size=16)
    """How the inference worker batches checks and frames (`MASKWATCH_WORKER__BATCH_SIZE`)."""
    gate_controller: ConsumerSettings = ConsumerSettings(batch_size=64)
    stats: StatsSettings = StatsSettings()
    """How the stats writer batches, and its retry window: a denied person trying again at the same gate
    within `retry_window_s` (30) is one visitor (`MASKWATCH_STATS__RETRY_WINDOW_S`, docs/api.md)."""
    monitoring: ConsumerSettings = ConsumerSettings(batch_size=32)
    notifier: NotifierSettings = NotifierSettings(batch_size=64)
    inference_workers: int | None = Field(default=None, ge=1, le=64)
    """Inference worker processes `maskwatch up` starts on Redis, sharing the checks (compose:
    `docker compose up --scale inference=N`). None: one per core when the model runs on the CPU (each
    worker one ONNX Runtime thread, `worker.onnx_threads`), one on a GPU, whose batches use it best.
    The embedded setup runs one."""
    allow_unregistered_gates: bool = False
    """Answer gates that were never registered (`maskwatch device add`): for a demo or a test bench,
    never in production, where an unknown gate id is rejected (`unknown_gate`)."""
    device_offline_after_s: float = Field(default=120.0, gt=0, le=86400)
    """A gate or camera offline this long raises an alert (a reboot or a Wi-Fi blip does not)."""
    snapshots: SnapshotSettings = SnapshotSettings()
    face_crops: FaceCropSettings = FaceCropSettings()
    """Where the face thumbnails of gate checks are kept (the inference worker writes them, the API
    serves them to the console's feed) and for how long (`MASKWATCH_FACE_CROPS__KEEP_HOURS`, 0: none)."""
    """Where alert snapshots are kept (shared by the monitoring service and the API) and for how long."""
    ingest: IngestSettings = IngestSettings()
    policy: PolicyConfig = PolicyConfig()
    inference_model: ModelConfig = ModelConfig()
    provisioning: ProvisioningSettings = ProvisioningSettings()
    api: ApiSettings = ApiSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = os.environ.get("MASKWATCH_CONFIG")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config_file:
            if not Path(config_file).is_file():
                raise FileNotFoundError(f"MASKWATCH_CONFIG={config_file} does not exist")
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        """Production refuses placeholder secrets and the embedded broker, and sends cookies over HTTPS
        only: `api.cookie_secure` follows from it, and an explicit false is refused rather than obeyed."""
        if self.secret_key is not None and self.secret_key.get_secret_value() in PLACEHOLDER_SECRETS:
            raise ValueError(
                "MASKWATCH_SECRET_KEY is a placeholder anyone can guess: set a long random one, or unset it "
                "outside production to have one made and kept in var/secret_key"
            )
        if self.environment != "production":
            self._refuse_open_doors()
            return self
        problems = []
        if self.secret_key is None:
            problems.append("MASKWATCH_SECRET_KEY is missing")
        if self.mqtt.embedded:
            problems.append("production needs a real MQTT broker (MASKWATCH_MQTT__EMBEDDED=false)")
        elif self.mqtt.password is None or self.mqtt.password.get_secret_value() in PLACEHOLDER_SECRETS:
            problems.append("MASKWATCH_MQTT__PASSWORD is missing or a placeholder")
        if self.allow_unregistered_gates:
            problems.append(
                "production answers registered gates only: remove MASKWATCH_ALLOW_UNREGISTERED_GATES"
            )
        if "cookie_secure" in self.api.model_fields_set and not self.api.cookie_secure:
            problems.append(
                "production sends session cookies over HTTPS only: remove MASKWATCH_API__COOKIE_SECURE=false"
            )
        if problems:
            raise ValueError("refusing to start: " + "; ".join(problems))
        if not self.api.cookie_secure:
            self.api = self.api.model_copy(update={"cookie_secure": True})
        return self

    @model_validator(mode="after")
    def _sign_in_to_the_embedded_broker(self) -> Self:
        """The embedded broker lets in accounts only: unless the settings name one, the services use the
        server's account derived from the secret key (stack/embedded_account.py)."""
        if self.mqtt.embedded and self.mqtt.username is None:
            username, password = embedded_server_account(self.signing_key())
            self.mqtt = self.mqtt.model_copy(update={"username": username, "password": password})
        return self

    def device_broker_address(self) -> BrokerAddress:
        """Where devices reach the broker, as their printed config says: on the embedded broker its own
        port, unless `provisioning.public_broker_port` names another (a port forwarded to it, say)."""
        p = self.provisioning
        address = p.broker_address(self.mqtt.topic_root)
        if self.mqtt.embedded and "public_broker_port" not in p.model_fields_set:
            address = dataclasses.replace(address, port=self.mqtt.port)
        return address

    def _refuse_open_doors(self) -> None:
        """The embedded broker speaks no TLS: beyond loopback, every password would cross the network in
        clear. Refuse that rather than start."""
        if self.mqtt.embedded and self.mqtt.tls:
            raise ValueError(
                "the embedded MQTT broker does not speak TLS: use Mosquitto's TLS listener "
                "(MASKWATCH_MQTT__EMBEDDED=false, docs/reliability.md)"
            )
        if self.mqtt.embedded and not _loopback(self.mqtt.host):
            raise ValueError(
                f"the embedded MQTT broker is for this host and must listen on loopback, not "
                f"{self.mqtt.host!r}: use a real broker with TLS (MASKWATCH_MQTT__EMBEDDED=false)"
            )

    def signing_key(self) -> SecretStr:
        """The secret key, or (outside production, when none is set) the one kept in `secret_key_file`."""
        return self.secret_key or local_secret_key(self.secret_key_file)

    def http_device_auth(self) -> HttpDeviceAuth:
        """Devices sign in to the HTTP door with their broker account, always."""
        return HttpDeviceAuth(passwd_file=self.provisioning.mosquitto_passwd_file)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name that resolves elsewhere, or every address ("")


def load_settings(**overrides: object) -> Settings:
    """Read the settings once at start-up; errors name the variable to fix."""
    return Settings(**overrides)  # type: ignore[arg-type]
