"""Report stage: on schedule, write the week's and the month's reports and email them to the lead lists.

Each email is a row in report_deliveries, unique per (period, scope, recipient), with the same at-most-once
handling as alerts: claimed as `sending` and committed before the message leaves; a crash leaves it
`unknown` (never re-sent, the ops contact is told in the audit trail); failures retry with backoff.
Every red (特别重大) incident also gets its one-incident 专报 written once. A period is reported only when the ledger holds leads from before its end, so a fresh deployment does not
mail empty reports for weeks it never watched.
"""

from __future__ import annotations

import mimetypes
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import exists, select

from wagewatch.alerts.channels.base import ChannelError
from wagewatch.alerts.channels.email import new_email, smtp_send
from wagewatch.alerts.channels.outbox import write_eml
from wagewatch.alerts.delivery import record_failed_send
from wagewatch.core import clock
from wagewatch.core.config import AppConfig, Person
from wagewatch.core.states import SendStatus
from wagewatch.core.store import Database
from wagewatch.core.store.models import AuditEvent, Lead, ReportDelivery
from wagewatch.reports import periods
from wagewatch.reports.build import PROVINCE_SCOPE, ReportFiles, build_scope, files_for, report_dir
from wagewatch.reports.circular import summary_text
from wagewatch.reports.figures import compute
from wagewatch.reports.periods import Period
from wagewatch.reports.special import write_due_specials

ACTOR = "system:report"


def recipients(config: AppConfig, scope: str) -> list[tuple[Person, str]]:
    """The people of a scope's lead list who get its report, with their email address."""
    roles = config.policy.reports
    if scope == PROVINCE_SCOPE:
        people = [p for p in config.cities.province.people if p.role in roles.province_roles]
    else:
        people = [p for p in config.cities.cities[scope].people if p.role in roles.city_roles]
    return [(p, c.to) for p in people for c in p.channels if c.type == "email" and c.to]


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


def _message(
    config: AppConfig, db: Database, period: Period, files: ReportFiles, person: Person, address: str, delivery_id: int
) -> EmailMessage:
    with db.session() as session:
        _, totals = compute(session, period, None if files.scope == PROVINCE_SCOPE else files.scope)
    where = "全省" if files.scope == PROVINCE_SCOPE else f"{files.scope}市"
    msg = new_email(
        config.settings.smtp.sender,
        person.name,
        address,
        f"【{period.name}】{where}欠薪网络舆情线索办理情况（{period.title}）",
        f"<report-{delivery_id}@wagewatch>",
    )
    msg.set_content(
        f"{person.name}：\n\n{summary_text(where, period, totals)}\n\n附件为情况表（XLSX）和通报（Word），"
        f"请查阅。\n\n——欠薪舆情哨兵（自动发送，请勿直接回复）"
    )
    for path in (files.xlsx, files.docx):
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return msg


def _send(config: AppConfig, msg: EmailMessage, delivery_id: int) -> str:
    settings = config.settings
    if settings.smtp.host:
        return smtp_send(msg, settings.smtp)
    return write_eml(msg, Path(settings.outbox_dir), f"report-{delivery_id:08d}")


def deliver_reports(db: Database, config: AppConfig) -> int:
    """Send every due report email once; returns how many were sent."""
    now = clock.now()
    with db.session() as session:
        for stuck in session.scalars(select(ReportDelivery).where(ReportDelivery.status == SendStatus.SENDING)):
            stuck.status, stuck.last_error = SendStatus.UNKNOWN, "进程在发送过程中中断，是否送达未知，未自动重发"
            session.add(
                AuditEvent(
                    actor=ACTOR,
                    entity="report_delivery",
                    entity_id=stuck.id,
                    action="unknown",
                    detail={"recipient": stuck.recipient_id, "ops_contact": config.settings.ops_contact},
                )
            )
        due = session.scalars(
            select(ReportDelivery)
            .where(
                ReportDelivery.status.in_((SendStatus.PENDING, SendStatus.FAILED)),
                ReportDelivery.next_attempt_at <= now,
            )
            .order_by(ReportDelivery.id)
        ).all()
        work = [(d.id, d.period, d.scope, d.recipient_id) for d in due]
    sent = 0
    for delivery_id, key, scope, recipient_id in work:
        sent += _deliver_one(db, config, delivery_id, periods.parse(key), scope, recipient_id)
    return sent


def _deliver_one(
    db: Database, config: AppConfig, delivery_id: int, period: Period, scope: str, recipient_id: str
) -> int:
    person = config.cities.person(recipient_id)
    address = next((to for p, to in recipients(config, scope) if p.id == recipient_id), None)
    files = files_for(report_dir(config, period), period, scope)
    if not (files.xlsx.exists() and files.docx.exists()):
        files = build_scope(db, config, period, scope, report_dir(config, period))
    with db.session() as session:  # claim before anything leaves
        delivery = session.get(ReportDelivery, delivery_id)
        if delivery.status not in (SendStatus.PENDING, SendStatus.FAILED):
            return 0  # another process took it
        if person is None or address is None:
            delivery.status, delivery.last_error = SendStatus.DEAD, f"{recipient_id} is no longer a report recipient"
            return 0
        delivery.status, delivery.attempts = SendStatus.SENDING, delivery.attempts + 1
    try:
        message_id = _send(config, _message(config, db, period, files, person, address, delivery_id), delivery_id)
    except ChannelError as exc:
        with db.session() as session:
            delivery = session.get(ReportDelivery, delivery_id)
            if record_failed_send(delivery, exc, config.policy):
                session.add(
                    AuditEvent(
                        actor=ACTOR,
                        entity="report_delivery",
                        entity_id=delivery_id,
                        action=delivery.status,
                        detail={"error": str(exc)[:500], "ops_contact": config.settings.ops_contact},
                    )
                )
        return 0
    with db.session() as session:
        delivery = session.get(ReportDelivery, delivery_id)
        delivery.status, delivery.sent_at, delivery.message_id = SendStatus.SENT, clock.now(), message_id
    return 1


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
