"""The XLSX 情况表: one row per city with 本期, 累计, 环比 and ranking columns and a totals row, a sheet of open
leads, and native Excel charts in the warning colours. Every sheet prints on A4 landscape, fitted to the page
width, with its title and header rows repeated on each page."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, PieChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.marker import DataPoint
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.worksheet import Worksheet

from wagewatch.alerts.render import COLOURS, WARNING_COLOURS
from wagewatch.core import clock
from wagewatch.reports.circular import coverage_note
from wagewatch.reports.figures import COLUMNS, RANKING_RULE, Figures, OpenLead, Row
from wagewatch.reports.official import chinese_date

SUMMARY_SHEET = "情况表"
OPEN_SHEET = "未办结线索"
CHART_SHEET = "图表"
GROUP_ROW, HEADER_ROW = 3, 4  # 本期/累计 over the column headers
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
CUMULATIVE = [("new", "新增线索"), ("closed", "办结"), ("amount_recovered", "追回金额（万元）")]
CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)
SEVERITIES = (4, 3, 2, 1)  # the pie's slices in column order (红橙黄蓝), each painted in its level's colour


def _cell_value(row: Row, attr: str) -> float | int:
    value = getattr(row, attr)
    return round(value / 10_000, 4) if attr.startswith("amount") else value


def _print_setup(ws: Worksheet, title_rows: str) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    if title_rows:
        ws.print_title_rows = title_rows


def _header(ws: Worksheet, row: int, col: int, text: str, span: tuple[int, int] = (1, 1)) -> None:
    cell = ws.cell(row, col, text)
    cell.font, cell.fill, cell.border, cell.alignment = Font(bold=True), HEADER_FILL, BOX, CENTRE
    rows, cols = span
    if rows > 1 or cols > 1:
        ws.merge_cells(start_row=row, start_column=col, end_row=row + rows - 1, end_column=col + cols - 1)
        for r in range(row, row + rows):
            for c in range(col, col + cols):
                ws.cell(r, c).border = BOX


def _summary(ws: Worksheet, title: str, figures: Figures, campaign_text: str, note: str) -> None:
    period = figures.period
    width = 1 + len(COLUMNS) + len(CUMULATIVE) + 2
    ws.cell(1, 1, title).font = Font(size=16, bold=True)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(2, 1, f"{note}    生成时间：{clock.local(clock.now()):%Y-%m-%d %H:%M}").alignment = Alignment(
        wrap_text=True, vertical="top"
    )
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    ws.row_dimensions[2].height = 32
    _header(ws, GROUP_ROW, 1, "地市", (2, 1))
    _header(ws, GROUP_ROW, 2, f"本期（{period.span}）", (1, len(COLUMNS)))
    first_cumulative = 2 + len(COLUMNS)
    _header(ws, GROUP_ROW, first_cumulative, f"累计（{campaign_text}）", (1, len(CUMULATIVE)))
    _header(ws, GROUP_ROW, width - 1, "环比（新增）", (2, 1))
    _header(ws, GROUP_ROW, width, "排名", (2, 1))
    for col, (_, header) in enumerate([*COLUMNS, *CUMULATIVE], 2):
        _header(ws, HEADER_ROW, col, header)
    for offset, row in enumerate([*figures.rows, figures.totals], 1):
        r = HEADER_ROW + offset
        cumulative = figures.cumulative[row.scope]
        values = [
            row.scope,
            *(_cell_value(row, attr) for attr, _ in COLUMNS),
            *(_cell_value(cumulative, attr) for attr, _ in CUMULATIVE),
            figures.change(row.scope),
            figures.ranks.get(row.scope, "—"),
        ]
        for col, value in enumerate(values, 1):
            cell = ws.cell(r, col, value)
            cell.border = BOX
            if isinstance(value, float):
                cell.number_format = "0.00"
            if row is figures.totals:
                cell.font = Font(bold=True)
    if figures.ranks:
        ws.cell(HEADER_ROW + len(figures.rows) + 2, 1, f"注：{RANKING_RULE}。")
    ws.column_dimensions["A"].width = 9
    for col in range(2, width + 1):
        ws.column_dimensions[get_column_letter(col)].width = 8.5
    ws.column_dimensions[get_column_letter(width - 1)].width = 11
    ws.row_dimensions[HEADER_ROW].height = 44
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 2)
    _print_setup(ws, f"1:{HEADER_ROW}")


def _open_sheet(ws: Worksheet, leads: list[OpenLead], names: dict[str, str]) -> None:
    headers = ["线索编号", "地市", "县区", "线索标题", "预警级别", "状态", "责任人", "发现时间", "办结时限", "是否逾期"]
    for col, header in enumerate(headers, 1):
        _header(ws, 1, col, header)
    for r, lead in enumerate(leads, 2):
        level = "虚假讨薪" if lead.label == "false" else WARNING_COLOURS.get(lead.severity or 0, "—")
        values = [
            lead.case_no,
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
    _print_setup(ws, "1:1")


def _text_ref(ws: Worksheet, col_from: int, col_to: int, row_from: int, row_to: int) -> AxDataSource:
    """Category labels as a string reference: a numeric reference makes Excel read city names as numbers."""
    area = f"${get_column_letter(col_from)}${row_from}:${get_column_letter(col_to)}${row_to}"
    return AxDataSource(strRef=StrRef(f=f"{quote_sheetname(ws.title)}!{area}"))


def _charts(ws: Worksheet, summary: Worksheet, rows: list[Row]) -> None:
    first, last = HEADER_ROW + 1, HEADER_ROW + len(rows)
    column = {attr: i for i, (attr, _) in enumerate(COLUMNS, 2)}
    bar = BarChart()
    bar.type, bar.title, bar.y_axis.title = "col", "各市新增、办结与未办结线索", "条"
    for attr in ("new", "closed", "open"):
        bar.add_data(Reference(summary, min_col=column[attr], min_row=HEADER_ROW, max_row=last), titles_from_data=True)
    for series in bar.series:
        series.cat = _text_ref(summary, 1, 1, first, last)
    bar.width, bar.height = 17, 11  # cm: the bar chart and the pie side by side on one landscape page
    ws.add_chart(bar, "A1")
    pie = PieChart()
    pie.title = "欠薪线索预警级别构成"
    totals_row = last + 1
    pie.add_data(
        Reference(summary, min_col=column["red"], max_col=column["blue"], min_row=totals_row),
        from_rows=True,
        titles_from_data=False,
    )
    series = pie.series[0]
    series.cat = _text_ref(summary, column["red"], column["blue"], HEADER_ROW, HEADER_ROW)
    for index, severity in enumerate(SEVERITIES):
        point = DataPoint(idx=index)
        point.graphicalProperties.solidFill = COLOURS[WARNING_COLOURS[severity]].lstrip("#").upper()
        series.dPt.append(point)
    pie.width, pie.height = 9.5, 11
    ws.add_chart(pie, "L1")
    _print_setup(ws, "")


def write_workbook(
    path: Path,
    title: str,
    figures: Figures,
    leads: list[OpenLead],
    names: dict[str, str],
    campaign_start: date,
) -> Path:
    """Write the 情况表 workbook to `path` (replacing it atomically) and return the path."""
    wb = Workbook()
    summary = wb.active
    summary.title = SUMMARY_SHEET
    campaign_text = f"自{chinese_date(campaign_start)}"
    _summary(summary, title, figures, campaign_text, coverage_note(figures.period, campaign_start))
    _open_sheet(wb.create_sheet(OPEN_SHEET), leads, names)
    _charts(wb.create_sheet(CHART_SHEET), summary, figures.rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path
