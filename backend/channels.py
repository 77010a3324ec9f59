"""The channels this install uses, from its settings; the console stands in for what is not configured."""

from __future__ import annotations

import logging

from backend.config import Settings
from backend.inbound.dependencies import status_callbacks
from notifications.base import ChannelKind
from notifications.console import ConsoleChannel
from notifications.registry import ChannelRegistry

log = logging.getLogger("vigie.channels")


def vapid_keys(settings: Settings):
    from notifications.webpush import VapidKeys

    return VapidKeys.load_or_create(settings.var_dir / "vapid_private.pem")


def build_registry(settings: Settings) -> ChannelRegistry:
    registry = ChannelRegistry({kind: ConsoleChannel(kind) for kind in ChannelKind})
    if settings.webpush_enabled:
        from notifications.webpush import WebPushChannel

        registry.register(WebPushChannel(vapid_keys(settings), settings.vapid_subject))
    if settings.fcm_credentials:
        from notifications.fcm import FcmChannel

        registry.register(FcmChannel.from_service_account(str(settings.fcm_credentials)))
    if settings.sms_providers:
        from notifications.sms import SmsChannel

        registry.register(SmsChannel(settings.sms_providers, deadline_s=settings.send_deadline_s,
                                     status_callbacks=status_callbacks(settings.public_url)))
        from notifications.sms_octopush import account_of

        if not settings.octopush_callback_key and any(account_of(url) for url in settings.sms_providers):
            log.warning("an octopush:// SMS provider without VIGIE_OCTOPUSH_CALLBACK_KEY: its receipts and "
                        "replies are refused (503), an SMS not delivered is never known as such")
    if settings.voice_providers:
        from notifications.voice_twilio import VoiceChannel

        registry.register(VoiceChannel(settings.voice_providers, public_url=settings.public_url,
                                       deadline_s=settings.send_deadline_s, ring_s=settings.voice_ring_s))
    if settings.smtp_url:
        from notifications.email import EmailChannel

        registry.register(EmailChannel(settings.smtp_url))
    log.info("channels: %s", ", ".join(f"{k.value}={type(registry.get(k)).__name__}" for k in ChannelKind))
    return registry
