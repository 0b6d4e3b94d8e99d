"""The channel registry: every way of reaching a person is one Alerter class, registered under the channel
type that cities.yaml names (the way ElastAlert 2 registers its alerters). Adding a channel is one class in
one module of this package plus `@register`; the dispatcher, the report mailer and the ops notices all send
through `send()` below without knowing which channels exist."""

from __future__ import annotations

from typing import ClassVar

from wagewatch.alerts.channels.base import ChannelError, Envelope
from wagewatch.alerts.channels.email import SmtpPool
from wagewatch.core.config import AppConfig


class Alerter:
    """One channel type. `send` delivers one envelope and returns an id for the audit trail, or raises
    ChannelError saying whether a retry is safe (see ChannelError)."""

    name: ClassVar[str]
    # A group robot: everyone in the group reads the message, so it must carry nothing personal (no token).
    group: ClassVar[bool] = False

    def __init__(self, config: AppConfig, smtp_pool: SmtpPool | None = None) -> None:
        self.config = config
        self.smtp_pool = smtp_pool  # a drain's open SMTP connections, reused from message to message

    def send(self, envelope: Envelope) -> str:
        raise NotImplementedError


ALERTERS: dict[str, type[Alerter]] = {}


def register(cls: type[Alerter]) -> type[Alerter]:
    """Class decorator: make `cls` the alerter for channels of type `cls.name`."""
    if cls.name in ALERTERS:
        raise ValueError(f"channel type {cls.name!r} is registered twice")
    ALERTERS[cls.name] = cls
    return cls


def send(envelope: Envelope, config: AppConfig, smtp_pool: SmtpPool | None = None) -> str:
    """Deliver on the envelope's channel and return a message id; raises ChannelError."""
    alerter = ALERTERS.get(envelope.channel.type)
    if alerter is None:
        raise ChannelError(f"channel type {envelope.channel.type!r} is not supported", permanent=True)
    return alerter(config, smtp_pool).send(envelope)
