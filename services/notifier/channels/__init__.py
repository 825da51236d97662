"""Notification channels: one module each, all behind `channels.base.Channel`.

`CHANNEL_TYPES` is what a site's routing names: the routing stores a channel's
`name`, and the delivery side turns it back into a class here. `build_channel`
makes one from its section of the notifier's settings, validating that section
with the channel's own model, so a typo in a secret's name stops the notifier
at start-up rather than at the first alert.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.notifier.channels.base import Channel
from services.notifier.channels.email import EmailChannel, EmailSettings
from services.notifier.channels.fcm import FcmChannel, FcmSettings
from services.notifier.channels.sns import SnsChannel, SnsSettings
from services.notifier.channels.webhook import WebhookChannel, WebhookSettings
from services.notifier.channels.webpush import WebPushChannel, WebPushSettings

CHANNEL_TYPES: dict[str, type[Channel]] = {
    channel.name: channel
    for channel in (EmailChannel, FcmChannel, SnsChannel, WebhookChannel, WebPushChannel)
}


def build_channel(name: str, settings: Mapping[str, object]) -> Channel:
    """The channel `name`, configured from its settings section. Raises KeyError for an unknown name and
    pydantic's ValidationError for settings the channel would fail on later."""
    if name == WebhookChannel.name:
        return WebhookChannel(WebhookSettings.model_validate(settings))
    if name == EmailChannel.name:
        return EmailChannel(EmailSettings.model_validate(settings))
    if name == SnsChannel.name:
        return SnsChannel(SnsSettings.model_validate(settings))
    if name == FcmChannel.name:
        return FcmChannel(FcmSettings.model_validate(settings))
    if name == WebPushChannel.name:
        return WebPushChannel(WebPushSettings.model_validate(settings))
    raise KeyError(f"unknown channel {name!r}; known: {sorted(CHANNEL_TYPES)}")


__all__ = ["CHANNEL_TYPES", "Channel", "build_channel"]
