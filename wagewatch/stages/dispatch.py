"""Dispatch stage: turn pending incidents into leads and deliveries, then deliver them.

Delivery semantics: at most once per (incident, recipient, channel, reason), enforced by the store's unique
key. A delivery is marked `sending` and committed before the message leaves; if the process dies before the
result is recorded, the next run finds it still `sending`, marks it `unknown` (never re-sends it) and tells
the ops contact. A channel error that may have reached the other side (the connection broke after the
request was sent) is treated the same way. We chose this side over at-least-once because a duplicate alert
to a city leader costs trust and the officers act on every message, while a lost one is still caught: the
lead stays 待签收, so it escalates on schedule and, at severity 3-4, reaches the same person on their next
channel when not acknowledged in time — each of those is a new key, delivered at most once itself.

Errors where nothing left this process are retried with exponential backoff; after the last attempt, or at
once for a permanent error, the delivery is dead-lettered, the ops contact is told, and the person is tried
on their next configured channel (SMS, then email). Low-severity alerts wait for the digest or the end of
quiet hours (wagewatch.alerts.holding); several digest deliveries for one person go out as one message.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Select, bindparam, desc, func, insert, select, update
from sqlalchemy.orm import Session, defer, selectinload

from wagewatch.alerts.channels import ALERTERS, ChannelError, Envelope
from wagewatch.alerts.delivery import Outgoing, Sender, Tally, drain
from wagewatch.alerts.holding import Release, held_for_digest, release
from wagewatch.alerts.queue import (
    channel_at,
    delivery_values,
    notify_ops,
    queue_deliveries,
    queue_delivery,
    recent_robot_sends,
)
from wagewatch.alerts.realert import heat_jumped, severity_rose
from wagewatch.alerts.render import (
    AlertMessage,
    AlertView,
    DigestView,
    PostView,
    SharedAlert,
    render_digest,
    render_shared,
)
from wagewatch.alerts.routing import Target, route
from wagewatch.classifier.api import PASSAGE_PREFIX
from wagewatch.core import clock
from wagewatch.core.config import SHANDONG_CITIES, AppConfig, Person, Policy
from wagewatch.core.states import AlertState, Indexed, LeadKind, LeadStatus
from wagewatch.core.store import Database
from wagewatch.core.store.models import (
    AlertDelivery,
    Analysis,
    AuditEvent,
    Incident,
    Lead,
    Post,
    enqueue_index,
    table_of,
)
from wagewatch.ledger import tokens
from wagewatch.ledger.deadlines import deadline
from wagewatch.stages.escalate import follow_up_note

ACTOR = "system:dispatch"
PLAN_BATCH = 200


def _most_severe_first(severity):
    """Ordering for backlogs: false claims and unplaced incidents (no severity) rank with severity 2."""
    return func.coalesce(severity, 2).desc()


def _lead_kind(reason: str) -> str:
    return {"clarify": LeadKind.CLARIFY, "transfer": LeadKind.TRANSFER}.get(reason, LeadKind.NEW)


def _involved_cities(session: Session, incidents: list[Incident]) -> dict[int, set[str]]:
    """The Shandong cities each incident's posts are about, its own city included."""
    cities: dict[int, set[str]] = {i.id: {i.city} if i.city in SHANDONG_CITIES else set() for i in incidents}
    rows = session.execute(
        select(Analysis.incident_id, Analysis.city)
        .distinct()
        .where(Analysis.incident_id.in_(list(cities)), Analysis.city.in_(SHANDONG_CITIES))
    )
    for incident_id, city in rows:
        cities[incident_id].add(city)
    return cities


def _targets(incident: Incident, involved: set[str], config: AppConfig, first: bool) -> list[Target]:
    """Who hears about this incident now: everyone on its route the first time or when its severity rose,
    the same people under a `heat-` reason when its reach jumped, and the route of every newly involved city."""
    now = clock.now()
    base = route(config.cities, incident.label, incident.city, incident.severity, now, review=incident.needs_review)
    if first or severity_rose(incident):
        targets = list(base)
    elif heat_jumped(incident, config.policy.realert):
        targets = [Target(t.person, f"heat-{incident.reach}", t.city) for t in base]
    else:
        targets = []
    for city in sorted(involved - set(incident.alerted_cities or []) - {incident.city}):
        targets += route(config.cities, incident.label, city, incident.severity, now, review=incident.needs_review)
    return targets


