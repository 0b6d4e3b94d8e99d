"""Send one envelope on its channel."""

from __future__ import annotations

from alerts.channels.base import ChannelError, Envelope
from alerts.channels.email import send_email
from alerts.channels.outbox import write_outbox
from wagewatch.config import Settings


def send(envelope: Envelope, settings: Settings) -> str:
    """Deliver and return a message id; raises ChannelError."""
    kind = envelope.channel.type
    if kind == "email" and settings.smtp.host:
        return send_email(envelope, settings.smtp)
    if kind in ("email", "outbox"):
        from pathlib import Path

        return write_outbox(envelope, Path(settings.outbox_dir), settings.smtp.sender)
    raise ChannelError(f"channel type {kind!r} is not supported by this build", permanent=True)
