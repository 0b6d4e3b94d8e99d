"""Send one envelope on its channel."""

from __future__ import annotations

from datetime import timedelta

from alerts.channels.base import ChannelError, Envelope
from alerts.channels.email import send_email
from alerts.channels.outbox import write_outbox
from wagewatch import clock
from wagewatch.config import Policy, Settings


def send(envelope: Envelope, settings: Settings) -> str:
    """Deliver and return a message id; raises ChannelError."""
    kind = envelope.channel.type
    if kind == "email" and settings.smtp.host:
        return send_email(envelope, settings.smtp)
    if kind in ("email", "outbox"):
        from pathlib import Path

        return write_outbox(envelope, Path(settings.outbox_dir), settings.smtp.sender)
    raise ChannelError(f"channel type {kind!r} is not supported by this build", permanent=True)


def record_failed_send(row, exc: ChannelError, policy: Policy) -> bool:
    """Update a message row (status, attempts, last_error, next_attempt_at) after a failed send: dead when the
    error is permanent or the attempts are used up, else tried again after an exponential back-off.
    Returns True when the message is dead (the caller tells someone)."""
    row.last_error = str(exc)[:2000]
    if exc.permanent or row.attempts >= policy.max_send_attempts:
        row.status = "dead"
        return True
    row.status = "failed"
    row.next_attempt_at = clock.now() + timedelta(seconds=policy.retry_base_seconds * 2 ** (row.attempts - 1))
    return False
