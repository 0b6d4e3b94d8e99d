"""Send one envelope on its channel."""

from __future__ import annotations

from pathlib import Path

from alerts.channels.base import ChannelError, Envelope
from alerts.channels.dingtalk import send_dingtalk
from alerts.channels.email import send_email
from alerts.channels.outbox import write_outbox
from alerts.channels.webhook import send_webhook
from alerts.channels.wecom import send_wecom
from wagewatch.config import AppConfig


def send(envelope: Envelope, config: AppConfig) -> str:
    """Deliver and return a message id; raises ChannelError."""
    settings = config.settings
    kind = envelope.channel.type
    if kind == "email" and settings.smtp.host:
        return send_email(envelope, settings.smtp)
    if kind in ("email", "outbox"):
        return write_outbox(envelope, Path(settings.outbox_dir), settings.smtp.sender)
    if kind == "wecom":
        return send_wecom(envelope, settings.webhook_timeout_seconds)
    if kind == "dingtalk":
        return send_dingtalk(envelope, settings.webhook_timeout_seconds)
    if kind in ("webhook", "sms"):
        template = config.webhooks.templates.get(envelope.channel.template or "")
        if template is None:
            raise ChannelError(f"webhook template {envelope.channel.template!r} is not defined", permanent=True)
        return send_webhook(envelope, template, settings.webhook_timeout_seconds)
    raise ChannelError(f"channel type {kind!r} is not supported", permanent=True)
