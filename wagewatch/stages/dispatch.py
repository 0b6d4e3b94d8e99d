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
from functools import partial

from sqlalchemy import Select, desc, func, select
from sqlalchemy.orm import Session, selectinload

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
from wagewatch.core.store.models import AlertDelivery, Analysis, AuditEvent, Incident, Lead, Post, enqueue_index
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


def _create_lead(session: Session, incident: Incident, owner: Target, policy: Policy, notified: Release) -> Lead:
    now = clock.now()
    kind = _lead_kind(owner.reason)
    lead = Lead(
        incident=incident,
        city=owner.city,
        officer_id=owner.person.id,
        kind=kind,
        status=LeadStatus.OPEN,
        created_at=now,
        notified_at=notified.at,
        deadline=deadline(policy, incident.project_type, kind, now),
    )
    session.add(lead)
    return lead


def _leads_created(session: Session, leads: list[Lead]) -> None:
    """Number the new leads (one INSERT for all), then record and index them."""
    session.flush()
    session.add_all(
        AuditEvent(
            actor=ACTOR,
            entity="lead",
            entity_id=lead.id,
            action="created",
            detail={"officer": lead.officer_id, "city": lead.city, "deadline": lead.deadline.isoformat()},
        )
        for lead in leads
    )
    enqueue_index(session, Indexed.LEAD, *(lead.id for lead in leads))


def plan_batch(db: Database, config: AppConfig) -> tuple[int, int]:
    """Plan up to PLAN_BATCH waiting incidents, most severe first, in one transaction (so a large backlog never
    holds the store's write lock for long); returns (incidents, deliveries) planned.

    Several dispatchers plan at once without meeting: on PostgreSQL each locks the incidents it takes and skips
    those another holds; on SQLite the transaction holds the write lock from its first read."""
    with db.session(write=True) as session:
        incidents = session.scalars(
            select(Incident)
            .options(selectinload(Incident.lead))
            .where(Incident.alert_state == AlertState.PENDING)
            .order_by(_most_severe_first(Incident.severity), Incident.id)
            .limit(PLAN_BATCH)
            .with_for_update(skip_locked=True, of=Incident)
        ).all()
        involved = _involved_cities(session, list(incidents)) if incidents else {}
        first = [incident for incident in incidents if incident.lead is None]
        rows = [
            row for incident in incidents for row in _plan_incident(session, config, incident, involved[incident.id])
        ]
        _leads_created(session, [incident.lead for incident in first if incident.lead is not None])
        return len(incidents), queue_deliveries(session, db, rows)


def plan_alerts(db: Database, config: AppConfig) -> int:
    """Create the lead and the deliveries of every incident waiting to be alerted (first alert or re-alert)."""
    planned = 0
    while True:
        incidents, deliveries = plan_batch(db, config)
        planned += deliveries
        if not incidents:
            return planned


def _plan_incident(session: Session, config: AppConfig, incident: Incident, involved: set[str]) -> list[dict]:
    """Create the incident's lead (the first time) and return the delivery rows to queue for it."""
    policy = config.policy
    first = incident.lead is None
    planned = []
    below_threshold = incident.label == "real" and (incident.severity or 0) < policy.alert_min_severity
    if not (first and below_threshold and not incident.needs_review):
        targets = _targets(incident, involved, config, first)
        when = release(policy, incident.label, incident.severity, clock.now(), hold=held_for_digest(incident))
        if first:
            _create_lead(session, incident, targets[0], policy, when)
        for target in targets:
            row = delivery_values(incident.id, target.person, target.reason, when)
            planned += [row] if row else []
    # What this alert told people, so that only a real change triggers the next one (wagewatch.alerts.realert).
    incident.alert_state = AlertState.ALERTED
    incident.alerted_severity = incident.severity
    incident.alerted_reach = incident.reach
    incident.alerted_cities = sorted(involved | set(incident.alerted_cities or []))
    return planned


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
    preload: Callable[[Session, list[AlertDelivery]], None] | None = None,
) -> Outgoing:
    def prepare(session: Session, deliveries: list[AlertDelivery]) -> Envelope:
        first = deliveries[0]
        person = config.cities.person(first.recipient_id)
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
            else tokens.mint(session, person.id, clock.now(), config.policy.link_valid_hours)
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
        preload=preload,
    )


def recover_interrupted(db: Database, config: AppConfig) -> int:
    """Deliveries left `sending` past their lease (their worker died) become `unknown`; ops are told."""
    return _outgoing(config, db, partial(_build_alert, Rendered()), "failed").expire(db)


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
    person: Person,
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
        recipient_name=person.name,
        note=_ops_note(session, reason) or follow_up_note(config, lead, reason),
    )


