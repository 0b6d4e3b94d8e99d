"""Queueing deliveries in the store. The unique key (incident, recipient, channel, reason) makes every
queueing idempotent: asking twice for the same message adds nothing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from wagewatch.alerts.holding import Release
from wagewatch.core.config import AppConfig, Person
from wagewatch.core.store import Database
from wagewatch.core.store.models import AlertDelivery


def queue_delivery(
    session: Session,
    db: Database,
    incident_id: int,
    person: Person,
    reason: str,
    release: Release,
    after_channel: int = -1,
) -> int:
    """Queue a message to `person` on their first configured channel after `after_channel`; 1 if new.

    A fallback (after_channel >= 0) with no channel left queues nothing. A first message to a person none of
    whose channels is configured still goes on their first channel, so that it fails visibly (dead letter,
    ops told) instead of vanishing.
    """
    index = person.next_channel(after_channel)
    if index is None:
        if after_channel >= 0:
            return 0
        index = 0
    created = db.insert_ignore(
        session,
        AlertDelivery,
        dict(
            incident_id=incident_id,
            recipient_id=person.id,
            channel=person.channels[index].type,
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
    """Tell the provincial ops contacts that `delivery` is dead or its fate unknown (never about an ops notice,
    which would loop)."""
    if delivery.reason.startswith("ops-"):
        return 0
    return sum(
        queue_delivery(session, db, delivery.incident_id, person, f"ops-{what}-{delivery.id}", release)
        for person in config.cities.province.with_role("ops")
    )
