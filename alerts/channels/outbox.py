"""The local outbox: alerts written as .eml files when no SMTP server is configured (embedded default)."""

from __future__ import annotations

import os
from pathlib import Path

from alerts.channels.base import Envelope
from alerts.channels.email import build_email


def write_outbox(envelope: Envelope, directory: Path, sender: str) -> str:
    """Write the message atomically as `<delivery id>.eml`; writing it again replaces the same file."""
    directory.mkdir(parents=True, exist_ok=True)
    msg = build_email(envelope, sender)
    target = directory / f"{envelope.kind}-{envelope.delivery_id:08d}-{envelope.channel.type}.eml"
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(bytes(msg))
    os.replace(tmp, target)
    return str(target)
