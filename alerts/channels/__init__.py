"""Delivery channels. Each channel turns an AlertMessage into one message on its wire format and returns
an id for the audit trail; failures raise ChannelError. Importing this package registers every channel
(see registry.py)."""

from wagewatch.alerts.channels import dingtalk, outbox, webhook, wecom  # noqa: F401 - registration
from wagewatch.alerts.channels.base import ChannelError, Envelope
from wagewatch.alerts.channels.registry import ALERTERS, send

__all__ = ["ALERTERS", "ChannelError", "Envelope", "send"]
