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

from collections import defaultdict
from collections.abc import Callable
from functools import partial

from sqlalchemy import desc, func, select
from sqlalchemy.orm import Session, selectinload

from wagewatch.alerts.channels.base import ChannelError, Envelope
from wagewatch.alerts.delivery import record_failed_send, send
from wagewatch.alerts.holding import Release, held_for_digest, release
from wagewatch.alerts.queue import notify_ops, queue_delivery
from wagewatch.alerts.realert import heat_jumped, severity_rose
from wagewatch.alerts.render import AlertMessage, AlertView, DigestView, PostView, render, render_digest
from wagewatch.alerts.routing import Target, route
from wagewatch.classifier.api import PASSAGE_PREFIX
from wagewatch.core import clock
from wagewatch.core.config import SHANDONG_CITIES, AppConfig, Person, Policy
from wagewatch.core.states import SEND_DUE, AlertState, Indexed, LeadKind, LeadStatus, SendStatus
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
    session.flush()
    session.add(
        AuditEvent(
            actor=ACTOR,
            entity="lead",
            entity_id=lead.id,
            action="created",
            detail={"officer": lead.officer_id, "city": lead.city, "deadline": lead.deadline.isoformat()},
        )
    )
    return lead


def plan_batch(db: Database, config: AppConfig) -> tuple[int, int]:
    """Plan up to PLAN_BATCH waiting incidents, most severe first, in one transaction (so a large backlog never
    holds the store's write lock for long); returns (incidents, deliveries) planned."""
    with db.session() as session:
        incidents = session.scalars(
            select(Incident)
            .options(selectinload(Incident.lead))
            .where(Incident.alert_state == AlertState.PENDING)
            .order_by(_most_severe_first(Incident.severity), Incident.id)
            .limit(PLAN_BATCH)
        ).all()
        involved = _involved_cities(session, list(incidents)) if incidents else {}
        planned = sum(_plan_incident(session, db, config, incident, involved[incident.id]) for incident in incidents)
        return len(incidents), planned


def plan_alerts(db: Database, config: AppConfig) -> int:
    """Create the lead and the deliveries of every incident waiting to be alerted (first alert or re-alert)."""
    planned = 0
    while True:
        incidents, deliveries = plan_batch(db, config)
        planned += deliveries
        if not incidents:
            return planned


def _plan_incident(session: Session, db: Database, config: AppConfig, incident: Incident, involved: set[str]) -> int:
    policy = config.policy
    first = incident.lead is None
    planned = 0
    below_threshold = incident.label == "real" and (incident.severity or 0) < policy.alert_min_severity
    if not (first and below_threshold and not incident.needs_review):
        targets = _targets(incident, involved, config, first)
        when = release(policy, incident.label, incident.severity, clock.now(), hold=held_for_digest(incident))
        if first:
            lead = _create_lead(session, incident, targets[0], policy, when)
            enqueue_index(session, Indexed.LEAD, lead.id)
        for target in targets:
            planned += queue_delivery(session, db, incident.id, target.person, target.reason, when)
    # What this alert told people, so that only a real change triggers the next one (wagewatch.alerts.realert).
    incident.alert_state = AlertState.ALERTED
    incident.alerted_severity = incident.severity
    incident.alerted_reach = incident.reach
    incident.alerted_cities = sorted(involved | set(incident.alerted_cities or []))
    return planned


def recover_interrupted(db: Database, config: AppConfig) -> int:
    """Deliveries left `sending` by a crash become `unknown`; the ops contact is told to check them."""
    with db.session() as session:
        stuck = session.scalars(select(AlertDelivery).where(AlertDelivery.status == SendStatus.SENDING)).all()
        for delivery in stuck:
            delivery.status = SendStatus.UNKNOWN
            delivery.last_error = "进程在发送过程中中断，是否送达未知；为避免重复发送未自动重发，请人工核实"
            _report_unknown(session, db, config, delivery)
        return len(stuck)


