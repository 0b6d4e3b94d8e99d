"""Render an incident into the Chinese alert an officer reads, in every format a channel needs.

Post text is untrusted: HTML is autoescaped, markdown output passes through `markup.escape_markdown` for
every value the template prints (only markup we build ourselves is marked `SafeMarkdown`), and plain text
and SMS fold post text onto one line so it cannot pose as a line of the alert.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import escape

from wagewatch.alerts.markup import SafeMarkdown, clip, escape_markdown, escape_markdown_block, one_line, safe_url
from wagewatch.core import clock
from wagewatch.core.states import SEVERITY_CAPTIONS

TEMPLATES = Path(__file__).resolve().parent / "templates"

# The Chinese four-tier warning colours, by severity level.
WARNING_COLOURS = {4: "红色", 3: "橙色", 2: "黄色", 1: "蓝色"}
LEVELS = {level: (SEVERITY_CAPTIONS[level], colour) for level, colour in WARNING_COLOURS.items()}
COLOURS = {"红色": "#d32f2f", "橙色": "#f57c00", "黄色": "#fbc02d", "蓝色": "#1976d2"}
# WeCom markdown knows three font colours only; DingTalk takes any hex colour.
WECOM_FONT = {"红色": "warning", "橙色": "warning", "黄色": "comment", "蓝色": "info"}
MARKDOWN_FLAVOURS = ("wecom", "dingtalk")

REASONS = {
    "new": "新发现欠薪线索",
    "clarify": "疑似虚假讨薪，请核实并澄清",
    "transfer": "外省线索，请转办",
    "triage": "地点不明，请省级研判分派",
    "review": "模型无法确定，待研判",
    "severity-1": "新发现欠薪线索",
    "severity-2": "新发现欠薪线索",
    "severity-3": "重大欠薪线索",
    "severity-4": "特别重大欠薪线索",
    "remind": "线索办理期限临近",
    "overdue": "线索已逾期未办结",
}
REASON_PREFIXES = {
    "escalate": "欠薪线索逾期未签收，升级提醒",
    "heat": "线索舆情热度明显上升，再次提醒",
    "transfer-in": "他市转办线索，请签收办理",
    "assign": "省欠薪办指派您负责该线索，请签收办理",
    "ops-dead": "预警投递失败（已转入死信）",
    "ops-unknown": "预警投递结果未知（发送中断）",
}
NEXT_STEPS = {
    "clarify": "请会同属地核实情况；经核实不属实的，及时发布澄清信息。",
    "transfer": "请核实线索所在地并转交属地处置，记录转办去向。",
    "triage": "请研判线索所在地市并分派至属地。",
    "review": "请阅读依据段落，判断是否为真实欠薪线索；属实的分派至属地，不属于欠薪线索的标注后办结。",
    "remind": "请在办结时限前完成核查处置，并在页面反馈办理结果。",
    "overdue": "线索已超过办结时限，请立即办理并在页面说明情况。",
    "ops": "请检查该渠道的配置与连通性，并以其他方式确认收件人已知悉。",
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
    note: str | None = None  # e.g. for the ops contact: which delivery failed and why
    passage: str | None = None  # what the classifier read; triage reads it for a text sent to review (待研判)


@dataclass
class DigestView:
    """Several low-severity incidents for one person, sent together at a digest time."""

    recipient_name: str
    items: list[AlertView]
    link: str


class LazyMarkdown(Mapping[str, str]):
    """An alert's robot markdown per flavour, rendered the first time a robot channel reads it: most alerts go
    by email and never need it, and its two templates were a third of an alert's rendering."""

    def __init__(self, make: Callable[[str], str]) -> None:
        self._make = make
        self._made: dict[str, str] = {}

    def __getitem__(self, flavour: str) -> str:
        if flavour not in MARKDOWN_FLAVOURS:
            raise KeyError(flavour)
        if flavour not in self._made:  # two threads may both render it: same text, no harm
            self._made[flavour] = self._make(flavour)
        return self._made[flavour]

    def __contains__(self, flavour: object) -> bool:
        return flavour in MARKDOWN_FLAVOURS

    def __iter__(self) -> Iterator[str]:
        return iter(MARKDOWN_FLAVOURS)

    def __len__(self) -> int:
        return len(MARKDOWN_FLAVOURS)


@dataclass
class AlertMessage:
    subject: str
    text: str
    html: str
    short: str = ""  # one line for SMS; the subject when not given
    markdown: Mapping[str, str] = field(default_factory=dict)  # per robot flavour; the plain text when not given
    facts: dict[str, object] = field(default_factory=dict)  # incident_id, severity, level, colour, link

    def __post_init__(self) -> None:
        # Messages built elsewhere (e.g. the crawlers' source-health alerts) give only subject, text and html.
        self.short = self.short or one_line(self.subject)
        missing = [flavour for flavour in MARKDOWN_FLAVOURS if flavour not in self.markdown]
        if missing:
            block = escape_markdown_block(self.text)
            self.markdown = {**self.markdown, **dict.fromkeys(missing, block)}


def _local(dt: datetime | None) -> str:
    return clock.local(dt).strftime("%Y-%m-%d %H:%M") if dt else "未知"


def _wan(value: float | None) -> str:
    if not value:
        return "未说明"
    return f"{value / 10_000:g}万元" if value >= 10_000 else f"{value:g}元"


