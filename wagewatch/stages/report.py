"""Report stage: on schedule, write the week's and the month's reports and email them to the lead lists.

Each email is a row in report_deliveries, unique per (period, scope, recipient), with the same at-most-once
handling as alerts: claimed as `sending` and committed before the message leaves; a crash leaves it
`unknown` (never re-sent, the ops contact is told in the audit trail); failures retry with backoff.
Every red (特别重大) incident also gets its one-incident 专报 written once. A period is reported only when the ledger holds leads from before its end, so a fresh deployment does not
mail empty reports for weeks it never watched.
"""

from __future__ import annotations

from html import escape

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from wagewatch.alerts.channels import ChannelError, Envelope
from wagewatch.alerts.delivery import DUE, Outgoing, Tally
from wagewatch.alerts.render import AlertMessage
from wagewatch.core import clock
from wagewatch.core.config import AppConfig, Channel, Person
from wagewatch.core.states import SendStatus
from wagewatch.core.store import Database
from wagewatch.core.store.models import Lead, ReportDelivery
from wagewatch.reports import periods
from wagewatch.reports.build import PROVINCE_SCOPE, build_scope, files_for, report_dir
from wagewatch.reports.circular import summary_text
from wagewatch.reports.figures import compute
from wagewatch.reports.periods import Period
from wagewatch.reports.special import write_due_specials

ACTOR = "system:report"


def recipients(config: AppConfig, scope: str) -> list[tuple[Person, Channel]]:
    """The people of a scope's lead list who get its report, with their email channel."""
    roles = config.policy.reports
    if scope == PROVINCE_SCOPE:
        people = [p for p in config.cities.province.people if p.role in roles.province_roles]
    else:
        people = [p for p in config.cities.cities[scope].people if p.role in roles.city_roles]
    return [(p, c) for p in people for c in p.channels if c.type == "email" and c.to]


def queue_period(db: Database, config: AppConfig, period: Period) -> int:
    """One delivery row per scope and recipient; asking again adds nothing."""
    queued = 0
    with db.session() as session:
        for scope in (PROVINCE_SCOPE, *config.cities.cities):
            for person, _ in recipients(config, scope):
                queued += (
                    db.insert_ignore(
                        session,
                        ReportDelivery,
                        dict(
                            period=period.key,
                            scope=scope,
                            recipient_id=person.id,
                            status=SendStatus.PENDING,
                            attempts=0,
                            next_attempt_at=clock.now(),
                            created_at=clock.now(),
                        ),
                    )
                    is not None
                )
    return queued


def _envelope(config: AppConfig, db: Database, session: Session, delivery: ReportDelivery) -> Envelope:
    """The report email of `delivery`: summary text, the XLSX and the DOCX attached."""
    period = periods.parse(delivery.period)
    person = config.cities.person(delivery.recipient_id)
    channel = next((c for p, c in recipients(config, delivery.scope) if p.id == delivery.recipient_id), None)
    if person is None or channel is None:
        raise ChannelError(f"{delivery.recipient_id} is no longer a report recipient", permanent=True)
    files = files_for(report_dir(config, period), period, delivery.scope)
    if not (files.xlsx.exists() and files.docx.exists()):
        files = build_scope(db, config, period, delivery.scope, report_dir(config, period))
    _, totals = compute(session, period, None if files.scope == PROVINCE_SCOPE else files.scope)
    where = "全省" if files.scope == PROVINCE_SCOPE else f"{files.scope}市"
    text = (
        f"{person.name}：\n\n{summary_text(where, period, totals)}\n\n附件为情况表（XLSX）和通报（Word），"
        f"请查阅。\n\n——欠薪舆情哨兵（自动发送，请勿直接回复）"
    )
    message = AlertMessage(
        subject=f"【{period.name}】{where}欠薪网络舆情线索办理情况（{period.title}）",
        text=text,
        html=f"<pre>{escape(text)}</pre>",
    )
    return Envelope(delivery.id, person, channel, message, kind="report", attachments=(files.xlsx, files.docx))


def deliver_reports(db: Database, config: AppConfig) -> int:
    """Send every due report email once through the shared send routine; returns how many were sent."""

    def prepare(session: Session, deliveries: list[ReportDelivery]) -> Envelope:
        return _envelope(config, db, session, deliveries[0])

    outgoing = Outgoing(ReportDelivery, "report_delivery", ACTOR, prepare, lambda session, row: None)
    outgoing.expire(db)
    now = clock.now()
    with db.session() as session:
        due = session.scalars(
            select(ReportDelivery.id)
            .where(ReportDelivery.status.in_(DUE), ReportDelivery.next_attempt_at <= now)
            .order_by(ReportDelivery.id)
        ).all()
    return sum((outgoing.deliver(db, config, outgoing.pick([delivery_id])) or Tally()).sent for delivery_id in due)


def report_due(db: Database, config: AppConfig) -> dict[str, int]:
    """The stage: queue the reports whose time has come (weekly and monthly), then send what is due; write
    the 专报 of every red incident that has none yet."""
    queued = 0
    for period in periods.due(clock.now(), config.policy.reports):
        with db.session() as session:
            has_leads = session.scalar(select(exists().where(Lead.created_at < period.end)))
        if has_leads:
            queued += queue_period(db, config, period)
    return {"queued": queued, "sent": deliver_reports(db, config), "special": write_due_specials(db, config)}
