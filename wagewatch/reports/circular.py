"""The Word circular (通报): the period's summary in prose, a table per city, and the open leads."""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from wagewatch.core import clock
from wagewatch.reports.figures import OpenLead, Row
from wagewatch.reports.periods import Period

TABLE_COLUMNS = [
    ("scope", "地市"),
    ("new", "新增"),
    ("real", "欠薪"),
    ("false", "虚假"),
    ("closed", "办结"),
    ("closed_on_time", "按期办结"),
    ("overdue", "逾期"),
    ("open", "未办结"),
]


def _wan(yuan: float) -> str:
    return f"{yuan / 10_000:.2f}"


def summary_text(where: str, period: Period, totals: Row) -> str:
    """The circular's opening paragraph for one scope (全省 or a city)."""
    rate = f"{totals.on_time_rate:.0%}" if totals.on_time_rate is not None else "—"
    end = f"{period.last_day.month}月{period.last_day.day}日"
    clearance = "已实现欠薪线索动态清零" if totals.open == 0 else f"尚有{totals.open}条线索未办结，距动态清零仍有差距"
    return (
        f"{period.title}，{where}共监测发现欠薪网络舆情线索{totals.new}条，其中欠薪线索{totals.real}条"
        f"（红色预警{totals.red}条、橙色{totals.orange}条、黄色{totals.yellow}条、蓝色{totals.blue}条），"
        f"虚假讨薪舆情{totals.false}条。本期办结线索{totals.closed}条，其中按期办结{totals.closed_on_time}条"
        f"（按期办结率{rate}），经核实不属实{totals.verified_false}条；逾期{totals.overdue}条。"
        f"新增欠薪线索涉及金额{_wan(totals.amount_involved)}万元、涉及{totals.workers_involved}人；"
        f"本期追回欠薪{_wan(totals.amount_recovered)}万元，支付{totals.workers_paid}人。"
        f"截至{end}，{clearance}。"
    )


def city_line(row: Row) -> str:
    return (
        f"{row.scope}：新增{row.new}条（欠薪{row.real}条、虚假{row.false}条），办结{row.closed}条"
        f"（按期{row.closed_on_time}条），逾期{row.overdue}条，未办结{row.open}条。"
    )


def write_circular(
    path: Path, heading: str, where: str, period: Period, rows: list[Row], totals: Row, leads: list[OpenLead]
) -> Path:
    """Write the circular for `where` (全省 or a city) to `path` and return it."""
    doc = Document()
    style = doc.styles["Normal"]
    style.font.size = Pt(12)
    title = doc.add_heading(heading, level=1)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    sub = doc.add_paragraph(f"（{period.title}）")
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_heading("一、总体情况", level=2)
    doc.add_paragraph(summary_text(where, period, totals))
    doc.add_heading("二、分地市情况", level=2)
    active = [r for r in rows if r.new or r.closed or r.open]
    for row in active:
        doc.add_paragraph(city_line(row), style="List Bullet")
    if not active:
        doc.add_paragraph("本期无新增、办结或未办结线索。")
    table = doc.add_table(rows=1, cols=len(TABLE_COLUMNS))
    table.style = "Table Grid"
    for cell, (_, header) in zip(table.rows[0].cells, TABLE_COLUMNS, strict=True):
        cell.text = header
    for row in [*rows, totals]:
        cells = table.add_row().cells
        for cell, (attr, _) in zip(cells, TABLE_COLUMNS, strict=True):
            cell.text = str(getattr(row, attr))
    overdue = [r.scope for r in rows if r.overdue]
    doc.add_heading("三、工作要求", level=2)
    if overdue:
        doc.add_paragraph(f"{'、'.join(overdue)}存在逾期线索，请压实属地责任，逐条核查处置，尽快办结并反馈。")
    doc.add_paragraph(
        "请对照线索台账，落实首问负责制，对确属欠薪的线索及时查处、督促支付，对虚假讨薪舆情及时澄清，"
        "确保欠薪线索动态清零。"
    )
    if leads:
        doc.add_heading("附：未办结线索", level=2)
        for lead in leads[:50]:
            mark = "（逾期）" if lead.overdue else ""
            doc.add_paragraph(
                f"#{lead.lead_id} {lead.scope}{lead.county or ''}：{lead.title}，"
                f"时限{clock.local(lead.deadline):%m月%d日}{mark}",
                style="List Number",
            )
        if len(leads) > 50:
            doc.add_paragraph(f"另有{len(leads) - 50}条，详见情况表。")
    footer = doc.add_paragraph(f"欠薪舆情哨兵 {clock.local(clock.now()):%Y年%m月%d日}生成")
    footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    doc.save(tmp)
    tmp.replace(path)
    return path