def template_environment(directory: Path = TEMPLATES, *, markdown: bool = False) -> Environment:
    """The one Jinja set-up of every message and page (alerts, ops alerts, the officers' page): undefined names
    fail, HTML (*.html, *.html.j2) is autoescaped, markdown output is escaped, and one set of filters."""
    env = Environment(
        loader=FileSystemLoader(directory),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False if markdown else select_autoescape(["html", "html.j2"]),
        finalize=escape_markdown if markdown else None,
    )
    env.filters.update(
        local=_local,
        wan=_wan,
        clip=clip,
        oneline=one_line,
        url=(lambda u: SafeMarkdown(safe_url(u))) if markdown else safe_url,
    )
    return env


_plain = template_environment()
_markdown = template_environment(markdown=True)


def place_name(view: AlertView) -> str:
    if view.city == "out_of_province":
        return "外省"
    if not view.city:
        return "地点不明"
    return f"{view.city}市{view.county or ''}"


def reason_text(reason: str) -> str:
    for prefix, text in REASON_PREFIXES.items():
        if reason.startswith(prefix + "-"):
            return text
    return REASONS.get(reason, REASONS["new"])


def next_step(reason: str) -> str:
    key = "ops" if reason.startswith("ops-") else reason
    return NEXT_STEPS.get(key, DEFAULT_NEXT_STEP)


def level_and_colour(view: AlertView) -> tuple[str, str]:
    return LEVELS.get(view.severity or 0, ("—", "蓝色"))


def _font(colour: str, flavour: str) -> SafeMarkdown:
    attr = WECOM_FONT[colour] if flavour == "wecom" else COLOURS[colour]
    return SafeMarkdown(f'<font color="{attr}">{colour}预警</font>')


def subject_of(view: AlertView) -> str:
    level, colour = level_and_colour(view)
    if view.reason.startswith("ops-"):
        tag = "【系统运维】"
    elif view.label == "real" and view.severity:
        tag = f"【{colour}预警·{level}】"
    else:
        tag = "【核实澄清】" if view.label == "false" else "【线索】"
    return one_line(f"{tag}{reason_text(view.reason)}｜{place_name(view)}：{view.title}")[:120]


# Stand-ins for the recipient's name and link in an alert rendered once for all its recipients. Random per
# process, so no post text can contain them; letters and digits only, so every escaper leaves them whole.
_NONCE = secrets.token_hex(8)
NAME_MARK, LINK_MARK = f"WWNAME{_NONCE}", f"WWLINK{_NONCE}"


@dataclass(frozen=True)
class SharedAlert:
    """An alert rendered once for everyone it goes to (templates are most of a message's cost), with the
    recipient's name and link left as marks that `personal` fills in, escaped as each format needs."""

    message: AlertMessage

    def personal(self, name: str, link: str) -> AlertMessage:
        def fill(text: str, name_as: str, link_as: str) -> str:
            return text.replace(NAME_MARK, name_as).replace(LINK_MARK, link_as)

        m = self.message
        return AlertMessage(
            subject=m.subject,
            text=fill(m.text, name, link),
            html=fill(m.html, str(escape(name)), str(escape(link))),
            short=fill(m.short, one_line(name), one_line(link)),
            markdown=LazyMarkdown(lambda flavour: fill(m.markdown[flavour], escape_markdown(name), safe_url(link))),
            facts={**m.facts, "link": link},
        )


def render(view: AlertView) -> AlertMessage:
    return render_shared(view).personal(view.recipient_name, view.link)


def render_shared(view: AlertView) -> SharedAlert:
    """The alert about `view`'s incident for any recipient: `view.recipient_name` and `view.link` are ignored."""
    view = replace(view, recipient_name=NAME_MARK, link=LINK_MARK)
    level, colour = level_and_colour(view)
    context = {
        "v": view,
        "level": level,
        "colour": colour,
        "colour_hex": COLOURS[colour],
        "place": place_name(view),
        "reason_text": reason_text(view.reason),
        "next_step": next_step(view.reason),
    }
    markdown = LazyMarkdown(
        lambda flavour: _markdown.get_template("alert.md.j2").render(
            **context, colour_tag=_font(colour, flavour), link=SafeMarkdown(LINK_MARK)
        )
    )
    message = AlertMessage(
        subject=subject_of(view),
        text=_plain.get_template("alert.txt.j2").render(**context),
        html=_plain.get_template("alert.html.j2").render(**context),
        short=one_line(_plain.get_template("alert.sms.j2").render(**context)),
        markdown=markdown,
        facts={
            "incident_id": view.incident_id,
            "severity": view.severity,
            "level": level,
            "colour": colour,
            "link": view.link,
        },
    )
    return SharedAlert(message)


def render_digest(view: DigestView) -> AlertMessage:
    context = {
        "d": view,
        "count": len(view.items),
        "place": place_name,
        "level_and_colour": level_and_colour,
        "colour_hex": COLOURS["蓝色"],
    }
    markdown = {
        flavour: _markdown.get_template("digest.md.j2").render(**context, link=SafeMarkdown(safe_url(view.link)))
        for flavour in MARKDOWN_FLAVOURS
    }
    return AlertMessage(
        subject=f"【线索汇总】待办欠薪线索{len(view.items)}条（{_local(clock.now())}）",
        text=_plain.get_template("digest.txt.j2").render(**context),
        html=_plain.get_template("digest.html.j2").render(**context),
        short=one_line(_plain.get_template("digest.sms.j2").render(**context)),
        markdown=markdown,
        facts={"incident_id": None, "severity": 1, "level": LEVELS[1][0], "colour": LEVELS[1][1], "link": view.link},
    )
