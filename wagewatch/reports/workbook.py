"""The XLSX 情况表: one row per city with a totals row, a sheet of open leads, and native Excel charts."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, PieChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from wagewatch.alerts.render import WARNING_COLOURS
from wagewatch.core import clock
from wagewatch.reports.figures import COLUMNS, OpenLead, Row
from wagewatch.reports.periods import Period

SUMMARY_SHEET = "情况表"
OPEN_SHEET = "未办结线索"
CHART_SHEET = "图表"
HEADER_ROW = 3
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")


def _cell_value(row: Row, attr: str) -> float | int:
    value = getattr(row, attr)
    return round(value / 10_000, 4) if attr.startswith("amount") else value


def _summary(ws, title: str, period: Period, rows: list[Row], totals: Row) -> None:
    width = len(COLUMNS) + 1
    ws.cell(1, 1, title).font = Font(size=14, bold=True)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    ws.cell(
        2,
        1,
        f"统计时段：{period.first_day:%Y-%m-%d} 至 {period.last_day:%Y-%m-%d}    "
        f"生成时间：{clock.local(clock.now()):%Y-%m-%d %H:%M}",
    )
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    for col, header in enumerate(["地市", *(h for _, h in COLUMNS)], 1):
        cell = ws.cell(HEADER_ROW, col, header)
        cell.font, cell.fill, cell.border = Font(bold=True), HEADER_FILL, BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for offset, row in enumerate([*rows, totals], 1):
        r = HEADER_ROW + offset
        ws.cell(r, 1, row.scope).border = BOX
        for col, (attr, _) in enumerate(COLUMNS, 2):
            cell = ws.cell(r, col, _cell_value(row, attr))
            cell.border = BOX
            if attr.startswith("amount"):
                cell.number_format = "0.00"
        if row is totals:
            for col in range(1, width + 1):
                ws.cell(r, col).font = Font(bold=True)
    ws.column_dimensions["A"].width = 10
    for col in range(2, width + 1):
        ws.column_dimensions[get_column_letter(col)].width = 10
    ws.row_dimensions[HEADER_ROW].height = 32
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 2)


def _open_sheet(ws, leads: list[OpenLead], names: dict[str, str]) -> None:
    headers = ["线索编号", "地市", "县区", "线索标题", "预警级别", "状态", "责任人", "发现时间", "办结时限", "是否逾期"]
    for col, header in enumerate(headers, 1):
        cell = ws.cell(1, col, header)
        cell.font, cell.fill, cell.border = Font(bold=True), HEADER_FILL, BOX
    for r, lead in enumerate(leads, 2):
        level = "虚假讨薪" if lead.label == "false" else WARNING_COLOURS.get(lead.severity or 0, "—")
        values = [
            lead.lead_id,
            lead.scope,
            lead.county or "",
            lead.title,
            level,
            lead.status,
            names.get(lead.officer_id, lead.officer_id),
            clock.local(lead.created_at).replace(tzinfo=None),
            clock.local(lead.deadline).replace(tzinfo=None),
            "是" if lead.overdue else "否",
        ]
        for col, value in enumerate(values, 1):
            cell = ws.cell(r, col, value)
            cell.border = BOX
            if col in (8, 9):
                cell.number_format = "yyyy-mm-dd hh:mm"
    for col, width in enumerate([9, 8, 10, 40, 9, 9, 16, 17, 17, 9], 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A2"


def _charts(ws, summary, rows: list[Row]) -> None:
    first, last = HEADER_ROW + 1, HEADER_ROW + len(rows)
    column = {attr: i for i, (attr, _) in enumerate(COLUMNS, 2)}
    bar = BarChart()
    bar.type, bar.title, bar.y_axis.title = "col", "各市新增、办结与未办结线索", "条"
    for attr in ("new", "closed", "open"):
        bar.add_data(Reference(summary, min_col=column[attr], min_row=HEADER_ROW, max_row=last), titles_from_data=True)
    bar.set_categories(Reference(summary, min_col=1, min_row=first, max_row=last))
    bar.width, bar.height = 24, 10
    ws.add_chart(bar, "A1")
    pie = PieChart()
    pie.title = "欠薪线索预警级别构成"
    totals_row = last + 1
    pie.add_data(
        Reference(summary, min_col=column["red"], max_col=column["blue"], min_row=totals_row),
        from_rows=True,
        titles_from_data=False,
    )
    pie.set_categories(Reference(summary, min_col=column["red"], max_col=column["blue"], min_row=HEADER_ROW))
    ws.add_chart(pie, "A22")


def write_workbook(
    path: Path, title: str, period: Period, rows: list[Row], totals: Row, leads: list[OpenLead], names: dict[str, str]
) -> Path:
    """Write the 情况表 workbook to `path` (replacing it atomically) and return the path."""
    wb = Workbook()
    summary = wb.active
    summary.title = SUMMARY_SHEET
    _summary(summary, title, period, rows, totals)
    _open_sheet(wb.create_sheet(OPEN_SHEET), leads, names)
    _charts(wb.create_sheet(CHART_SHEET), summary, rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path