def _report_unknown(session: Session, db: Database, config: AppConfig, delivery: AlertDelivery) -> None:
    session.add(
        AuditEvent(
            actor=ACTOR,
            entity="delivery",
            entity_id=delivery.id,
            action="unknown",
            detail={
                "recipient": delivery.recipient_id,
                "channel": delivery.channel,
                "error": (delivery.last_error or "")[:500],
                "ops_contact": config.settings.ops_contact,
            },
        )
    )
    notify_ops(session, db, config, delivery, "unknown", Release(SendStatus.PENDING, clock.now()))


def _lead_link(config: AppConfig, lead_id: int | None, token: str) -> str:
    base = config.settings.public_base_url.rstrip("/")
    return f"{base}/leads/{lead_id}?t={token}" if lead_id else f"{base}/leads?t={token}"


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


def _passage(incident: Incident, posts: list[Post]) -> str | None:
    """The passage the classifier decided on (quoted in the explanation), else the start of the top post."""
    for line in incident.explanation or []:
        if isinstance(line, str) and line.startswith(PASSAGE_PREFIX):
            return line[len(PASSAGE_PREFIX) :].strip("“”")
    return posts[0].text[:160] if posts else None


def _view(config: AppConfig, session: Session, incident: Incident, reason: str, person: Person, link: str) -> AlertView:
    posts = session.scalars(
        select(Post)
        .join(Analysis, Analysis.post_id == Post.id)
        .where(Analysis.incident_id == incident.id)
        .order_by(desc(Post.reach), Post.id)
        .limit(3)
    ).all()
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
        posts=[PostView(p.source, p.url, p.text, p.published_at) for p in posts],
        reason=reason,
        deadline=lead.deadline if lead else None,
        link=link,
        recipient_name=person.name,
        note=_ops_note(session, reason) or follow_up_note(config, lead, reason),
    )


def _claim(session: Session, db: Database, config: AppConfig, deliveries: list[AlertDelivery]) -> Person | None:
    """Mark the deliveries `sending` (committed by the caller before anything leaves); None if they cannot go."""
    person = config.cities.person(deliveries[0].recipient_id)
    index = deliveries[0].channel_index
    if person is None or index >= len(person.channels):
        for delivery in deliveries:
            delivery.status = SendStatus.DEAD
            delivery.last_error = f"recipient {delivery.recipient_id} or its channel {index} left cities.yaml"
            notify_ops(session, db, config, delivery, "dead", Release(SendStatus.PENDING, clock.now()))
        return None
    for delivery in deliveries:
        delivery.status = SendStatus.SENDING
        delivery.attempts += 1
    return person


def _deliver(
    db: Database, config: AppConfig, ids: list[int], build: Callable[..., AlertMessage], retry_status: str
) -> int:
    """Claim, send once and record the group of deliveries `ids` (one message); returns how many were sent.
    `build(session, deliveries, person, token)` renders the message; a retry puts them back in `retry_status`."""
    now = clock.now()
    with db.session() as session:  # claim: committed before anything leaves this process
        deliveries = [
            d for d in (session.get(AlertDelivery, i) for i in ids) if d.status in SEND_DUE and d.next_attempt_at <= now
        ]
        if not deliveries:
            return 0
        person = _claim(session, db, config, deliveries)
        if person is None:
            return 0
        token = tokens.mint(session, person.id, now, config.policy.link_valid_hours)
        message: AlertMessage = build(session, deliveries, person, token)
        envelope = Envelope(deliveries[0].id, person, person.channels[deliveries[0].channel_index], message)
        claimed = [d.id for d in deliveries]
    try:
        message_id = send(envelope, config)
    except ChannelError as exc:
        for delivery_id in claimed:
            _record_failure(db, config, delivery_id, exc, retry_status)
        return 0
    with db.session() as session:
        for delivery_id in claimed:
            delivery = session.get(AlertDelivery, delivery_id)
            delivery.status, delivery.sent_at, delivery.message_id = SendStatus.SENT, clock.now(), message_id
            session.add(
                AuditEvent(
                    actor=ACTOR,
                    entity="delivery",
                    entity_id=delivery_id,
                    action="sent",
                    detail={"recipient": delivery.recipient_id, "channel": delivery.channel},
                )
            )
    return len(claimed)