def _lead_values(incident: Incident, owner: Target, policy: Policy, notified: Release) -> dict[str, Any]:
    """The ledger row of an incident alerted for the first time, owned by the first person on its route."""
    now = clock.now()
    kind = _lead_kind(owner.reason)
    return dict(
        incident_id=incident.id,
        city=owner.city,
        officer_id=owner.person.id,
        kind=kind,
        status=LeadStatus.OPEN,
        created_at=now,
        updated_at=now,
        notified_at=notified.at,
        deadline=deadline(policy, incident.project_type, kind, now),
    )


def _create_leads(session: Session, leads: list[dict[str, Any]]) -> None:
    """Insert the new leads in one statement (Core, not one ORM object each), then record and index them."""
    if not leads:
        return
    table = table_of(Lead)
    ids = session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), leads).all()
    now = clock.now()
    session.execute(
        insert(table_of(AuditEvent)),
        [
            dict(
                actor=ACTOR,
                entity="lead",
                entity_id=lead_id,
                action="created",
                detail={"officer": lead["officer_id"], "city": lead["city"], "deadline": lead["deadline"].isoformat()},
                at=now,
            )
            for lead_id, lead in zip(ids, leads, strict=True)
        ],
    )
    enqueue_index(session, Indexed.LEAD, *ids)


def plan_batch(db: Database, config: AppConfig) -> tuple[int, int]:
    """Plan up to PLAN_BATCH waiting incidents, most severe first, in one transaction (so a large backlog never
    holds the store's write lock for long); returns (incidents, deliveries) planned.

    Several dispatchers plan at once without meeting: on PostgreSQL each locks the incidents it takes and skips
    those another holds; on SQLite the transaction holds the write lock from its first read."""
    with db.session(write=True) as session:
        incidents = session.scalars(
            select(Incident)
            .options(selectinload(Incident.lead), defer(Incident.signature))
            .where(Incident.alert_state == AlertState.PENDING)
            .order_by(_most_severe_first(Incident.severity), Incident.id)
            .limit(PLAN_BATCH)
            .with_for_update(skip_locked=True, of=Incident)
        ).all()
        involved = _involved_cities(session, list(incidents)) if incidents else {}
        leads: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        alerted: list[dict[str, Any]] = []
        for incident in incidents:
            lead, planned = _plan_incident(config, incident, involved[incident.id])
            leads += [lead] if lead else []
            rows += planned
            # What this alert told people, so that only a real change triggers the next one (alerts.realert).
            alerted.append(
                dict(
                    b_id=incident.id,
                    b_severity=incident.severity,
                    b_reach=incident.reach,
                    b_cities=sorted(involved[incident.id] | set(incident.alerted_cities or [])),
                )
            )
        _create_leads(session, leads)
        if alerted:  # one Core UPDATE for the batch (an ORM flush cost a quarter of planning)
            table = table_of(Incident)
            session.execute(
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(
                    alert_state=AlertState.ALERTED,
                    alerted_severity=bindparam("b_severity"),
                    alerted_reach=bindparam("b_reach"),
                    alerted_cities=bindparam("b_cities"),
                ),
                alerted,
            )
        return len(incidents), queue_deliveries(session, db, rows)


def plan_alerts(db: Database, config: AppConfig) -> int:
    """Create the lead and the deliveries of every incident waiting to be alerted (first alert or re-alert)."""
    planned = 0
    while True:
        incidents, deliveries = plan_batch(db, config)
        planned += deliveries
        if not incidents:
            return planned