class Rendered:
    """One drain's alerts, rendered once per incident and reason for all their recipients (with the lead's id),
    and what a wave about to be rendered needs, read in a few queries for the whole wave (`preload`)."""

    def __init__(self) -> None:
        self.alerts: dict[tuple[int, str], tuple[SharedAlert, int | None]] = {}
        self.posts: dict[int, list[PostView]] = {}
        self._lock = threading.Lock()

    def preload(self, session: Session, deliveries: list[AlertDelivery]) -> None:
        missing = {d.incident_id for d in deliveries if (d.incident_id, d.reason) not in self.alerts}
        if not missing:
            return
        session.scalars(select(Incident).options(selectinload(Incident.lead)).where(Incident.id.in_(missing))).all()
        posts = _top_posts(session, missing)
        with self._lock:
            self.posts.update((incident_id, posts.get(incident_id, [])) for incident_id in missing)


def _build_alert(
    rendered: Rendered,
    config: AppConfig,
    session: Session,
    deliveries: list[AlertDelivery],
    person: Person,
    token: str | None,
) -> AlertMessage:
    delivery = deliveries[0]
    key = (delivery.incident_id, delivery.reason)
    if key not in rendered.alerts:
        incident = session.get(Incident, delivery.incident_id)
        posts = rendered.posts.get(delivery.incident_id)
        view = _view(config, session, incident, delivery.reason, person, "", posts)
        rendered.alerts[key] = (render_shared(view), incident.lead.id if incident.lead else None)
    shared, lead_id = rendered.alerts[key]
    return shared.personal(person.name, _lead_link(config, lead_id, token))


def _build_digest(
    config: AppConfig, session: Session, deliveries: list[AlertDelivery], person: Person, token: str | None
) -> AlertMessage:
    items = []
    for delivery in deliveries:
        incident = session.get(Incident, delivery.incident_id)
        link = _lead_link(config, incident.lead.id if incident.lead else None, token)
        items.append(_view(config, session, incident, delivery.reason, person, link))
    return render_digest(DigestView(person.name, items, _lead_link(config, None, token)))


def _lanes(db: Database) -> dict[str, Select]:
    """The due deliveries (not digests) of each channel type, most severe first; the channel types in the
    order of their most urgent delivery."""
    now = clock.now()
    due = (AlertDelivery.status.in_(("pending", "failed")), AlertDelivery.next_attempt_at <= now)
    with db.session() as session:
        heads = session.execute(
            select(AlertDelivery.channel, func.max(func.coalesce(Incident.severity, 2)), func.min(AlertDelivery.id))
            .join(Incident, Incident.id == AlertDelivery.incident_id)
            .where(*due)
            .group_by(AlertDelivery.channel)
        ).all()
    following = (
        select(AlertDelivery.id)
        .join(Incident, Incident.id == AlertDelivery.incident_id)
        .where(*due)
        .order_by(_most_severe_first(Incident.severity), AlertDelivery.id)
    )
    ordered = sorted(heads, key=lambda head: (-head[1], head[2]))
    return {channel: following.where(AlertDelivery.channel == channel) for channel, _, _ in ordered}


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


def deliver_pending(db: Database, config: AppConfig) -> Tally:
    """Send every due delivery once, most severe first (digest deliveries grouped per person and channel).

    Channel types go side by side, each in waves of its concurrency limit (wagewatch.alerts.delivery.drain);
    each worker claims the next due deliveries at the moment it is free, so several workers share a backlog
    without walking the same list. A delivery given up (dead or unknown) queues the person's next channel or
    an ops notice: those go out in another pass of the same run."""
    with db.session() as session:
        sender = Sender(config, recent_robot_sends(session, config))
    try:
        rendered = Rendered()
        single = _outgoing(config, db, partial(_build_alert, rendered), "failed", rendered.preload)
        grouped = _outgoing(config, db, _build_digest, "digest")
        tally = Tally()
        while True:
            passed = drain(single, db, config, _lanes(db), sender)
            for ids in _digests(db):
                passed += grouped.deliver(db, config, grouped.pick(ids), sender) or Tally()
            tally += passed
            if not (passed.dead or passed.unknown):
                return tally
    finally:
        sender.close()


def dispatch(db: Database, config: AppConfig) -> dict[str, int]:
    """The whole stage: recover, then plan and deliver batch by batch, so that with a backlog the first
    (most severe) alerts leave before the last incidents are even planned. Any number of dispatch processes
    may run at once (see wagewatch.alerts.delivery)."""
    tally = Tally(unknown=recover_interrupted(db, config))
    planned = 0
    while True:
        incidents, batch = plan_batch(db, config)
        planned += batch
        tally += deliver_pending(db, config)
        if not incidents:
            return {"planned": planned, **tally.as_dict()}
