"""The one send routine for every stored outgoing message: alerts, digests, escalations, reminders, reports
and ops notices.

A message row is claimed with one conditional UPDATE (`... WHERE status IN (due states) AND next_attempt_at
<= now`, over rows chosen `FOR UPDATE SKIP LOCKED` on PostgreSQL) that sets it `sending` with a lease; only
the worker whose UPDATE returned the row sends it, so any number of workers on SQLite or one PostgreSQL never
send a message twice. The claim is committed before anything leaves the process. A row still `sending` after
its lease is over belonged to a worker that died mid-send: it becomes `unknown` (never re-sent) and someone is
told. Before the lease is over it is left alone: its worker may still be sending.

Rows are claimed in waves: as many as the channel type may have in flight at once (`settings.yaml`:
`dispatch.concurrency`), prepared in one session, sent side by side (`Sender`: one thread pool per channel
type, SMTP connections kept open for the whole drain) and recorded in one transaction. A wave is exactly what
is in flight, so a crash leaves at most one wave `unknown`, and nothing that was not yet on its way; with
`dispatch.senders: 1` that is the one message being sent, as when sends went one by one.

Failures follow ChannelError: nothing left (retry with back-off, then dead and the next channel), refused for
good (dead at once), or ambiguous (the message may have arrived: `unknown`, never retried).

Group robots accept about 20 messages a minute (`dispatch.robot_messages_per_minute`): above that, a row that
is not urgent (an alert below severity 4) goes back to the digest status until the robot has room, and all such
rows of one recipient leave together as one digest message; urgent rows are never held back.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Select, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from wagewatch.alerts.channels import ALERTERS, ChannelError, Envelope, send
from wagewatch.alerts.channels.email import SmtpPool
from wagewatch.core import clock
from wagewatch.core.config import AppConfig, Policy
from wagewatch.core.states import SendStatus
from wagewatch.core.store import Database
from wagewatch.core.store.models import AuditEvent, table_of

DUE = ("pending", "failed", "digest")
EXPIRED = "发送进程在发送过程中中断（租约已过期），是否送达未知；为避免重复发送未自动重发，请人工核实"
ROBOT_WINDOW = timedelta(minutes=1)
log = logging.getLogger("wagewatch.alerts.delivery")


@dataclass
class Tally:
    """What a send pass did: sent, failed (will be retried), dead (given up, someone told), unknown, and
    folded (held back by a robot's rate limit for a digest message)."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    unknown: int = 0
    folded: int = 0

    def __iadd__(self, other: Tally) -> Tally:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)
        return self

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _claim(session: Session, model: Any, pick: Select, now: datetime, lease: timedelta) -> list[int]:
    """Set the still-due rows that `pick` selects to `sending` with a lease; the ids this call won."""
    due = pick.where(model.status.in_(DUE), model.next_attempt_at <= now).with_for_update(skip_locked=True, of=model)
    won = session.scalars(
        update(model)
        .where(model.id.in_(due), model.status.in_(DUE))
        .values(status="sending", attempts=model.attempts + 1, lease_until=now + lease)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    ).all()
    return sorted(won)


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
Urgent = Callable[[Session, Any], bool]


class RobotBudget:
    """Messages each group robot (by its webhook URL) took in the last minute, to stay under the rate its
    service accepts. Started from the store's record of recent robot sends (other workers' included) at the
    beginning of a drain, then kept up to date by the drain itself."""

    def __init__(self, per_minute: int, recent: Iterable[tuple[str, datetime]] = ()) -> None:
        self.per_minute = per_minute
        self._sent: dict[str, deque[datetime]] = defaultdict(deque)
        self._lock = threading.Lock()
        for url, at in sorted(recent, key=lambda pair: pair[1]):
            self._sent[url].append(at)

    def admit(self, url: str, cost: int, urgent: bool, now: datetime) -> datetime | None:
        """Take `cost` messages of the robot's minute and return None, or, when that would go over the rate
        and the message is not urgent, take nothing and return when there will be room."""
        with self._lock:
            sent = self._sent[url]
            while sent and sent[0] <= now - ROBOT_WINDOW:
                sent.popleft()
            excess = len(sent) + cost - self.per_minute  # how many of the minute's sends must age out first
            if not urgent and excess > 0 and sent:
                return sent[min(excess, len(sent)) - 1] + ROBOT_WINDOW
            sent.extend([now] * cost)
            return None


