"""Every state a stored row can be in, and the one place that gives each its Chinese caption.

The stages select their work by these values, so they are StrEnums: the database keeps the plain string
(`"pending"`, or the ledger's own wording `"待签收"` for lead statuses, which officers and Kibana read as is),
and a misspelt state is a NameError instead of a query that silently matches nothing. Whatever a user reads
comes from `.caption`, so a wording changes here once.
"""

from __future__ import annotations

from enum import StrEnum


class Captioned(StrEnum):
    """A state whose Chinese caption is looked up in CAPTIONS (keyed by type: equal strings of two enums differ)."""

    @property
    def caption(self) -> str:
        return CAPTIONS[type(self)][self]


class CrawlStatus(Captioned):
    """One crawl run (`crawl_runs.status`)."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    BLOCKED = "blocked"
    INTERRUPTED = "interrupted"  # found still running when the next run of its source began


class PostState(Captioned):
    """A collected post (`posts.state`): analyze picks NEW."""

    NEW = "new"
    ANALYZED = "analyzed"


class Label(Captioned):
    """What the classifier says a post is, and what an officer finds a lead to be (`leads.verdict`)."""

    REAL = "real"
    FALSE = "false"
    IRRELEVANT = "irrelevant"


class AlertState(Captioned):
    """An incident (`incidents.alert_state`): dispatch picks PENDING (a new incident or a re-alert)."""

    PENDING = "pending"
    ALERTED = "alerted"


class LeadStatus(Captioned):
    """A lead in the ledger (`leads.status`), stored in the ledger's own wording: 待签收 → 已签收 → 核查中 → 已办结 | 不属实 | 已转办."""

    OPEN = "待签收"
    ACKNOWLEDGED = "已签收"
    CHECKING = "核查中"
    CLOSED = "已办结"
    UNFOUNDED = "不属实"
    TRANSFERRED = "已转办"


LEAD_OPEN = (LeadStatus.OPEN, LeadStatus.ACKNOWLEDGED, LeadStatus.CHECKING)
LEAD_FINAL = (LeadStatus.CLOSED, LeadStatus.UNFOUNDED, LeadStatus.TRANSFERRED)


class LeadKind(Captioned):
    """Why a lead exists (`leads.kind`)."""

    NEW = "new"
    BACKLOG = "backlog"
    COMPLEX = "complex"
    CLARIFY = "clarify"
    TRANSFER = "transfer"


class SendStatus(Captioned):
    """One message on its way (alert and report deliveries, ops alerts).

    PENDING → SENDING → SENT | FAILED (retried later) | DEAD (given up) | UNKNOWN (crashed or ambiguous while
    sending: never re-sent, reported to ops). DIGEST: held for the person's next digest.
    """

    PENDING = "pending"
    DIGEST = "digest"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    UNKNOWN = "unknown"


SEND_DUE = (SendStatus.PENDING, SendStatus.FAILED, SendStatus.DIGEST)


class ProblemKind(Captioned):
    """A source problem that opens an ops-alert episode (`ops_alerts.kind`)."""

    BLOCKED = "blocked"
    FAILING = "failing"
    SILENT = "silent"


class Health(Captioned):
    """A source's health as `wagewatch sources` shows it."""

    OK = "ok"
    BLOCKED = "blocked"
    FAILING = "failing"
    SILENT = "silent"
    NEVER = "never"
    DISABLED = "disabled"
    BACKOFF = "backoff"


class Indexed(StrEnum):
    """A kind of row with a search document (`index_queue.entity`); not shown to users."""

    POST = "post"
    INCIDENT = "incident"
    LEAD = "lead"


CAPTIONS: dict[type[Captioned], dict[str, str]] = {
    CrawlStatus: {
        CrawlStatus.RUNNING: "运行中",
        CrawlStatus.OK: "成功",
        CrawlStatus.FAILED: "失败",
        CrawlStatus.BLOCKED: "被封禁",
        CrawlStatus.INTERRUPTED: "中断",
    },
    PostState: {PostState.NEW: "待分析", PostState.ANALYZED: "已分析"},
    Label: {Label.REAL: "真实欠薪", Label.FALSE: "虚假讨薪", Label.IRRELEVANT: "无关信息"},
    AlertState: {AlertState.PENDING: "待推送", AlertState.ALERTED: "已推送"},
    LeadStatus: {status: status.value for status in LeadStatus},
    LeadKind: {
        LeadKind.NEW: "新发线索",
        LeadKind.BACKLOG: "存量问题",
        LeadKind.COMPLEX: "疑难复杂",
        LeadKind.CLARIFY: "澄清核实",
        LeadKind.TRANSFER: "转办",
    },
    SendStatus: {
        SendStatus.PENDING: "待发送",
        SendStatus.DIGEST: "待汇总发送",
        SendStatus.SENDING: "发送中",
        SendStatus.SENT: "已发送",
        SendStatus.FAILED: "发送失败（待重试）",
        SendStatus.DEAD: "已放弃",
        SendStatus.UNKNOWN: "结果不明",
    },
    ProblemKind: {
        ProblemKind.BLOCKED: "被封禁/需验证",
        ProblemKind.FAILING: "连续抓取失败",
        ProblemKind.SILENT: "沉默（长时间无新帖）",
    },
    Health: {
        Health.OK: "正常",
        Health.BLOCKED: "被封禁",
        Health.FAILING: "抓取失败",
        Health.SILENT: "沉默",
        Health.NEVER: "从未运行",
        Health.DISABLED: "已停用",
        Health.BACKOFF: "退避中",
    },
}

# An officer's verdict is a Label, worded as a finding.
VERDICT_CAPTIONS = {Label.REAL: "属实", Label.FALSE: "不属实", Label.IRRELEVANT: "与欠薪无关"}

# Severity is a number (1–4, higher is worse), not a state; its four tiers are named here with the rest.
SEVERITY_LEVELS: tuple[int, ...] = (1, 2, 3, 4)
SEVERITY_CAPTIONS = {4: "特别重大", 3: "重大", 2: "较大", 1: "一般"}
