"""A lead's 操作记录 in words an officer reads: who did what, each change as “from → to”, in China time.

Audit events keep machine values (statuses, person ids, ISO times in UTC, yuan as floats) so Kibana and the
reports can count them; this module is the one place that turns them into Chinese sentences, for the
officer's page and the 专报.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from wagewatch.core import clock
from wagewatch.core.store.models import AuditEvent
from wagewatch.ledger.actions import KINDS, VERDICTS
from wagewatch.ledger.amounts import format_yuan

ACTIONS = {
    "created": "生成线索",
    "acknowledged": "签收",
    "updated": "更新办理情况",
    "transferred": "转办",
    "escalated": "升级提醒",
    "overdue": "标记逾期",
    "assigned": "指派责任人",
    "clarified": "记录澄清",
    "reopened": "重新打开",
}
SYSTEM_ACTORS = {"system:dispatch": "系统（推送）", "system:escalate": "系统（督办）"}
ESCALATION_STEPS = {1: "专班副组长", 2: "分管领导", 3: "省欠薪办"}
EMPTY = "—"


@dataclass(frozen=True)
class Entry:
    at: str  # China time, e.g. 2026-11-27 10:05
    who: str
    what: str
    changes: list[str]  # one sentence per changed field


def _time(value: str | None) -> str:
    if not value:
        return EMPTY
    return clock.local(datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")


def describe(event: AuditEvent, name_of: Callable[[str], str]) -> Entry:
    """One audit event of a lead as an Entry; `name_of` turns a person id into the person's name."""
    shown = {
        "status": ("状态", lambda v: v or EMPTY),
        "amount_recovered": ("追回金额", lambda v: EMPTY if v is None else format_yuan(v)),
        "workers_paid": ("支付人数", lambda v: EMPTY if v is None else f"{v}人"),
        "verdict": ("核查结论", lambda v: VERDICTS.get(v, EMPTY)),
        "kind": ("线索类型", lambda v: KINDS.get(v, EMPTY)),
        "deadline": ("办结时限", _time),
        "closed_at": ("办结时间", _time),
        "acknowledged_at": ("签收时间", _time),
    }
    detail = event.detail or {}
    changes = []
    if event.action == "transferred":
        changes.append(f"去向：{detail.get('from') or EMPTY} → {detail.get('to') or EMPTY}")
    for key, value in detail.items():
        if key in shown and isinstance(value, list) and len(value) == 2 and value[0] != value[1]:
            label, fmt = shown[key]
            changes.append(f"{label}：{fmt(value[0])} → {fmt(value[1])}")
    if event.action == "created":
        changes.append(f"属地：{detail.get('city') or '省级'}；办结时限：{_time(detail.get('deadline'))}")
    if event.action == "overdue":
        changes.append(f"已超过办结时限 {_time(detail.get('deadline'))}")
    if event.action == "escalated":
        step = ESCALATION_STEPS.get(detail.get("level"), f"第{detail.get('level')}级")
        people = "、".join(name_of(p) for p in detail.get("to", []))
        changes.append(f"逾期未签收，已提醒{step}" + (f"（{people}）" if people else ""))
    officer = detail.get("officer")
    if isinstance(officer, list) and len(officer) == 2:
        changes.append(f"责任人：{name_of(officer[0])} → {name_of(officer[1])}")
    elif officer:
        changes.append(f"责任人：{name_of(officer)}")
    note = detail.get("note")
    if isinstance(note, list):
        note = note[1]
    if note:
        changes.append(f"说明：{note}")
    return Entry(
        at=clock.local(event.at).strftime("%Y-%m-%d %H:%M"),
        who=_actor(event.actor, name_of),
        what=ACTIONS.get(event.action, event.action),
        changes=changes,
    )


def _actor(actor: str, name_of: Callable[[str], str]) -> str:
    if actor.startswith("officer:"):
        return name_of(actor.split(":", 1)[1])
    return SYSTEM_ACTORS.get(actor, "系统")
