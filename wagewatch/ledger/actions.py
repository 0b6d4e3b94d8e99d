"""What an officer can do to a lead: acknowledge, update status with notes and figures, transfer.

Every change writes an AuditEvent naming the officer and the old and new values. Statuses follow the
ledger: 待签收 → 已签收 → 核查中 → 已办结 | 不属实 | 已转办. A transfer to another Shandong city moves the
lead there (back to 待签收 with that city's on-duty officer, who is alerted); a transfer out of the
province or to another department closes it as 已转办 with the destination recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wagewatch.alerts.holding import release
from wagewatch.alerts.queue import queue_delivery
from wagewatch.alerts.routing import route
from wagewatch.core import clock
from wagewatch.core.config import AppConfig
from wagewatch.core.states import LEAD_FINAL, LEAD_OPEN, VERDICT_CAPTIONS, Indexed, Label, LeadKind, LeadStatus
from wagewatch.core.store import Database
from wagewatch.core.store.models import AuditEvent, Incident, Lead, enqueue_index
from wagewatch.ledger.deadlines import deadline

S = LeadStatus
STATUSES = tuple(LeadStatus)
OPEN, FINAL = LEAD_OPEN, LEAD_FINAL
NEXT = {
    S.OPEN: (S.ACKNOWLEDGED,),
    S.ACKNOWLEDGED: (S.CHECKING, S.CLOSED, S.UNFOUNDED),
    S.CHECKING: (S.CLOSED, S.UNFOUNDED),
}
VERDICTS = {label.value: caption for label, caption in VERDICT_CAPTIONS.items()}
KINDS = {kind.value: kind.caption for kind in LeadKind}
PROVINCE = "省级"


class LedgerError(ValueError):
    """A change the ledger refuses; the message is Chinese, for the officer's page."""


@dataclass(frozen=True)
class Officer:
    person_id: str
    name: str
    city: str | None  # None: the provincial office, which sees every lead

    @property
    def actor(self) -> str:
        return f"officer:{self.person_id}"

    def can_see(self, lead: Lead) -> bool:
        return self.city is None or lead.city == self.city


@dataclass
class StatusUpdate:
    status: str
    notes: str | None = None
    amount_recovered: float | None = None
    workers_paid: int | None = None
    verdict: str | None = None
    kind: str | None = None


def _require(officer: Officer, lead: Lead) -> None:
    if not officer.can_see(lead):
        raise LedgerError("无权操作：该线索不属于您所在的地市")


