"""The local outbox: messages written as .eml files when no SMTP server is configured (embedded default)."""

from __future__ import annotations

import os
from email.message import EmailMessage
from pathlib import Path

from wagewatch.alerts.channels.base import Envelope
from wagewatch.alerts.channels.email import build_email


def write_eml(msg: EmailMessage, directory: Path, name: str) -> str:
    """Write atomically as `<name>.eml`; writing the same name again replaces the file."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{name}.eml"
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(bytes(msg))
    os.replace(tmp, target)
    return str(target)


def write_outbox(envelope: Envelope, directory: Path, sender: str) -> str:
    return write_eml(
        build_email(envelope, sender), directory, f"{envelope.kind}-{envelope.delivery_id:08d}-{envelope.channel.type}"
    )