class Sender:
    """Sends the envelopes of one drain: side by side, at most `dispatch.concurrency.<type>` at once per
    channel type and `dispatch.senders` in all; SMTP connections kept open from message to message (one per
    server and sending thread, QUIT at `close`); group robots kept under their rate (`budget`)."""

    def __init__(self, config: AppConfig, recent_robot_sends: Iterable[tuple[str, datetime]] = ()) -> None:
        self.config = config
        self.settings = config.settings.dispatch
        self.smtp = SmtpPool()
        self.budget = RobotBudget(self.settings.robot_messages_per_minute, recent_robot_sends)
        self._slots = threading.BoundedSemaphore(self.settings.senders)
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._lock = threading.Lock()

    def _kind(self, channel_type: str) -> str:
        """The channel type whose limit applies: without an SMTP server, email is written to the outbox."""
        return "outbox" if channel_type == "email" and not self.config.settings.smtp.host else channel_type

    def limit(self, channel_type: str) -> int:
        """How many messages of this channel type may be in flight at once: the size of its waves."""
        return min(getattr(self.settings.concurrency, self._kind(channel_type)), self.settings.senders)

    def _pool(self, channel_type: str) -> ThreadPoolExecutor:
        with self._lock:
            if channel_type not in self._pools:
                self._pools[channel_type] = ThreadPoolExecutor(self.limit(channel_type), f"send-{channel_type}")
            return self._pools[channel_type]

    def send_all(self, envelopes: list[Envelope]) -> list[str | ChannelError]:
        """Send every envelope (side by side within the limits); each one's message id or error, in order.
        Outbox files are written by the calling thread: a write waits on nothing, and handing it to a pool
        thread cost more CPU than the write (a tenth of a delivery's)."""
        futures = [
            None if self._kind(e.channel.type) == "outbox" else self._pool(e.channel.type).submit(self._send_one, e)
            for e in envelopes
        ]
        return [self._send_one(e) if f is None else f.result() for e, f in zip(envelopes, futures, strict=True)]

    def _send_one(self, envelope: Envelope) -> str | ChannelError:
        with self._slots:
            try:
                return send(envelope, self.config, self.smtp)
            except ChannelError as exc:
                return exc
            except Exception as exc:  # a fault of ours mid-send: the message may or may not have left
                log.exception("sending delivery %s failed unexpectedly", envelope.delivery_id)
                return ChannelError(f"unexpected error while sending: {exc.__class__.__name__}: {exc}", ambiguous=True)

    def hold(self, envelope: Envelope, urgent: Callable[[], bool]) -> datetime | None:
        """None when the envelope may go now; for a group robot over its rate, when to try it again (never for
        an `urgent` one)."""
        url = envelope.channel.url
        if not ALERTERS[envelope.channel.type].group or not url:
            return None
        # WeCom's @-mention is a second message after the markdown one (see channels.wecom).
        cost = 2 if envelope.channel.type == "wecom" and envelope.person.mobile else 1
        return self.budget.admit(url, cost, urgent(), clock.now())

    def close(self) -> None:
        for pool in self._pools.values():
            pool.shutdown()
        self.smtp.close()


@dataclass
class _Prepared:
    ids: list[int]
    rows: list[Any] = field(default_factory=list)  # as claimed (detached): what a sent row's audit names
    envelope: Envelope | None = None
    error: ChannelError | None = None  # cannot go at all
    hold_until: datetime | None = None  # folded: a robot over its rate
    outcome: str | ChannelError | None = field(default=None)


