"""The figures of a report period, per city and for the province, from the ledger.

Definitions (one lead per alerted incident):
- new: leads created in the period; real / false: of those, incidents judged real wage arrears or false claims;
  severity mix: of the real ones, by warning colour.
- closed: leads that reached 已办结, 不属实 or 已转办 in the period; on time: closed by their deadline;
  verified false: closed as 不属实.
- overdue: leads still open at the end of the period past their deadline, plus leads closed in the period
  after it.
- involved: amount and workers of the new real leads; recovered / paid: of the leads closed in the period.
- open: leads created before the end of the period and not closed by then (the 动态清零 figure).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wagewatch.core.config import SHANDONG_CITIES
from wagewatch.core.states import LeadStatus
from wagewatch.core.store.models import Incident, Lead
from wagewatch.ledger.actions import PROVINCE
from wagewatch.reports.periods import Period, campaign, previous


@dataclass
class Row:
    scope: str
    new: int = 0
    real: int = 0
    false: int = 0
    red: int = 0
    orange: int = 0
    yellow: int = 0
    blue: int = 0
    closed: int = 0
    closed_on_time: int = 0
    verified_false: int = 0
    overdue: int = 0
    amount_involved: float = 0.0
    workers_involved: int = 0
    amount_recovered: float = 0.0
    workers_paid: int = 0
    open: int = 0

    def add(self, other: Row) -> None:
        for f in fields(self):
            if f.name != "scope":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def on_time_rate(self) -> float | None:
        return self.closed_on_time / self.closed if self.closed else None


# (attribute, column header) in 情况表 order; amounts are shown in 万元.
COLUMNS = [
    ("new", "新增线索"),
    ("real", "欠薪线索"),
    ("false", "虚假讨薪"),
    ("red", "红色"),
    ("orange", "橙色"),
    ("yellow", "黄色"),
    ("blue", "蓝色"),
    ("closed", "办结"),
    ("closed_on_time", "按期办结"),
    ("verified_false", "核实不属实"),
    ("overdue", "逾期"),
    ("amount_involved", "涉及金额（万元）"),
    ("workers_involved", "涉及人数"),
    ("amount_recovered", "追回金额（万元）"),
    ("workers_paid", "支付人数"),
    ("open", "未办结"),
]
SEVERITY_ATTR = {4: "red", 3: "orange", 2: "yellow", 1: "blue"}


@dataclass
class OpenLead:
    case_no: int  # the incident's number: the one case number of messages, pages, reports and Kibana
    scope: str
    county: str | None
    title: str
    severity: int | None
    label: str
    status: str
    officer_id: str
    created_at: datetime
    deadline: datetime
    overdue: bool


def _count(row: Row, lead: Lead, incident: Incident, period: Period) -> None:
    start, end = period.start, period.end
    if start <= lead.created_at < end:
        row.new += 1
        if incident.label == "real":
            row.real += 1
            if incident.severity in SEVERITY_ATTR:
                attr = SEVERITY_ATTR[incident.severity]
                setattr(row, attr, getattr(row, attr) + 1)
            row.amount_involved += incident.amount_yuan or 0.0
            row.workers_involved += incident.workers or 0
        elif incident.label == "false":
            row.false += 1
    closed_in_period = lead.closed_at is not None and start <= lead.closed_at < end
    open_at_end = lead.closed_at is None or lead.closed_at >= end
    if closed_in_period:
        row.closed += 1
        row.closed_on_time += lead.closed_at <= lead.deadline
        row.verified_false += lead.status == LeadStatus.UNFOUNDED
        row.amount_recovered += lead.amount_recovered or 0.0
        row.workers_paid += lead.workers_paid or 0
    if open_at_end:
        row.open += 1
    if (open_at_end and lead.deadline < end) or (closed_in_period and lead.closed_at > lead.deadline):
        row.overdue += 1


def _leads(session: Session, period: Period, city: str | None) -> list[tuple[Lead, Incident]]:
    query = (
        select(Lead, Incident)
        .join(Incident, Incident.id == Lead.incident_id)
        .where(Lead.created_at < period.end)
        .order_by(Lead.id)
    )
    if city is not None:
        query = query.where(Lead.city == city)
    return [(lead, incident) for lead, incident in session.execute(query)]


def compute(session: Session, period: Period, city: str | None = None) -> tuple[list[Row], Row]:
    """One row per city (all 16 and 省级, or only `city`) and the totals row."""
    scopes = [city] if city else [*SHANDONG_CITIES, PROVINCE]
    rows = {scope: Row(scope) for scope in scopes}
    for lead, incident in _leads(session, period, city):
        if lead.closed_at is not None and lead.closed_at < period.start and lead.created_at < period.start:
            continue  # finished before the period: nothing of it shows
        _count(rows[lead.city or PROVINCE], lead, incident, period)
    totals = Row("合计")
    for row in rows.values():
        totals.add(row)
    return list(rows.values()), totals


def open_leads(session: Session, period: Period, city: str | None = None) -> list[OpenLead]:
    """Leads still open at the end of the period, overdue first."""
    result = [
        OpenLead(
            incident.id,
            lead.city or PROVINCE,
            incident.county,
            incident.title,
            incident.severity,
            incident.label,
            lead.status if lead.closed_at is None else "（期末未办结）",
            lead.officer_id,
            lead.created_at,
            lead.deadline,
            lead.deadline < period.end,
        )
        for lead, incident in _leads(session, period, city)
        if lead.closed_at is None or lead.closed_at >= period.end
    ]
    return sorted(result, key=lambda o: (not o.overdue, o.deadline))


@dataclass
class Figures:
    """A period's rows with what a circular compares them to: 累计 since the campaign began, the previous
    period (环比), and each city's place in the ranking."""

    period: Period
    rows: list[Row]
    totals: Row
    cumulative: dict[str, Row]  # scope (and 合计) -> figures from the campaign start to the period's end
    previous: dict[str, Row]  # scope (and 合计) -> the period before
    ranks: dict[str, int]  # city -> 1 for the best

    def change(self, scope: str) -> str:
        """环比 of new leads, e.g. +25%, -10%, 持平; — when neither period had any, 上期0条 when only this one."""
        before, now = self.previous[scope].new, (self.totals if scope == "合计" else self.row(scope)).new
        if before == 0:
            return "—" if now == 0 else "上期0条"
        ratio = (now - before) / before
        return "持平" if ratio == 0 else f"{ratio:+.0%}"

    def row(self, scope: str) -> Row:
        return next(r for r in self.rows if r.scope == scope)


