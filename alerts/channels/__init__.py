"""Delivery channels. Each channel turns an AlertMessage into one message on its wire format and returns
an id for the audit trail; failures raise ChannelError."""

from wagewatch.alerts.channels.base import ChannelError, Envelope

__all__ = ["ChannelError", "Envelope"]
