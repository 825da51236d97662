"""The registry the routing picks channels from: every channel under its stored name, built from settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.notifier.channels import CHANNEL_TYPES, build_channel
from services.notifier.channels.base import Channel
from services.notifier.channels.webhook import WebhookChannel
from services.notifier.channels.webpush import generate_vapid_keys


def test_every_channel_is_registered_under_its_name():
    assert sorted(CHANNEL_TYPES) == ["email", "fcm", "sns", "webhook", "webpush"]
    for name, channel_type in CHANNEL_TYPES.items():
        assert issubclass(channel_type, Channel)
        assert channel_type.name == name


def test_channels_are_built_from_their_settings_section_and_bad_settings_stop_start_up():
    webhook = build_channel("webhook", {"timeout_s": 3})
    assert isinstance(webhook, WebhookChannel)
    assert webhook.settings.timeout_s == 3
    assert build_channel("email", {"host": "relay", "from_address": "a@b.example"}).name == "email"
    assert build_channel("sns", {"region": "eu-west-1"}).name == "sns"
    pem, _ = generate_vapid_keys()
    assert (
        build_channel("webpush", {"vapid_private_key": pem, "subject": "mailto:a@b.example"}).name
        == "webpush"
    )
    with pytest.raises(ValidationError):
        build_channel("webhook", {"timeout_s": 3, "secret": "typo"})
    with pytest.raises(ValidationError):
        build_channel("email", {"host": "relay"})
    with pytest.raises(KeyError, match="pigeon"):
        build_channel("pigeon", {})
