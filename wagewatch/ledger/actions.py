"""What an officer can do to a lead: acknowledge, update status with notes and figures, transfer.

Every change writes an AuditEvent naming the officer and the old and new values. Statuses follow the
ledger: 待签收 → 已签收 → 核查中 → 已办结 | 不属实 | 已转办. A transfer to another Shandong city moves the
lead there (back to 待签收 with that city's on-duty officer, who is alerted); a transfer out of the
province or to another department closes it as 已转办 with the destination recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, false, func, select, true
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


class StaleLeadError(LedgerError):
    """The lead changed since the officer loaded it (compare-and-set refused)."""


STALE = "该线索刚被他人修改（您看到的是第{seen}版，现为第{now}版），请刷新页面查看最新情况后再操作"


class Action(StrEnum):
    VIEW = "view"
    ACKNOWLEDGE = "acknowledge"
    UPDATE = "update"
    TRANSFER = "transfer"
    CLARIFY = "clarify"  # record a public clarification of a false claim (澄清)
    REOPEN = "reopen"
    ASSIGN = "assign"


HANDLING_ROLES = ("duty", "deputy", "leader", "triage")
PROVINCE_ROLES = ("triage", "leader")  # of the provincial office: reopen closed leads, assign


@dataclass(frozen=True)
class Officer:
    """Who is acting. Handling roles act on their city's leads (the provincial office's on all); publicity
    contacts see their city's false-claim leads and record clarifications only; ops sees no leads (system
    notices reach them by message); only the province's triage desk and leaders reopen a closed lead or assign one."""

    person_id: str
    name: str
    city: str | None  # None: the provincial office
    role: str = "duty"

    @property
    def actor(self) -> str:
        return f"officer:{self.person_id}"

    def own_city(self, lead: Lead) -> bool:
        return self.city is None or lead.city == self.city

    def can(self, action: Action, lead: Lead, label: str) -> bool:
        """Whether this officer may do `action` on `lead`, whose incident has `label`."""
        if self.role == "publicity":
            return self.own_city(lead) and label == "false" and action in (Action.VIEW, Action.CLARIFY)
        if self.role not in HANDLING_ROLES:
            return False
        if action in (Action.REOPEN, Action.ASSIGN):
            return self.city is None and self.role in PROVINCE_ROLES
        return self.own_city(lead)

    def can_see(self, lead: Lead) -> bool:
        return self.can(Action.VIEW, lead, lead.incident.label)

    def visible(self) -> ColumnElement[bool]:
        """The leads this officer may see, as a condition over Lead joined with Incident."""
        if self.role != "publicity" and self.role not in HANDLING_ROLES:
            return false()
        own = true() if self.city is None else Lead.city == self.city
        return and_(own, Incident.label == "false") if self.role == "publicity" else own


@dataclass
class StatusUpdate:
    status: str
    notes: str | None = None
    amount_recovered: float | None = None
    workers_paid: int | None = None
    verdict: str | None = None
    kind: str | None = None


def _require(officer: Officer, lead: Lead, action: Action, version: int | None) -> None:
    """Refuse an action the officer's role does not allow, or one based on an outdated view of the lead."""
    if not officer.can(action, lead, lead.incident.label):
        raise LedgerError(
            "无权操作：您的岗位不能进行此项操作" if officer.own_city(lead) else "无权操作：该线索不属于您所在的地市"
        )
    if version is not None and version != lead.version:
        raise StaleLeadError(STALE.format(seen=version, now=lead.version))


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

    def acknowledge(self, session: Session, lead: Lead, officer: Officer, version: int | None = None) -> None:
        """签收: the officer takes the lead; escalation stops. `version` (here and below): the lead's version
        the officer's page showed; a change made meanwhile by someone else refuses this one."""
        _require(officer, lead, Action.ACKNOWLEDGE, version)
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

    def update(
        self, session: Session, lead: Lead, officer: Officer, change: StatusUpdate, version: int | None = None
    ) -> None:
        """Move the lead on and record notes, amounts recovered, workers paid and the officer's verdict."""
        _require(officer, lead, Action.UPDATE, version)
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
            self._append_note(lead, officer, note)
        self.audit(session, officer.actor, lead, "updated", changes)

    def clarify(self, session: Session, lead: Lead, officer: Officer, note: str, version: int | None = None) -> None:
        """澄清: record what was published to correct a false claim; the lead's handling is not changed."""
        _require(officer, lead, Action.CLARIFY, version)
        note = (note or "").strip()
        if not note:
            raise LedgerError("请填写澄清情况")
        self._append_note(lead, officer, f"【澄清】{note}")
        self.audit(session, officer.actor, lead, "clarified", {"note": note})

    def reopen(self, session: Session, lead: Lead, officer: Officer, note: str, version: int | None = None) -> None:
        """重新打开: the province sends a closed lead back to 核查中 (a closed lead stays closed otherwise)."""
        _require(officer, lead, Action.REOPEN, version)
        if lead.status not in FINAL:
            raise LedgerError(f"该线索当前状态为“{lead.status}”，未办结，无需重新打开")
        note = (note or "").strip()
        if not note:
            raise LedgerError("请填写重新打开的理由")
        before = lead.status
        lead.status, lead.closed_at = S.CHECKING, None
        self._append_note(lead, officer, f"【重新打开】{note}")
        self.audit(session, officer.actor, lead, "reopened", {"status": [before, S.CHECKING], "note": note})

    def _append_note(self, lead: Lead, officer: Officer, note: str) -> None:
        stamp = f"[{clock.local(clock.now()):%Y-%m-%d %H:%M} {officer.name}] {note}"
        lead.notes = f"{lead.notes}\n{stamp}" if lead.notes else stamp

    def check_transfer(self, lead: Lead, officer: Officer, to: str | None, version: int | None = None) -> str:
        """The cleaned destination if `officer` may transfer `lead` there; the page asks for confirmation
        after this check, so a refusal comes before the officer confirms, not after."""
        _require(officer, lead, Action.TRANSFER, version)
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

    def transfer(
        self,
        session: Session,
        lead: Lead,
        officer: Officer,
        to: str,
        note: str | None = None,
        version: int | None = None,
    ) -> int:
        """转办. `to` is a Shandong city, 省级 (the provincial office), or any other destination (another province or
        department), which closes the lead as 已转办. Returns how many alerts were queued for the new owners."""
        to = self.check_transfer(lead, officer, to, version)
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
        if not officer.can(Action.ASSIGN, lead, lead.incident.label):
            raise LedgerError("只有省欠薪办（研判值班、领导）可以指派责任人")
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