def _plan_incident(
    config: AppConfig, incident: Incident, involved: set[str]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The incident's lead to create (the first time, else None) and the delivery rows to queue for it."""
    policy = config.policy
    first = incident.lead is None
    lead, planned = None, []
    below_threshold = incident.label == "real" and (incident.severity or 0) < policy.alert_min_severity
    if not (first and below_threshold and not incident.needs_review):
        targets = _targets(incident, involved, config, first)
        when = release(policy, incident.label, incident.severity, clock.now(), hold=held_for_digest(incident))
        if first:
            lead = _lead_values(incident, targets[0], policy, when)
        for target in targets:
            row = delivery_values(incident.id, target.person, target.reason, when)
            planned += [row] if row else []
    return lead, planned


def _gave_up(config: AppConfig, db: Database, session: Session, delivery: AlertDelivery) -> None:
    """A delivery is dead or its fate unknown: tell ops (on another path), and try a dead one's next channel."""
    now = clock.now()
    what = "unknown" if delivery.status == "unknown" else "dead"
    notify_ops(session, db, config, delivery, what, Release("pending", now))
    person = config.cities.person(delivery.recipient_id)
    if what == "dead" and person is not None:
        queue_delivery(
            session,
            db,
            delivery.incident_id,
            person,
            delivery.reason,
            Release("pending", now),
            after_channel=delivery.channel_index,
        )


def _outgoing(
    config: AppConfig,
    db: Database,
    build: Callable[..., AlertMessage],
    retry_status: str,
    prefetch: Callable[[Session, list[int]], None] | None = None,
) -> Outgoing:
    people = {person.id: person for _, person in config.cities.everyone()}  # read once per run, not per message

    def prepare(session: Session, deliveries: list[AlertDelivery]) -> Envelope:
        first = deliveries[0]
        person = people.get(first.recipient_id)
        channel = channel_at(person, first.channel_index) if person else None
        if person is None or channel is None:
            raise ChannelError(
                f"recipient {first.recipient_id} or its channel {first.channel_index} left cities.yaml", permanent=True
            )
        # A group robot's message is read by the whole group: it names the person on duty and links to the
        # page, which asks for their own link; only a personal channel carries a personal token.
        token = (
            None
            if ALERTERS[channel.type].group
            else tokens.mint_pending(session, person.id, clock.now(), config.policy.link_valid_hours)
        )
        return Envelope(first.id, person, channel, build(config, session, deliveries, person, token))

    def urgent(session: Session, delivery: AlertDelivery) -> bool:
        """A red (severity 4) alert is never held back by a robot's rate limit; everything else may fold."""
        incident = session.get(Incident, delivery.incident_id)
        return bool(incident and incident.severity == 4)

    return Outgoing(
        AlertDelivery,
        "delivery",
        ACTOR,
        prepare,
        partial(_gave_up, config, db),
        retry_status,
        fold_status="digest",
        urgent=urgent,
        prefetch=prefetch,
        prepared=tokens.insert_pending,
    )


def recover_interrupted(db: Database, config: AppConfig) -> int:
    """Deliveries left `sending` past their lease (their worker died) become `unknown`; ops are told."""
    return _outgoing(config, db, partial(_build_alert, Rendered(config)), "failed").expire(db)


def _lead_link(config: AppConfig, lead_id: int | None, token: str | None) -> str:
    base = config.settings.public_base_url.rstrip("/")
    path = f"{base}/leads/{lead_id}" if lead_id else f"{base}/leads"
    return f"{path}?t={token}" if token else path


def _ops_note(session: Session, reason: str) -> str | None:
    if not reason.startswith("ops-"):
        return None
    failed = session.get(AlertDelivery, int(reason.rsplit("-", 1)[1]))
    if failed is None:
        return None
    return (
        f"投递#{failed.id}（收件人 {failed.recipient_id}，渠道 {failed.channel}，原因 {failed.reason}，"
        f"尝试 {failed.attempts} 次）：{failed.last_error or '无错误信息'}"
    )


def _passage(incident: Incident, posts: list[PostView]) -> str | None:
    """The passage the classifier decided on (quoted in the explanation), else the start of the top post."""
    for line in incident.explanation or []:
        if isinstance(line, str) and line.startswith(PASSAGE_PREFIX):
            return line[len(PASSAGE_PREFIX) :].strip("“”")
    return posts[0].text[:160] if posts else None


def _top_posts(session: Session, incident_ids: Iterable[int]) -> dict[int, list[PostView]]:
    """The three most-read posts of each incident (one query for them all), as the alert shows them."""
    rank = func.row_number().over(partition_by=Analysis.incident_id, order_by=(desc(Post.reach), Post.id))
    ranked = (
        select(Analysis.incident_id, Post.source, Post.url, Post.text, Post.published_at, rank.label("rank"))
        .join(Post, Post.id == Analysis.post_id)
        .where(Analysis.incident_id.in_(list(incident_ids)))
        .subquery()
    )
    posts: dict[int, list[PostView]] = defaultdict(list)
    for incident_id, source, url, text, published_at, _ in session.execute(
        select(ranked).where(ranked.c.rank <= 3).order_by(ranked.c.incident_id, ranked.c.rank)
    ):
        posts[incident_id].append(PostView(source, url, text, published_at))
    return posts


def _view(
    config: AppConfig,
    session: Session,
    incident: Incident,
    reason: str,
    recipient_name: str,
    link: str,
    posts: list[PostView] | None = None,
) -> AlertView:
    """What the templates show about `incident`; `posts` when already read (`_top_posts`)."""
    if posts is None:
        posts = _top_posts(session, [incident.id])[incident.id]
    lead = incident.lead
    return AlertView(
        incident_id=incident.id,
        label=incident.label,
        title=incident.title,
        city=incident.city,
        county=incident.county,
        severity=incident.severity,
        severity_score=incident.severity_score,
        explanation=list(incident.explanation or []),
        passage=_passage(incident, posts),
        company=incident.company,
        project=incident.project,
        amount_yuan=incident.amount_yuan,
        workers=incident.workers,
        posts=posts,
        reason=reason,
        deadline=lead.deadline if lead else None,
        link=link,
        recipient_name=recipient_name,
        note=_ops_note(session, reason) or follow_up_note(config, lead, reason),
    )


@dataclass(frozen=True)
class _Shared:
    alert: SharedAlert
    lead_id: int | None


class Rendered:
    """A run's alerts, each rendered once per incident and reason for all its recipients (with the lead's id),
    ahead of the claim: `prefetch` reads what a lane's next fetch of deliveries needs (incidents, leads, top
    posts: three queries) and renders it in the lane's read session, so the claim's write transaction only
    fills in names and links. Keeps the most recent KEEP alerts (a backlog's would not fit in memory)."""

    KEEP = 4096

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self._alerts: dict[tuple[int, str], _Shared] = {}
        self._lock = threading.Lock()  # lanes prefetch and build from their own threads

    def prefetch(self, session: Session, delivery_ids: list[int]) -> None:
        wanted = {
            (incident_id, reason)
            for incident_id, reason in session.execute(
                select(AlertDelivery.incident_id, AlertDelivery.reason).where(AlertDelivery.id.in_(delivery_ids))
            )
        }
        with self._lock:
            missing = wanted - self._alerts.keys()
        if missing:
            self._render(session, missing)

    def get(self, session: Session, incident_id: int, reason: str) -> _Shared:
        """The alert about `incident_id` for `reason`, rendered now if no prefetch did it."""
        with self._lock:
            found = self._alerts.get((incident_id, reason))
        return found or self._render(session, {(incident_id, reason)})[(incident_id, reason)]

    def _render(self, session: Session, keys: set[tuple[int, str]]) -> dict[tuple[int, str], _Shared]:
        incidents = {
            incident.id: incident
            for incident in session.scalars(
                select(Incident)
                .options(selectinload(Incident.lead), defer(Incident.signature))
                .where(Incident.id.in_({incident_id for incident_id, _ in keys}))
            )
        }
        posts = _top_posts(session, incidents)
        made = {}
        for incident_id, reason in keys:
            incident = incidents[incident_id]
            view = _view(self.config, session, incident, reason, "", "", posts.get(incident_id, []))
            made[(incident_id, reason)] = _Shared(render_shared(view), incident.lead.id if incident.lead else None)
        with self._lock:
            self._alerts.update(made)
            for key in list(self._alerts)[: max(0, len(self._alerts) - self.KEEP)]:  # the oldest first
                del self._alerts[key]
        return made


def _build_alert(
    rendered: Rendered,
    config: AppConfig,
    session: Session,
    deliveries: list[AlertDelivery],
    person: Person,
    token: str | None,
) -> AlertMessage:
    delivery = deliveries[0]
    shared = rendered.get(session, delivery.incident_id, delivery.reason)
    return shared.alert.personal(person.name, _lead_link(config, shared.lead_id, token))


def _build_digest(
    config: AppConfig, session: Session, deliveries: list[AlertDelivery], person: Person, token: str | None
) -> AlertMessage:
    items = []
    for delivery in deliveries:
        incident = session.get(Incident, delivery.incident_id)
        link = _lead_link(config, incident.lead.id if incident.lead else None, token)
        items.append(_view(config, session, incident, delivery.reason, person.name, link))
    return render_digest(DigestView(person.name, items, _lead_link(config, None, token)))


def _lanes(db: Database, config: AppConfig) -> dict[str, Select]:
    """The due deliveries (not digests) of each channel type, most severe first. When there are more channel
    types than `dispatch.senders` (not every lane can run at once), the channel types come in the order of
    their most urgent delivery; otherwise all start together and their order does not matter, so the cheaper
    query does (a dispatch run asks before every turn)."""
    now = clock.now()
    due = (AlertDelivery.status.in_(("pending", "failed")), AlertDelivery.next_attempt_at <= now)
    with db.session() as session:
        channels = list(session.scalars(select(AlertDelivery.channel).where(*due).distinct()))
        if len(channels) > config.settings.dispatch.senders:
            heads = session.execute(
                select(AlertDelivery.channel, func.max(func.coalesce(Incident.severity, 2)), func.min(AlertDelivery.id))
                .join(Incident, Incident.id == AlertDelivery.incident_id)
                .where(*due)
                .group_by(AlertDelivery.channel)
            ).all()
            channels = [channel for channel, _, _ in sorted(heads, key=lambda head: (-head[1], head[2]))]
    following = (
        select(AlertDelivery.id)
        .join(Incident, Incident.id == AlertDelivery.incident_id)
        .where(*due)
        .order_by(_most_severe_first(Incident.severity), AlertDelivery.id)
    )
    return {channel: following.where(AlertDelivery.channel == channel) for channel in channels}


def _digests(db: Database) -> list[list[int]]:
    """The due digest deliveries, grouped per person and channel: one message each."""
    with db.session() as session:
        due = session.execute(
            select(AlertDelivery.id, AlertDelivery.recipient_id, AlertDelivery.channel_index)
            .where(AlertDelivery.status == "digest", AlertDelivery.next_attempt_at <= clock.now())
            .order_by(AlertDelivery.id)
        ).all()
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for delivery_id, recipient, channel_index in due:
        groups[(recipient, channel_index)].append(delivery_id)
    return list(groups.values())


class _Delivering:
    """What one run sends with: one Sender (its SMTP connections and robot budgets kept from pass to pass) and
    one cache of rendered alerts."""

    def __init__(self, db: Database, config: AppConfig) -> None:
        self.db, self.config = db, config
        with db.session() as session:
            self.sender = Sender(config, recent_robot_sends(session, config))
        rendered = Rendered(config)
        self.single = _outgoing(config, db, partial(_build_alert, rendered), "failed", rendered.prefetch)
        self.grouped = _outgoing(config, db, _build_digest, "digest")

    def send(self, rounds: int | None = None) -> Tally:
        """Send the due deliveries, most severe first, each lane at most `rounds` fetches (None: all), then the
        due digests."""
        db, config = self.db, self.config
        passed = drain(self.single, db, config, _lanes(db, config), self.sender, rounds=rounds)
        for ids in _digests(db):
            passed += self.grouped.deliver(db, config, self.grouped.pick(ids), self.sender) or Tally()
        return passed

    def __enter__(self) -> _Delivering:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sender.close()


def deliver_pending(db: Database, config: AppConfig) -> Tally:
    """Send every due delivery once, most severe first (digest deliveries grouped per person and channel).

    Channel types go side by side, each in waves of its concurrency limit (wagewatch.alerts.delivery.drain);
    each worker claims the next due deliveries at the moment it is free, so several workers share a backlog
    without walking the same list. A delivery given up (dead or unknown) queues the person's next channel or
    an ops notice: those go out in another pass of the same run."""
    tally = Tally()
    with _Delivering(db, config) as delivering:
        while True:
            passed = delivering.send()
            tally += passed
            if not (passed.dead or passed.unknown):
                return tally


def dispatch(db: Database, config: AppConfig) -> dict[str, int]:
    """The whole stage: recover, then plan and send in turns, most severe first, so that with a backlog the
    first (most severe) alerts leave before the last incidents are even planned, and a red incident that
    arrives during a long drain of yellow ones waits for one turn (a plan batch, one fetch per lane), not for
    the whole backlog. Any number of dispatch processes may run at once (see wagewatch.alerts.delivery)."""
    tally = Tally(unknown=recover_interrupted(db, config))
    planned = 0
    with _Delivering(db, config) as delivering:
        while True:
            incidents, batch = plan_batch(db, config)
            planned += batch
            passed = delivering.send(rounds=1)
            tally += passed
            # Done when nothing was left to plan and a turn found nothing due; what a given-up delivery queued
            # (the next channel, an ops notice) is due at once and keeps the turns going.
            if not incidents and not any(passed.as_dict().values()):
                return {"planned": planned, **tally.as_dict()}
