"""The local outbox: messages written as .eml files when no SMTP server is configured (embedded default),
and the last resort of ops notices. The files carry officers' links, so only the service's user may read
them: the folder is 0700 and every file 0600 from the moment it exists."""

from __future__ import annotations

import os
from email.message import Message
from pathlib import Path

from wagewatch.alerts.channels.base import Envelope
from wagewatch.alerts.channels.email import as_bytes, build_email, send_email
from wagewatch.alerts.channels.registry import Alerter, register

_private: set[Path] = set()  # folders this process has made 0700 (a drain writes thousands of files into one)


def _make_private(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    _private.add(directory)


def write_eml(msg: Message, directory: Path, name: str) -> str:
    """Write atomically as `<name>.eml`; writing the same name again replaces the file."""
    if directory not in _private:
        _make_private(directory)
    target = directory / f"{name}.eml"
    tmp = target.with_suffix(".tmp")
    data = memoryview(as_bytes(msg))
    while True:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            break
        except FileExistsError:  # a leftover from a crash keeps its old mode: start afresh
            tmp.unlink(missing_ok=True)
        except FileNotFoundError:  # the folder was removed since this process made it
            _make_private(directory)
    try:
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)
    os.replace(tmp, target)
    return str(target)


def write_outbox(envelope: Envelope, directory: Path, sender: str) -> str:
    return write_eml(
        build_email(envelope, sender), directory, f"{envelope.kind}-{envelope.delivery_id:08d}-{envelope.channel.type}"
    )


@register
class EmailAlerter(Alerter):
    """Email through the configured SMTP server, or into the outbox when there is none."""

    name = "email"

    def send(self, envelope: Envelope) -> str:
        settings = self.config.settings
        if settings.smtp.host:
            return send_email(envelope, settings.smtp, self.smtp_pool)
        return write_outbox(envelope, Path(settings.outbox_dir), settings.smtp.sender)


@register
class OutboxAlerter(Alerter):
    name = "outbox"

    def send(self, envelope: Envelope) -> str:
        settings = self.config.settings
        return write_outbox(envelope, Path(settings.outbox_dir), settings.smtp.sender)