class Ledger:
    """The ledger's changes over one store and configuration."""

    def __init__(self, db: Database, config: AppConfig) -> None:
        self.db = db
        self.config = config

    def audit(self, session: Session, actor: str, lead: Lead, action: str, detail: dict) -> None:
        session.add(
            AuditEvent(actor=actor, entity="lead", entity_id=lead.id, action=action, detail=detail, at=clock.now())
        )
        # The search index shows the ledger too: queue the lead for the index stage.
        enqueue_index(session, Indexed.LEAD, lead.id)

    def acknowledge(self, session: Session, lead: Lead, officer: Officer) -> None:
        """签收: the officer takes the lead; escalation stops."""
        _require(officer, lead)
        if lead.status != S.OPEN:
            raise LedgerError(f"该线索当前状态为“{lead.status}”，无需重复签收")
        now = clock.now()
        lead.status, lead.acknowledged_at, lead.officer_id = S.ACKNOWLEDGED, now, officer.person_id
        self.audit(
            session,
            officer.actor,
            lead,
            "acknowledged",
            {"status": [S.OPEN, S.ACKNOWLEDGED], "officer": officer.person_id},
        )

    def update(self, session: Session, lead: Lead, officer: Officer, change: StatusUpdate) -> None:
        """Move the lead on and record notes, amounts recovered, workers paid and the officer's verdict."""
        _require(officer, lead)
        if lead.status in FINAL:
            raise LedgerError(f"该线索已{lead.status}，不能再修改")
        if change.status != lead.status and change.status not in NEXT.get(lead.status, ()):
            allowed = "、".join(NEXT.get(lead.status, ())) or "无"
            raise LedgerError(f"不能从“{lead.status}”改为“{change.status}”；可选：{allowed}")
        if change.verdict is not None and change.verdict not in VERDICTS:
            raise LedgerError("核查结论只能是：属实、不属实、与欠薪无关")
        if change.kind is not None and change.kind not in KINDS:
            raise LedgerError("线索类型无效")
        for value, label in ((change.amount_recovered, "追回金额"), (change.workers_paid, "支付人数")):
            if value is not None and value < 0:
                raise LedgerError(f"{label}不能为负数")
        now = clock.now()
        wanted = {
            "status": change.status,
            "amount_recovered": change.amount_recovered,
            "workers_paid": change.workers_paid,
            "verdict": change.verdict or {S.CLOSED: Label.REAL, S.UNFOUNDED: Label.FALSE}.get(change.status),
        }
        if change.status == S.ACKNOWLEDGED and lead.status == S.OPEN:
            wanted["acknowledged_at"] = now
        if change.kind and change.kind != lead.kind:
            incident = session.get(Incident, lead.incident_id)
            wanted["kind"] = change.kind
            wanted["deadline"] = deadline(self.config.policy, incident.project_type, change.kind, lead.created_at)
        if change.status in FINAL:
            wanted["closed_at"] = now
        changes = {
            attr: [_plain(getattr(lead, attr)), _plain(value)]
            for attr, value in wanted.items()
            if value is not None and getattr(lead, attr) != value
        }
        note = (change.notes or "").strip()
        if note:
            changes["note"] = [None, note]
        if not changes:
            raise LedgerError("没有需要保存的修改")
        # Validated: from here on nothing refuses, so a refusal never leaves a half-made change behind.
        for attr, value in wanted.items():
            if attr in changes:
                setattr(lead, attr, value)
        if note:
            stamp = f"[{clock.local(now):%Y-%m-%d %H:%M} {officer.name}] {note}"
            lead.notes = f"{lead.notes}\n{stamp}" if lead.notes else stamp
        self.audit(session, officer.actor, lead, "updated", changes)

    def check_transfer(self, lead: Lead, officer: Officer, to: str | None) -> str:
        """The cleaned destination if `officer` may transfer `lead` there; the page asks for confirmation
        after this check, so a refusal comes before the officer confirms, not after."""
        _require(officer, lead)
        if lead.status in FINAL:
            raise LedgerError(f"该线索已{lead.status}，不能转办")
        to = (to or "").strip()
        if not to:
            raise LedgerError("请选择转办去向；转往外省或其他部门的，请选择“其他”并填写去向")
        if to == (lead.city or PROVINCE):
            raise LedgerError("不能转办给本地市")
        return to

    def is_local(self, to: str) -> bool:
        """Whether a transfer to `to` stays in the ledger (a Shandong city or the provincial office)."""
        return to in self.config.cities.cities or to == PROVINCE

    def transfer(self, session: Session, lead: Lead, officer: Officer, to: str, note: str | None = None) -> int:
        """转办. `to` is a Shandong city, 省级 (the provincial office), or any other destination (another province or
        department), which closes the lead as 已转办. Returns how many alerts were queued for the new owners."""
        to = self.check_transfer(lead, officer, to)
        now = clock.now()
        detail = {
            "from": lead.city or PROVINCE,
            "to": to,
            "note": (note or "").strip() or None,
            "status": [lead.status, None],
        }
        if not self.is_local(to):
            lead.status, lead.closed_at, lead.transferred_to = S.TRANSFERRED, now, to
            detail["status"][1] = S.TRANSFERRED
            self.audit(session, officer.actor, lead, "transferred", detail)
            return 0
        incident = session.get(Incident, lead.incident_id)
        transfers = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity == "lead", AuditEvent.entity_id == lead.id, AuditEvent.action == "transferred")
        )
        city = None if to == PROVINCE else to
        targets = route(self.config.cities, incident.label, city, incident.severity, now)
        when = release(self.config.policy, incident.label, incident.severity, now, digest=False)
        lead.city, lead.transferred_to = city, to
        lead.officer_id = targets[0].person.id
        lead.status, lead.acknowledged_at, lead.escalation_level, lead.notified_at = S.OPEN, None, 0, when.at
        lead.deadline, lead.overdue = deadline(self.config.policy, incident.project_type, lead.kind, now), False
        incident.city = city or incident.city
        incident.alerted_cities = sorted({*(incident.alerted_cities or []), *([city] if city else [])})
        detail["status"][1] = S.OPEN
        detail["officer"] = lead.officer_id
        self.audit(session, officer.actor, lead, "transferred", detail)
        return sum(
            queue_delivery(session, self.db, incident.id, t.person, f"transfer-in-{transfers + 1}", when)
            for t in targets
        )

    def assign(self, session: Session, lead: Lead, officer: Officer, person_id: str) -> int:
        """指派 (province only): make another person on the lead's own list responsible for it; they are told
        and must acknowledge it. Returns how many alerts were queued (0 or 1)."""
        if officer.city is not None:
            raise LedgerError("只有省欠薪办可以指派责任人")
        if lead.status in FINAL:
            raise LedgerError(f"该线索已{lead.status}，不能指派")
        person = self.config.cities.person(person_id)
        if person is None or self.config.cities.city_of(person_id) != lead.city:
            raise LedgerError(f"{person.name if person else person_id}不在{lead.city or PROVINCE}的名单上，不能指派")
        if person_id == lead.officer_id:
            raise LedgerError(f"{person.name}已是该线索的责任人")
        now = clock.now()
        assignments = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity == "lead", AuditEvent.entity_id == lead.id, AuditEvent.action == "assigned")
        )
        incident = session.get(Incident, lead.incident_id)
        when = release(self.config.policy, incident.label, incident.severity, now, digest=False)
        detail = {"officer": [lead.officer_id, person_id]}
        lead.officer_id = person_id
        if lead.status == S.OPEN:
            lead.escalation_level, lead.notified_at = 0, when.at
        self.audit(session, officer.actor, lead, "assigned", detail)
        return queue_delivery(session, self.db, lead.incident_id, person, f"assign-{assignments + 1}", when)


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value
