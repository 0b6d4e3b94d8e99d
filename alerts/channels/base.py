"""What every channel receives."""

from __future__ import annotations

from dataclasses import dataclass

from alerts.render import AlertMessage
from wagewatch.config import Channel, Person


class ChannelError(Exception):
    """Sending failed; `permanent` errors are not retried."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass
class Envelope:
    delivery_id: int
    person: Person
    channel: Channel
    message: AlertMessage
    # Names the Message-ID and outbox file; ops alerts ("ops") number their messages apart from deliveries.
    kind: str = "delivery"
