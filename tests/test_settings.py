import pytest

from stack.settings import Settings, load_settings


def test_defaults_are_the_embedded_stand_ins(monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("MASKWATCH_"):
            monkeypatch.delenv(key)
    settings = load_settings()
    assert settings.mqtt.embedded
    assert settings.queue.url == "memory://"
    assert settings.database.url.startswith("sqlite:///")


def test_environment_variables_override_nested_settings(monkeypatch):
    monkeypatch.setenv("MASKWATCH_QUEUE__URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("MASKWATCH_POLICY__FEVER_THRESHOLD_C", "37.8")
    settings = load_settings()
    assert settings.queue.url == "redis://127.0.0.1:6379/3"
    assert settings.policy.fever_threshold_c == 37.8


def test_yaml_file_with_per_gate_policy(monkeypatch, tmp_path):
    config = tmp_path / "maskwatch.yaml"
    config.write_text("policy:\n  mask: soft\n  gates:\n    icu:\n      fever_threshold_c: 37.2\n")
    monkeypatch.setenv("MASKWATCH_CONFIG", str(config))
    settings = load_settings()
    assert settings.policy.for_gate("icu").fever_threshold_c == 37.2
    assert settings.policy.for_gate("icu").mask == "soft"


def test_missing_config_file_fails_fast(monkeypatch, tmp_path):
    monkeypatch.setenv("MASKWATCH_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(FileNotFoundError, match=r"nope\.yaml"):
        load_settings()


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({}, "MASKWATCH_SECRET_KEY"),
        ({"MASKWATCH_SECRET_KEY": "changethis"}, "MASKWATCH_SECRET_KEY"),
        (
            {"MASKWATCH_SECRET_KEY": "s3cr3t-long-random", "MASKWATCH_MQTT__EMBEDDED": "true"},
            "real MQTT broker",
        ),
        (
            {"MASKWATCH_SECRET_KEY": "s3cr3t-long-random", "MASKWATCH_MQTT__EMBEDDED": "false"},
            "MASKWATCH_MQTT__PASSWORD",
        ),
    ],
)
def test_production_refuses_placeholder_secrets(monkeypatch, env, problem):
    monkeypatch.setenv("MASKWATCH_ENVIRONMENT", "production")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValueError, match=problem):
        load_settings()


def test_production_with_real_secrets_starts(monkeypatch):
    monkeypatch.setenv("MASKWATCH_ENVIRONMENT", "production")
    monkeypatch.setenv("MASKWATCH_SECRET_KEY", "s3cr3t-long-random")
    monkeypatch.setenv("MASKWATCH_MQTT__EMBEDDED", "false")
    monkeypatch.setenv("MASKWATCH_MQTT__PASSWORD", "a-real-password")
    assert load_settings().environment == "production"


def test_without_a_secret_key_one_is_made_once_and_kept_private(tmp_path):
    key_file = tmp_path / "var" / "secret_key"
    settings = Settings(secret_key_file=key_file)
    first = settings.signing_key().get_secret_value()
    assert len(first) >= 48
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert Settings(secret_key_file=key_file).signing_key().get_secret_value() == first  # the next run
    assert Settings(secret_key="a-key-the-operator-chose-0123456789").signing_key().get_secret_value() == (
        "a-key-the-operator-chose-0123456789"
    )
    key_file.chmod(0o644)
    with pytest.raises(PermissionError, match="readable by others"):
        Settings(secret_key_file=key_file).signing_key()


def test_a_placeholder_secret_key_is_refused_everywhere(monkeypatch):
    monkeypatch.setenv("MASKWATCH_SECRET_KEY", "changethis")
    with pytest.raises(ValueError, match="placeholder anyone can guess"):
        load_settings()


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"MASKWATCH_MQTT__HOST": "0.0.0.0"}, "must listen on loopback"),
        ({"MASKWATCH_MQTT__HOST": "192.168.1.20"}, "must listen on loopback"),
    ],
)
def test_open_doors_beyond_loopback_are_refused(monkeypatch, tmp_path, env, problem):
    monkeypatch.setenv("MASKWATCH_PROVISIONING__MOSQUITTO_PASSWD_FILE", str(tmp_path / "passwd"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValueError, match=problem):
        load_settings()
