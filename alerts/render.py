"""Render an incident into the Chinese alert an officer reads. Post text is untrusted: the HTML template
autoescapes it, and the plain-text template has nothing to inject into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from wagewatch import clock

TEMPLATES = Path(__file__).resolve().parent / "templates"

LEVELS = {4: ("特别重大", "红色"), 3: ("重大", "橙色"), 2: ("较大", "黄色"), 1: ("一般", "蓝色")}
COLOURS = {"红色": "#d32f2f", "橙色": "#f57c00", "黄色": "#fbc02d", "蓝色": "#1976d2"}
REASONS = {
    "new": "新发现欠薪线索", "clarify": "疑似虚假讨薪，请核实并澄清", "transfer": "外省线索，请转办",
    "triage": "地点不明，请省级研判分派", "severity-1": "新发现欠薪线索", "severity-2": "新发现欠薪线索",
    "severity-3": "重大欠薪线索", "severity-4": "特别重大欠薪线索",
}
NEXT_STEPS = {
    "clarify": "请会同属地核实情况；经核实不属实的，及时发布澄清信息。",
    "transfer": "请核实线索所在地并转交属地处置，记录转办去向。",
    "triage": "请研判线索所在地市并分派至属地。",
}
DEFAULT_NEXT_STEP = "请立即签收，线上线下同步处置，核实欠薪事实并督促支付，在期限内办结并反馈结果。"


@dataclass
class PostView:
    source: str
    url: str
    text: str
    published_at: datetime | None


@dataclass
class AlertView:
    """Everything a template needs, already in display form."""

    incident_id: int
    label: str
    title: str
    city: str | None
    county: str | None
    severity: int | None
    severity_score: float
    explanation: list[str]
    company: str | None
    project: str | None
    amount_yuan: float | None
    workers: int | None
    posts: list[PostView]
    reason: str
    deadline: datetime | None
    link: str
    recipient_name: str


@dataclass
class AlertMessage:
    subject: str
    text: str
    html: str


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["local"] = lambda dt: clock.local(dt).strftime("%Y-%m-%d %H:%M") if dt else "未知"
    env.filters["wan"] = lambda v: f"{v / 10_000:g}万元" if v and v >= 10_000 else (f"{v:g}元" if v else "未说明")
    env.filters["clip"] = lambda s, n=140: (s[:n] + "…") if s and len(s) > n else (s or "")
    return env


_env = _environment()


def place_name(view: AlertView) -> str:
    if view.city == "out_of_province":
        return "外省"
    if not view.city:
        return "地点不明"
    return f"{view.city}市{view.county or ''}"


def reason_text(reason: str) -> str:
    if reason.startswith("escalate"):
        return "欠薪线索逾期未签收，升级提醒"
    return REASONS.get(reason, REASONS["new"])


def render(view: AlertView) -> AlertMessage:
    level, colour = LEVELS.get(view.severity or 0, ("—", "蓝色"))
    context = {
        "v": view, "level": level, "colour": colour, "colour_hex": COLOURS[colour], "place": place_name(view),
        "reason_text": reason_text(view.reason),
        "next_step": NEXT_STEPS.get(view.reason, DEFAULT_NEXT_STEP),
    }
    tag = f"【{colour}预警·{level}】" if view.label == "real" and view.severity else "【核实澄清】" if view.label == "false" else "【线索】"
    subject = f"{tag}{place_name(view)}：{view.title}"[:120]
    return AlertMessage(
        subject=subject.replace("\n", " ").replace("\r", " "),
        text=_env.get_template("alert.txt.j2").render(**context),
        html=_env.get_template("alert.html.j2").render(**context),
    )
