"""The 专报: a one-incident report on a red (特别重大) alert for the leadership, in the official layout —
what happened, how the posts spread, what the city has done so far (from the ledger), and what comes next.

Written on demand (`wagewatch report --incident N`) and by the report stage for every red incident that has
none yet, so the provincial office has it in hand the morning after.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import desc, select
from sqlalchemy.orm import Session

from wagewatch.alerts.markup import clip
from wagewatch.alerts.render import LEVELS
from wagewatch.core import clock
from wagewatch.core.config import AppConfig
from wagewatch.core.store import Database
from wagewatch.core.store.models import Analysis, AuditEvent, Incident, Lead, Post
from wagewatch.ledger import activity
from wagewatch.ledger.actions import OPEN, PROVINCE
from wagewatch.ledger.amounts import format_yuan
from wagewatch.reports import official

POSTS_SHOWN = 5


class SpecialReportError(ValueError):
    """An incident that has no 专报 to write (unknown, or never alerted); the message is Chinese."""


def special_path(config: AppConfig, incident_id: int) -> Path:
    return Path(config.settings.reports_dir) / "专报" / f"专报-线索编号{incident_id}.docx"


def _facts(incident: Incident, lead: Lead, owner: str) -> str:
    level, colour = LEVELS.get(incident.severity or 0, ("—", "蓝色"))
    place = f"{incident.city or '地点不明'}{'市' if incident.city else ''}{incident.county or ''}"
    return (
        f"{clock.local(incident.first_seen):%Y年%m月%d日%H时%M分}，系统监测发现{place}“{incident.title}”"
        f"相关网络舆情，研判为{colour}预警（{level}），线索编号{incident.id}。"
        f"涉及单位：{incident.company or '未说明'}；涉及项目：{incident.project or '未说明'}；"
        f"涉及金额：{format_yuan(incident.amount_yuan) if incident.amount_yuan else '未说明'}；"
        f"涉及人数：{f'{incident.workers}人' if incident.workers else '未说明'}。"
        f"线索已推送{lead.city or PROVINCE}，责任人为{owner}，办结时限为{clock.local(lead.deadline):%m月%d日%H时}。"
    )


def write_special(db: Database, config: AppConfig, incident_id: int, path: Path | None = None) -> Path:
    """Write the 专报 of one alerted incident and return its path."""
    style = config.policy.reports
    with db.session() as session:
        incident = session.get(Incident, incident_id)
        lead = session.scalars(select(Lead).where(Lead.incident_id == incident_id)).first() if incident else None
        if incident is None or lead is None:
            raise SpecialReportError(f"线索编号{incident_id}不存在或尚未推送，无法生成专报")
        doc = official.new_document()
        official.red_header(doc, style.issuer)
        where = f"{incident.city}市" if incident.city else ""
        official.title(doc, style.special_title.format(where=where, event=incident.title))
        official.heading(doc, "一、基本情况")
        official.paragraph(doc, _facts(incident, lead, _name(config, lead.officer_id)))
        official.heading(doc, "二、舆情态势")
        _posts(doc, session, incident)
        official.heading(doc, "三、处置情况")
        _handling(doc, session, config, lead)
        official.heading(doc, "四、下一步工作")
        official.paragraph(
            doc,
            "督促属地落实首问负责制，线上线下同步处置：核实欠薪事实，督促相关单位足额支付工资，"
            "依法查处恶意欠薪行为；同步做好舆论引导，及时回应关切，办结后在线索台账反馈结果。",
        )
        official.signature(doc, style.issuer, clock.local(clock.now()).date())
    return official.save(doc, path or special_path(config, incident_id))


def _name(config: AppConfig, person_id: str) -> str:
    person = config.cities.person(person_id)
    return person.name if person else person_id


def _posts(doc, session: Session, incident: Incident) -> None:
    posts = session.scalars(
        select(Post)
        .join(Analysis, Analysis.post_id == Post.id)
        .where(Analysis.incident_id == incident.id)
        .order_by(Post.published_at)
    ).all()
    sources = "、".join(sorted({p.source for p in posts})) or "—"
    official.paragraph(
        doc,
        f"截至{clock.local(clock.now()):%m月%d日%H时}，共发现相关帖文{len(posts)}条，来源：{sources}；"
        f"转发与评论合计{incident.reach}次。主要帖文如下：",
    )
    for number, post in enumerate(posts[:POSTS_SHOWN], 1):
        when = clock.local(post.published_at).strftime("%m月%d日%H:%M") if post.published_at else "时间不详"
        official.paragraph(doc, f"{number}. [{post.source}] {when} {clip(post.text, 120)}")


def _handling(doc, session: Session, config: AppConfig, lead: Lead) -> None:
    state = "尚未办结" if lead.status in OPEN else "已办结"
    overdue = "，已超过办结时限" if lead.overdue or (lead.status in OPEN and lead.deadline < clock.now()) else ""
    official.paragraph(doc, f"目前线索状态为“{lead.status}”，{state}{overdue}。办理过程如下（北京时间）：")
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity == "lead", AuditEvent.entity_id == lead.id)
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    for event in events:
        entry = activity.describe(event, lambda person_id: _name(config, person_id))
        official.paragraph(doc, f"{entry.at} {entry.who}{entry.what}：{'；'.join(entry.changes) or '—'}。")


def write_due_specials(db: Database, config: AppConfig) -> int:
    """The report stage's part: a 专报 for every alerted red incident that has none yet; returns how many."""
    with db.session() as session:
        ids = session.scalars(
            select(Incident.id)
            .join(Lead, Lead.incident_id == Incident.id)
            .where(Incident.label == "real", Incident.severity == 4)
            .order_by(desc(Incident.id))
        ).all()
    written = 0
    for incident_id in ids:
        if not special_path(config, incident_id).exists():
            write_special(db, config, incident_id)
            written += 1
    return written