@dataclass
class Outgoing:
    """How one kind of message row is sent: its table, audit names, how to build its envelope (raise a
    permanent ChannelError when it cannot go at all) and what to do when one is dead or unknown.

    `fold_status`: where a row waits when a group robot is over its rate (None: such rows are sent anyway);
    `urgent`: whether a row must go even then; `prefetch`: read and render, in the lane's read session and
    before they are claimed, what the rows a lane just fetched will need (one set of queries per fetch, and
    the claim's write transaction is left with only the claim, the link tokens and the envelopes);
    `prepared`: called in that transaction once a wave's envelopes are built (to store what `prepare` left
    in the session, such as the link tokens, in one statement)."""

    model: Any
    entity: str
    actor: str
    prepare: Prepare
    gave_up: GaveUp
    retry_status: str = "failed"
    fold_status: str | None = None
    urgent: Urgent = lambda session, row: True
    prefetch: Callable[[Session, list[int]], None] | None = None
    prepared: Callable[[Session], None] | None = None

    def _audit(self, row: Any, action: str, detail: dict) -> dict[str, Any]:
        return dict(
            actor=self.actor,
            entity=self.entity,
            entity_id=row.id,
            action=action,
            detail={"recipient": row.recipient_id, "channel": getattr(row, "channel", "email"), **detail},
            at=clock.now(),
        )

    def expire(self, db: Database) -> int:
        """Turn rows whose sender vanished into `unknown` and tell someone about each."""
        with db.session(write=True) as session:
            rows = expire_leases(session, self.model)
            for row in rows:
                session.add(AuditEvent(**self._audit(row, "unknown", {"error": row.last_error})))
                self.gave_up(session, row)
            return len(rows)

    def pick(self, ids: list[int]) -> Select:
        """Select the rows `ids` (those still due are claimed)."""
        return select(self.model.id).where(self.model.id.in_(ids))

    def deliver(self, db: Database, config: AppConfig, pick: Select, sender: Sender | None = None) -> Tally | None:
        """Claim the due rows `pick` selects (e.g. `self.pick(ids)`) and send them as one message (a digest, a
        report); None when there was nothing to claim."""
        if sender is not None:
            return self._wave(db, config, pick, sender, one_message=True)
        own = Sender(config)
        try:
            return self._wave(db, config, pick, own, one_message=True)
        finally:
            own.close()

    def deliver_each(self, db: Database, config: AppConfig, pick: Select, sender: Sender) -> Tally | None:
        """Claim the due rows `pick` selects (one wave: limit it to what may be in flight at once) and send each
        as its own message, side by side; None when there was nothing to claim."""
        return self._wave(db, config, pick, sender, one_message=False)

    def _wave(self, db: Database, config: AppConfig, pick: Select, sender: Sender, one_message: bool) -> Tally | None:
        now = clock.now()
        lease = timedelta(seconds=config.policy.send_lease_seconds)
        # The claim and the envelopes (with the link tokens they carry) in one short transaction, committed before
        # anything leaves; on SQLite it holds the write lock from its start, so it never has to turn a read into
        # a write (which fails at once when another connection wrote meanwhile).
        with db.session(write=True) as session, session.no_autoflush:
            claimed = _claim(session, self.model, pick, now, lease)
            if not claimed:
                return None
            waves = [_Prepared(claimed)] if one_message else [_Prepared([row_id]) for row_id in claimed]
            loaded = {row.id: row for row in session.scalars(select(self.model).where(self.model.id.in_(claimed)))}
            for item in waves:
                item.rows = rows = [loaded[row_id] for row_id in item.ids]
                try:
                    item.envelope = self.prepare(session, rows)
                except ChannelError as exc:  # cannot go at all (recipient or channel left the config)
                    item.error = exc
                    continue
                if self.fold_status is not None:
                    item.hold_until = sender.hold(item.envelope, partial(self.urgent, session, rows[0]))
            if self.prepared is not None:
                self.prepared(session)
        going = [(item, item.envelope) for item in waves if item.envelope and not item.error and not item.hold_until]
        for (item, _), outcome in zip(going, sender.send_all([envelope for _, envelope in going]), strict=True):
            item.outcome = outcome
        with db.session(write=True) as session:
            return self._record(session, config, waves)

    def _record(self, session: Session, config: AppConfig, waves: list[_Prepared]) -> Tally:
        """Write a wave's outcomes in one transaction: the sent rows (nearly all of them) and their audit trail
        in two Core statements; only rows that were folded or failed are loaded as objects."""
        tally, sent, audits = Tally(), [], []
        unsent = [item for item in waves if item.hold_until is not None or not isinstance(item.outcome, str)]
        loaded = (
            {
                row.id: row
                for row in session.scalars(
                    select(self.model).where(self.model.id.in_([i for item in unsent for i in item.ids]))
                )
            }
            if unsent
            else {}
        )
        for item in waves:
            if item not in unsent:
                now = clock.now()
                for row in item.rows:
                    sent.append({"row_id": row.id, "at": now, "message": item.outcome})
                    audits.append(self._audit(row, "sent", {}))
                tally.sent += len(item.rows)
                continue
            rows = [loaded[row_id] for row_id in item.ids if row_id in loaded]
            if item.hold_until is not None:
                for row in rows:  # not tried: the attempt the claim counted is given back
                    row.status, row.attempts, row.lease_until = self.fold_status, row.attempts - 1, None
                    row.next_attempt_at = item.hold_until
                    audits.append(self._audit(row, "folded", {"until": item.hold_until.isoformat()}))
                tally.folded += len(rows)
                continue
            failure = item.error or item.outcome
            assert isinstance(failure, ChannelError)  # neither folded nor sent: it failed
            tally += self._failed(session, config, [r for r in rows if r.status == "sending"], failure)
        table = table_of(self.model)
        if sent:
            session.execute(
                update(table)
                .where(table.c.id == bindparam("row_id"))
                .values(
                    status=SendStatus.SENT,
                    lease_until=None,
                    sent_at=bindparam("at"),
                    message_id=bindparam("message"),
                ),
                sent,
            )
        if audits:
            session.execute(insert(table_of(AuditEvent)), audits)
        return tally

    def _failed(self, session: Session, config: AppConfig, rows: list[Any], exc: ChannelError) -> Tally:
        tally = Tally()
        for row in rows:
            if not record_failed_send(row, exc, config.policy, self.retry_status):
                tally.failed += 1
                continue
            setattr(tally, row.status, getattr(tally, row.status) + 1)
            session.add(
                AuditEvent(
                    **self._audit(
                        row, row.status, {"error": str(exc)[:500], "ops_contact": config.settings.ops_contact}
                    )
                )
            )
            self.gave_up(session, row)
        return tally


