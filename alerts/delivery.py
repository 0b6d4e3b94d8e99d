"""The one send routine for every stored outgoing message: alerts, digests, escalations, reminders, reports
and ops notices.

A message row is claimed with one conditional UPDATE (`... WHERE status IN (due states) AND next_attempt_at
<= now`, over rows chosen `FOR UPDATE SKIP LOCKED` on PostgreSQL) that sets it `sending` with a lease; only
the worker whose UPDATE returned the row sends it, so any number of workers on SQLite or one PostgreSQL never
send a message twice. The claim is committed before anything leaves the process. A row still `sending` after
its lease is over belonged to a worker that died mid-send: it becomes `unknown` (never re-sent) and someone is
told. Before the lease is over it is left alone: its worker may still be sending.

Failures follow ChannelError: nothing left (retry with back-off, then dead and the next channel), refused for
good (dead at once), or ambiguous (the message may have arrived: `unknown`, never retried).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session

from wagewatch.alerts.channels import ChannelError, Envelope, send
from wagewatch.core import clock
from wagewatch.core.config import AppConfig, Policy
from wagewatch.core.states import SendStatus
from wagewatch.core.store import Database
from wagewatch.core.store.models import AuditEvent

DUE = ("pending", "failed", "digest")
EXPIRED = "发送进程在发送过程中中断（租约已过期），是否送达未知；为避免重复发送未自动重发，请人工核实"


@dataclass
class Tally:
    """What a send pass did: sent, failed (will be retried), dead (given up, someone told), unknown."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    unknown: int = 0

    def __iadd__(self, other: Tally) -> Tally:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)
        return self

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _claim(session: Session, model: Any, pick: Select, now: datetime, lease: timedelta) -> list[Any]:
    """Set the still-due rows that `pick` selects to `sending` with a lease; the rows this call won."""
    due = pick.where(model.status.in_(DUE), model.next_attempt_at <= now).with_for_update(skip_locked=True, of=model)
    won = session.scalars(
        update(model)
        .where(model.id.in_(due), model.status.in_(DUE))
        .values(status="sending", attempts=model.attempts + 1, lease_until=now + lease)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    ).all()
    return [session.get(model, row_id, populate_existing=True) for row_id in sorted(won)]


def expire_leases(session: Session, model: Any) -> list[Any]:
    """Rows left `sending` past their lease become `unknown`; returns them (each to exactly one caller)."""
    now = clock.now()
    won = session.scalars(
        update(model)
        .where(model.status == "sending", or_(model.lease_until.is_(None), model.lease_until <= now))
        .values(status="unknown", last_error=EXPIRED, lease_until=None)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    ).all()
    return [session.get(model, row_id, populate_existing=True) for row_id in sorted(won)]


def record_failed_send(row: Any, exc: ChannelError, policy: Policy, retry_status: str = SendStatus.FAILED) -> bool:
    """Update a message row (status, attempts, last_error, next_attempt_at) after a failed send and say whether
    someone must be told (True: it will not be tried again on this channel).

    Ambiguous errors (the message may have arrived) make it `unknown`, never retried; permanent errors and
    used-up attempts make it `dead`; anything else is tried again after an exponential back-off, back in
    `retry_status`.
    """
    row.last_error = str(exc)[:2000]
    row.lease_until = None
    if exc.ambiguous:
        row.status = SendStatus.UNKNOWN
        return True
    if exc.permanent or row.attempts >= policy.max_send_attempts:
        row.status = SendStatus.DEAD
        return True
    row.status = retry_status
    row.next_attempt_at = clock.now() + policy.retry_delay(row.attempts)
    return False


Prepare = Callable[[Session, list[Any]], Envelope]
GaveUp = Callable[[Session, Any], None]


@dataclass
class Outgoing:
    """How one kind of message row is sent: its table, audit names, how to build its envelope (raise a
    permanent ChannelError when it cannot go at all) and what to do when one is dead or unknown."""

    model: Any
    entity: str
    actor: str
    prepare: Prepare
    gave_up: GaveUp
    retry_status: str = "failed"

    def _audit(self, session: Session, row: Any, action: str, detail: dict) -> None:
        session.add(
            AuditEvent(
                actor=self.actor,
                entity=self.entity,
                entity_id=row.id,
                action=action,
                detail={"recipient": row.recipient_id, "channel": getattr(row, "channel", "email"), **detail},
            )
        )

    def expire(self, db: Database) -> int:
        """Turn rows whose sender vanished into `unknown` and tell someone about each."""
        with db.session(write=True) as session:
            rows = expire_leases(session, self.model)
            for row in rows:
                self._audit(session, row, "unknown", {"error": row.last_error})
                self.gave_up(session, row)
            return len(rows)

    def pick(self, ids: list[int]) -> Select:
        """Select the rows `ids` (those still due are claimed)."""
        return select(self.model.id).where(self.model.id.in_(ids))

    def deliver(self, db: Database, config: AppConfig, pick: Select) -> Tally | None:
        """Claim the due rows `pick` selects (e.g. `self.pick(ids)`, or the next one due: `... LIMIT 1`), send
        them as one message and record the outcome; None when there was nothing to claim."""
        now = clock.now()
        lease = timedelta(seconds=config.policy.send_lease_seconds)
        with db.session(write=True) as session:  # the claim: a short transaction, committed before anything leaves
            claimed = [row.id for row in _claim(session, self.model, pick, now, lease)]
        if not claimed:
            return None
        try:
            # Rendering reads without holding a lock; what it adds (a link token) is written at the commit.
            with db.session() as session, session.no_autoflush:
                envelope = self.prepare(session, [session.get(self.model, row_id) for row_id in claimed])
        except ChannelError as exc:  # cannot go at all (recipient or channel left the config)
            with db.session(write=True) as session:
                return self._failed(session, config, [session.get(self.model, row_id) for row_id in claimed], exc)
        try:
            message_id = send(envelope, config)
        except ChannelError as exc:
            with db.session(write=True) as session:
                rows = [session.get(self.model, row_id) for row_id in claimed]
                return self._failed(session, config, [r for r in rows if r and r.status == "sending"], exc)
        with db.session() as session:
            for row_id in claimed:
                row = session.get(self.model, row_id)
                assert row is not None  # claimed rows are never deleted
                row.status, row.sent_at, row.message_id, row.lease_until = "sent", clock.now(), message_id, None
                self._audit(session, row, "sent", {})
        return Tally(sent=len(claimed))

    def _failed(self, session: Session, config: AppConfig, rows: list[Any], exc: ChannelError) -> Tally:
        tally = Tally()
        for row in rows:
            if not record_failed_send(row, exc, config.policy, self.retry_status):
                tally.failed += 1
                continue
            setattr(tally, row.status, getattr(tally, row.status) + 1)
            self._audit(session, row, row.status, {"error": str(exc)[:500], "ops_contact": config.settings.ops_contact})
            self.gave_up(session, row)
        return tally
