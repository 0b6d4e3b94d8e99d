"""Send one envelope on its channel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wagewatch.alerts.channels.base import ChannelError, Envelope
from wagewatch.alerts.channels.dingtalk import send_dingtalk
from wagewatch.alerts.channels.email import send_email
from wagewatch.alerts.channels.outbox import write_outbox
from wagewatch.alerts.channels.webhook import send_webhook
from wagewatch.alerts.channels.wecom import send_wecom
from wagewatch.core import clock
from wagewatch.core.config import AppConfig, Policy
from wagewatch.core.states import SendStatus


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


def record_failed_send(row: Any, exc: ChannelError, policy: Policy, retry_status: str = SendStatus.FAILED) -> bool:
    """Update a message row (status, attempts, last_error, next_attempt_at) after a failed send and say whether
    someone must be told (True: it will not be tried again on this channel).

    Ambiguous errors (the request may have arrived) make it `unknown`, never retried, like a crash mid-send;
    permanent errors and used-up attempts make it `dead`; anything else is tried again after an exponential
    back-off, back in `retry_status`.
    """
    row.last_error = str(exc)[:2000]
    if exc.ambiguous:
        row.status = SendStatus.UNKNOWN
        return True
    if exc.permanent or row.attempts >= policy.max_send_attempts:
        row.status = SendStatus.DEAD
        return True
    row.status = retry_status
    row.next_attempt_at = clock.now() + policy.retry_delay(row.attempts)
    return False