def drain(
    outgoing: Outgoing,
    db: Database,
    config: AppConfig,
    lanes: dict[str, Select],
    sender: Sender,
    fetch: int = 256,
    rounds: int | None = None,
) -> Tally:
    """Send every due row that `lanes` selects (one ordered query of row ids per channel type, due rows only):
    the channel types side by side (in the order given), each in waves of its concurrency limit, so that a slow
    SMTP server or robot holds up only its own channel. Each lane reads the next `fetch` ids in order at a time
    (one sort of the backlog, not one per wave) and claims them wave by wave; ids another worker took meanwhile
    are simply not won. With `rounds`, each lane stops after that many fetches (the caller looks for more
    urgent work in between)."""

    def run(lane: str) -> Tally:
        tally, size = Tally(), sender.limit(lane)
        for _ in itertools.repeat(None) if rounds is None else range(rounds):
            with db.session() as session:
                ids = list(session.scalars(lanes[lane].limit(fetch)))
                if ids and outgoing.prefetch is not None:
                    outgoing.prefetch(session, ids)
            if not ids:
                return tally
            for start in range(0, len(ids), size):
                tally += outgoing.deliver_each(db, config, outgoing.pick(ids[start : start + size]), sender) or Tally()
        return tally

    total = Tally()
    with ThreadPoolExecutor(max(1, min(len(lanes), sender.settings.senders)), "drain") as lanes_pool:
        for outcome in lanes_pool.map(run, lanes):
            total += outcome
    return total
