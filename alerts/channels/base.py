"""What every channel receives, and how it says it failed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wagewatch.alerts.render import AlertMessage
from wagewatch.core.config import Channel, Person


class ChannelError(Exception):
    """Sending failed.

    `permanent`: retrying cannot help (bad address, rejected signature); the delivery is dead-lettered at once.
    `ambiguous`: the request may have reached the other side (the connection broke after it was sent), so
    retrying on this channel could deliver twice; the dispatcher treats it like a crash mid-send.
    Neither: nothing left this process, a retry with backoff is safe.
    """

    def __init__(self, message: str, permanent: bool = False, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.ambiguous = ambiguous


@dataclass
class Envelope:
    delivery_id: int
    person: Person
    channel: Channel
    message: AlertMessage
    # Names the Message-ID and outbox file; ops alerts ("ops") number their messages apart from deliveries.
    kind: str = "delivery"
    attachments: tuple[Path, ...] = ()  # files sent along by email (the reports)
