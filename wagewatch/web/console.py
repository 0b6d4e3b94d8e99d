"""The province console (全省研判调度台): every lead in one table with filters, counts, sorting, bulk actions
and an XLSX export of exactly what the filters show.

The filters are facets: each option shows how many leads it would leave given the other filters, so the
morning triage sees at once where the overdue red leads are. Leads are filtered in Python after one query:
a province holds hundreds of open leads, not millions, and the counts need every row anyway.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from io import BytesIO
from urllib.parse import urlencode

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from wagewatch.alerts.render import WARNING_COLOURS
from wagewatch.core import clock
from wagewatch.core.store.models import Analysis, Incident, Lead, Post
from wagewatch.ledger.actions import OPEN, PROVINCE, STATUSES

LABELS = {"real": "欠薪", "false": "虚假讨薪"}
OVERDUE = {"yes": "已逾期", "no": "未逾期"}
REVIEW = {"yes": "待研判", "no": "模型已判定"}  # 待研判: a text the classifier could not call, for triage
SORTS = {
    "deadline": ("办结时限最近", lambda r: (r.lead.deadline,)),
    "newest": ("最新发现", lambda r: (-r.lead.created_at.timestamp(),)),
    "severity": ("预警级别最高", lambda r: (-(r.incident.severity or 0), r.lead.deadline)),
    "city": ("按地市", lambda r: (r.city, r.lead.deadline)),
}


@dataclass
class Row:
    lead: Lead
    incident: Incident
    sources: list[str]
    overdue: bool

    @property
    def city(self) -> str:
        return self.lead.city or PROVINCE

    @property
    def level(self) -> str:
        if self.incident.label == "false":
            return "虚假讨薪"
        return f"{WARNING_COLOURS[self.incident.severity]}预警" if self.incident.severity in WARNING_COLOURS else "—"


@dataclass
class Filters:
    """The console's query string; an empty value means “any”."""

    city: str = ""
    level: str = ""
    status: str = "open"  # open: the three open statuses; all: every status; or one status
    overdue: str = ""
    source: str = ""
    label: str = ""
    review: str = ""  # yes: the 待研判 queue
    since: str = ""  # YYYY-MM-DD, China time, on the lead's creation
    until: str = ""
    sort: str = "deadline"

    @classmethod
    def from_query(cls, query: Iterable[tuple[str, str]]) -> Filters:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v.strip() for k, v in query if k in names})

    def query(self, **changes: str) -> str:
        """This filter set as a query string, with `changes` applied."""
        values = {f.name: getattr(self, f.name) for f in fields(self)} | changes
        return urlencode({k: v for k, v in values.items() if v})


# Each facet: (caption, the values a row has for it).
FACETS: dict[str, tuple[str, Callable[[Row], list[str]]]] = {
    "city": ("地市", lambda r: [r.city]),
    "level": ("预警级别", lambda r: [r.level]),
    "status": ("状态", lambda r: [r.lead.status]),
    "overdue": ("逾期", lambda r: ["yes" if r.overdue else "no"]),
    "source": ("来源", lambda r: r.sources),
    "label": ("类别", lambda r: [r.incident.label]),
    "review": ("研判", lambda r: ["yes" if r.incident.needs_review else "no"]),
}


def caption(facet: str, value: str) -> str:
    """How a facet value reads in the console and the export's caption."""
    if facet == "overdue":
        return OVERDUE.get(value, value)
    if facet == "label":
        return LABELS.get(value, value)
    if facet == "review":
        return REVIEW.get(value, value)
    if facet == "status":
        return {"open": "未办结（全部）", "all": "全部状态"}.get(value, value)
    return value


