"""Queueing deliveries in the store. The unique key (incident, recipient, channel, reason) makes every
queueing idempotent: asking twice for the same message adds nothing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from wagewatch.alerts.holding import Release
from wagewatch.core.config import AppConfig, Channel, Person
from wagewatch.core.store import Database
from wagewatch.core.store.models import AlertDelivery

# The last resort of ops notices: a file in the local outbox, which needs no network and no other service.
OUTBOX = Channel(type="outbox")


def channel_at(person: Person, index: int) -> Channel | None:
    """The person's channel at `index`; one past their last channel is the outbox."""
    if index < len(person.channels):
        return person.channels[index]
    return OUTBOX if index == len(person.channels) else None


def _next_index(person: Person, after: int, avoid: str | None, outbox_last: bool) -> int | None:
    for index in range(after + 1, len(person.channels)):
        channel = person.channels[index]
        if channel.configured() and channel.type != avoid:
            return index
    return len(person.channels) if outbox_last and after < len(person.channels) else None


def queue_delivery(
    session: Session,
    db: Database,
    incident_id: int,
    person: Person,
    reason: str,
    release: Release,
    after_channel: int = -1,
    avoid: str | None = None,
) -> int:
    """Queue a message to `person` on their first configured channel after `after_channel` (and not of type
    `avoid`); 1 if new.

    A fallback (after_channel >= 0) with no channel left queues nothing, except for ops notices, whose last
    resort is the outbox. A first message to a person none of whose channels is configured still goes on
    their first channel, so that it fails visibly (dead letter, ops told) instead of vanishing.
    """
    index = _next_index(person, after_channel, avoid, outbox_last=reason.startswith("ops-"))
    if index is None:
        if after_channel >= 0:
            return 0
        index = 0
    channel = channel_at(person, index)
    assert channel is not None  # index comes from _next_index or is 0, both within reach
    created = db.insert_ignore(
        session,
        AlertDelivery,
        dict(
            incident_id=incident_id,
            recipient_id=person.id,
            channel=channel.type,
            channel_index=index,
            reason=reason,
            status=release.status,
            attempts=0,
            next_attempt_at=release.at,
            created_at=release.at,
        ),
    )
    return int(created is not None)


def notify_ops(
    session: Session, db: Database, config: AppConfig, delivery: AlertDelivery, what: str, release: Release
) -> int:
    """Tell the provincial ops contacts that `delivery` is dead or its fate unknown, on a channel of another
    type than the one that failed (a broken SMTP server must not swallow the notice about itself). Never about
    an ops notice, which would loop: those fall back along the ops person's channels to the outbox instead."""
    if delivery.reason.startswith("ops-"):
        return 0
    return sum(
        queue_delivery(
            session, db, delivery.incident_id, person, f"ops-{what}-{delivery.id}", release, avoid=delivery.channel
        )
        for person in config.cities.province.with_role("ops")
    )