def _build_alert(
    config: AppConfig, session: Session, deliveries: list[AlertDelivery], person: Person, token: str
) -> AlertMessage:
    delivery = deliveries[0]
    incident = session.get(Incident, delivery.incident_id)
    link = _lead_link(config, incident.lead.id if incident.lead else None, token)
    return render(_view(config, session, incident, delivery.reason, person, link))


def _build_digest(
    config: AppConfig, session: Session, deliveries: list[AlertDelivery], person: Person, token: str
) -> AlertMessage:
    items = []
    for delivery in deliveries:
        incident = session.get(Incident, delivery.incident_id)
        link = _lead_link(config, incident.lead.id if incident.lead else None, token)
        items.append(_view(config, session, incident, delivery.reason, person, link))
    return render_digest(DigestView(person.name, items, _lead_link(config, None, token)))


def deliver_pending(db: Database, config: AppConfig) -> int:
    """Send every due delivery once (digest deliveries grouped per person and channel); returns how many."""
    now = clock.now()
    with db.session() as session:
        due = session.execute(
            select(AlertDelivery.id, AlertDelivery.status, AlertDelivery.recipient_id, AlertDelivery.channel_index)
            .join(Incident, Incident.id == AlertDelivery.incident_id)
            .where(AlertDelivery.status.in_(SEND_DUE), AlertDelivery.next_attempt_at <= now)
            .order_by(_most_severe_first(Incident.severity), AlertDelivery.id)
        ).all()
    digests: dict[tuple[str, int], list[int]] = defaultdict(list)
    sent = 0
    for delivery_id, status, recipient, channel_index in due:
        if status == SendStatus.DIGEST:
            digests[(recipient, channel_index)].append(delivery_id)
            continue
        sent += _deliver(db, config, [delivery_id], partial(_build_alert, config), SendStatus.FAILED)
    for ids in digests.values():
        sent += _deliver(db, config, ids, partial(_build_digest, config), SendStatus.DIGEST)
    return sent


def _record_failure(db: Database, config: AppConfig, delivery_id: int, exc: ChannelError, retry_status: str) -> None:
    with db.session() as session:
        delivery = session.get(AlertDelivery, delivery_id)
        if not record_failed_send(delivery, exc, config.policy, retry_status):
            return
        if delivery.status == SendStatus.UNKNOWN:
            _report_unknown(session, db, config, delivery)
            return
        now = clock.now()
        session.add(
            AuditEvent(
                actor=ACTOR,
                entity="delivery",
                entity_id=delivery_id,
                action="dead",
                detail={"error": str(exc)[:500], "ops_contact": config.settings.ops_contact},
            )
        )
        notify_ops(session, db, config, delivery, "dead", Release(SendStatus.PENDING, now))
        person = config.cities.person(delivery.recipient_id)
        if person is not None:
            queue_delivery(
                session,
                db,
                delivery.incident_id,
                person,
                delivery.reason,
                Release(SendStatus.PENDING, now),
                after_channel=delivery.channel_index,
            )


def dispatch(db: Database, config: AppConfig) -> dict[str, int]:
    """The whole stage: recover, then plan and deliver batch by batch, so that with a backlog the first
    (most severe) alerts leave before the last incidents are even planned."""
    result = {"unknown": recover_interrupted(db, config), "planned": 0, "sent": 0}
    while True:
        incidents, planned = plan_batch(db, config)
        result["planned"] += planned
        result["sent"] += deliver_pending(db, config)
        if not incidents:
            return result