def describe(filters: Filters) -> str:
    """The filters in words, e.g. 地市：济宁；逾期：已逾期 (or 全部线索)."""
    parts = [
        f"{FACETS[name][0]}：{caption(name, getattr(filters, name))}"
        for name in FACETS
        if getattr(filters, name) and getattr(filters, name) != "all"
    ]
    if filters.since or filters.until:
        parts.append(f"发现日期：{filters.since or '…'}至{filters.until or '…'}")
    return "；".join(parts) or "全部线索"


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _matches(row: Row, filters: Filters, skip: str | None = None) -> bool:
    for name, (_, values) in FACETS.items():
        wanted = getattr(filters, name)
        if name == skip or not wanted:
            continue
        if name == "status" and wanted in ("open", "all"):
            if wanted == "open" and row.lead.status not in OPEN:
                return False
            continue
        if wanted not in values(row):
            return False
    created = clock.local(row.lead.created_at).date()
    since, until = _date(filters.since), _date(filters.until)
    return not ((since and created < since) or (until and created > until))


@dataclass
class View:
    rows: list[Row]
    total: int  # leads in the ledger
    counts: dict[str, Counter] = field(default_factory=dict)  # facet -> value -> rows it would leave


def load(session: Session, now: datetime) -> list[Row]:
    """Every lead with its incident and the sources of its posts."""
    sources: dict[int, set[str]] = {}
    for incident_id, source in session.execute(
        select(Analysis.incident_id, Post.source).join(Post, Post.id == Analysis.post_id).distinct()
    ):
        sources.setdefault(incident_id, set()).add(source)
    return [
        Row(
            lead,
            incident,
            sorted(sources.get(incident.id, ())),
            lead.overdue or (lead.status in OPEN and lead.deadline < now),
        )
        for lead, incident in session.execute(select(Lead, Incident).join(Incident, Incident.id == Lead.incident_id))
    ]


def view(rows: list[Row], filters: Filters) -> View:
    """The rows the filters leave, sorted, with each facet's counts."""
    shown = [r for r in rows if _matches(r, filters)]
    _, key = SORTS.get(filters.sort, SORTS["deadline"])
    shown.sort(key=lambda r: (*key(r), r.lead.id))
    counts = {}
    for name, (_, values) in FACETS.items():
        counts[name] = Counter(v for r in rows if _matches(r, filters, skip=name) for v in values(r))
    counts["status"]["open"] = sum(counts["status"][s] for s in OPEN)
    counts["status"]["all"] = sum(counts["status"][s] for s in STATUSES)
    return View(shown, len(rows), counts)


EXPORT_COLUMNS = [
    "线索编号",
    "地市",
    "县区",
    "线索标题",
    "预警级别",
    "状态",
    "责任人",
    "来源",
    "发现时间",
    "办结时限",
    "是否逾期",
    "转办去向",
]


def export_xlsx(rows: list[Row], filters_text: str, name_of: Callable[[str], str]) -> bytes:
    """The filtered rows as a workbook: a caption line saying which filters made it, then one row per lead."""
    wb = Workbook()
    ws = wb.active
    ws.title = "线索清单"
    ws.cell(
        1,
        1,
        f"全省欠薪网络舆情线索清单（{filters_text}；共{len(rows)}条），导出时间 {clock.local(clock.now()):%Y-%m-%d %H:%M}",
    )
    ws.cell(1, 1).font = Font(bold=True)
    for col, header in enumerate(EXPORT_COLUMNS, 1):
        cell = ws.cell(2, col, header)
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="DCE6F1")
    for r, row in enumerate(rows, 3):
        values = [
            row.incident.id,
            row.city,
            row.incident.county or "",
            row.incident.title,
            row.level,
            row.lead.status,
            name_of(row.lead.officer_id),
            "、".join(row.sources),
            clock.local(row.lead.created_at).replace(tzinfo=None),
            clock.local(row.lead.deadline).replace(tzinfo=None),
            "是" if row.overdue else "否",
            row.lead.transferred_to or "",
        ]
        for col, value in enumerate(values, 1):
            cell = ws.cell(r, col, value)
            if isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
    for col, width in enumerate([9, 8, 10, 40, 10, 8, 16, 14, 17, 17, 8, 16], 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A3"
    ws.auto_filter.ref = f"A2:{get_column_letter(len(EXPORT_COLUMNS))}{max(len(rows) + 2, 2)}"
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