RANKING_RULE = "排名依据：按期办结率高者在前，相同时逾期线索少者在前；本期无办结线索的地市按逾期数排在其后"


def _rank(rows: list[Row]) -> dict[str, int]:
    """Competition ranking (1, 2, 2, 4) of the cities by on-time closure, then fewer overdue leads."""

    def key(row: Row) -> tuple:
        rate = row.on_time_rate
        return (rate is None, -(rate or 0.0), row.overdue)

    ordered = sorted((r for r in rows if r.scope != PROVINCE), key=key)
    ranks: dict[str, int] = {}
    for place, row in enumerate(ordered, 1):
        same = next((ranks[o.scope] for o in ordered[: place - 1] if key(o) == key(row)), None)
        ranks[row.scope] = same or place
    return ranks


def compute_figures(session: Session, period: Period, city: str | None, campaign_start: date) -> Figures:
    """Everything a report shows for `period` (all cities, or `city`)."""
    rows, totals = compute(session, period, city)
    cumulative_rows, cumulative_totals = compute(session, campaign(campaign_start, period), city)
    previous_rows, previous_totals = compute(session, previous(period), city)
    return Figures(
        period,
        rows,
        totals,
        {r.scope: r for r in [*cumulative_rows, cumulative_totals]},
        {r.scope: r for r in [*previous_rows, previous_totals]},
        _rank(rows) if city is None else {},
    )
