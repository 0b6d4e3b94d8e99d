"""Queueing deliveries in the store. The unique key (incident, recipient, channel, reason) makes every
queueing idempotent: asking twice for the same message adds nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from wagewatch.alerts.channels import ALERTERS
from wagewatch.alerts.holding import Release
from wagewatch.core import clock
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
    `avoid`); 1 if new."""
    values = delivery_values(incident_id, person, reason, release, after_channel, avoid)
    return int(values is not None and db.insert_ignore(session, AlertDelivery, values) is not None)


def queue_deliveries(session: Session, db: Database, rows: list[dict]) -> int:
    """Queue many deliveries (`delivery_values` each) in one statement; how many were new."""
    return db.insert_ignore_many(session, AlertDelivery, rows) if rows else 0


def delivery_values(
    incident_id: int,
    person: Person,
    reason: str,
    release: Release,
    after_channel: int = -1,
    avoid: str | None = None,
) -> dict | None:
    """The delivery row of a message to `person` on their first configured channel after `after_channel` (and
    not of type `avoid`), or None when there is none.

    A fallback (after_channel >= 0) with no channel left queues nothing, except for ops notices, whose last
    resort is the outbox. A first message to a person none of whose channels is configured still goes on
    their first channel, so that it fails visibly (dead letter, ops told) instead of vanishing.
    """
    index = _next_index(person, after_channel, avoid, outbox_last=reason.startswith("ops-"))
    if index is None:
        if after_channel >= 0:
            return None
        index = 0
    channel = channel_at(person, index)
    assert channel is not None  # index comes from _next_index or is 0, both within reach
    return dict(
        incident_id=incident_id,
        recipient_id=person.id,
        channel=channel.type,
        channel_index=index,
        reason=reason,
        status=release.status,
        attempts=0,
        next_attempt_at=release.at,
        created_at=release.at,
    )


def recent_robot_sends(session: Session, config: AppConfig) -> list[tuple[str, datetime]]:
    """(robot URL, when) for each message a group robot took in the last minute, as the store records them
    (a digest's rows share one message; a WeCom alert with an @-mention is two)."""
    since = clock.now() - timedelta(minutes=1)
    groups = [name for name, alerter in ALERTERS.items() if alerter.group]
    rows = session.execute(
        select(AlertDelivery.message_id, AlertDelivery.recipient_id, AlertDelivery.channel_index, AlertDelivery.sent_at)
        .distinct()
        .where(AlertDelivery.channel.in_(groups), AlertDelivery.status == "sent", AlertDelivery.sent_at > since)
    ).all()
    sends: list[tuple[str, datetime]] = []
    for _, recipient, index, sent_at in rows:
        person = config.cities.person(recipient)
        channel = channel_at(person, index) if person else None
        if person is not None and channel is not None and channel.url and sent_at is not None:
            sends += [(channel.url, sent_at)] * (2 if channel.type == "wecom" and person.mobile else 1)
    return sends


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
