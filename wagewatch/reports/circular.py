"""The Word circular (通报) in the layout of a government document: the period's summary with 累计 and 环比,
a table per city with its ranking, the work requirements, the open leads, and the issuing office's name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from wagewatch.core import clock
from wagewatch.reports import official
from wagewatch.reports.figures import RANKING_RULE, Figures, OpenLead, Row
from wagewatch.reports.periods import Period

TABLE_HEADERS = ["地市", "本期新增", "累计新增", "环比", "本期办结", "按期办结", "逾期", "未办结", "排名"]
OPEN_LEADS_SHOWN = 50


@dataclass(frozen=True)
class Heading:
    """What the configuration says about the document: who issues it, to whom, its title and date."""

    issuer: str
    addressee: str
    title: str
    issued_on: date


def _wan(yuan: float) -> str:
    return f"{yuan / 10_000:.2f}"


def _until(period: Period) -> str:
    return f"{period.last_day.month}月{period.last_day.day}日24时"


def summary_text(where: str, period: Period, totals: Row) -> str:
    """The circular's opening paragraph for one scope (全省 or a city)."""
    rate = f"{totals.on_time_rate:.0%}" if totals.on_time_rate is not None else "—"
    clearance = "已实现欠薪线索动态清零" if totals.open == 0 else f"尚有{totals.open}条线索未办结，距动态清零仍有差距"
    return (
        f"{period.title}，{where}共监测发现欠薪网络舆情线索{totals.new}条，其中欠薪线索{totals.real}条"
        f"（红色预警{totals.red}条、橙色{totals.orange}条、黄色{totals.yellow}条、蓝色{totals.blue}条），"
        f"虚假讨薪舆情{totals.false}条。本期办结线索{totals.closed}条，其中按期办结{totals.closed_on_time}条"
        f"（按期办结率{rate}），经核实不属实{totals.verified_false}条；逾期{totals.overdue}条。"
        f"新增欠薪线索涉及金额{_wan(totals.amount_involved)}万元、涉及{totals.workers_involved}人；"
        f"本期追回欠薪{_wan(totals.amount_recovered)}万元，支付{totals.workers_paid}人。"
        f"截至{_until(period)}，{clearance}。"
    )


def cumulative_text(where: str, figures: Figures, campaign_start: date) -> str:
    """累计 since the campaign began and 环比 against the previous period."""
    total = figures.cumulative["合计"]
    before = figures.period.first_day - timedelta(days=1)
    return (
        f"自{official.chinese_date(campaign_start)}专项行动开展以来（至{_until(figures.period)}），{where}累计监测发现"
        f"欠薪网络舆情线索{total.new}条，累计办结{total.closed}条，累计追回欠薪{_wan(total.amount_recovered)}万元、"
        f"支付{total.workers_paid}人。本期新增线索{figures.totals.new}条，上期（截至{before.month}月{before.day}日）"
        f"{figures.previous['合计'].new}条，环比{figures.change('合计')}。"
    )


def coverage_note(period: Period, campaign_start: date) -> str:
    """What span each figure covers, so nobody reads 逾期 as “overdue this week only”."""
    return (
        f"说明：新增、办结、追回等“本期”数字为{period.span}期间发生的数量；“累计”为"
        f"{official.chinese_date(campaign_start)}至{_until(period)}；逾期、未办结为截至{_until(period)}"
        "仍未办结或超期办结的全部线索，不限发现时间。"
    )


def city_line(row: Row) -> str:
    return (
        f"{row.scope}：新增{row.new}条（欠薪{row.real}条、虚假{row.false}条），办结{row.closed}条"
        f"（按期{row.closed_on_time}条），逾期{row.overdue}条，未办结{row.open}条。"
    )


def table_rows(figures: Figures) -> list[list[object]]:
    rows = []
    for row in [*figures.rows, figures.totals]:
        rows.append(
            [
                row.scope,
                row.new,
                figures.cumulative[row.scope].new,
                figures.change(row.scope),
                row.closed,
                row.closed_on_time,
                row.overdue,
                row.open,
                figures.ranks.get(row.scope, "—"),
            ]
        )
    return rows


def write_circular(
    path: Path,
    heading: Heading,
    where: str,
    figures: Figures,
    leads: list[OpenLead],
    campaign_start: date,
) -> Path:
    """Write the circular for `where` (全省 or a city) to `path` and return it."""
    period, totals = figures.period, figures.totals
    doc = official.new_document()
    official.red_header(doc, heading.issuer)
    official.title(doc, heading.title)
    official.paragraph(doc, f"{heading.addressee}：", indent=False)
    official.paragraph(
        doc,
        f"现将{period.title}{where}欠薪网络舆情线索监测和办理情况通报如下：",
    )
    official.heading(doc, "一、总体情况")
    official.paragraph(doc, summary_text(where, period, totals))
    official.paragraph(doc, cumulative_text(where, figures, campaign_start))
    official.paragraph(doc, coverage_note(period, campaign_start), official.SUBHEADING_FONT)
    official.heading(doc, "二、分地市情况")
    active = [r for r in figures.rows if r.new or r.closed or r.open]
    for row in active:
        official.paragraph(doc, city_line(row))
    if not active:
        official.paragraph(doc, "本期无新增、办结或未办结线索。")
    official.table(doc, TABLE_HEADERS, table_rows(figures))
    if figures.ranks:
        official.paragraph(doc, f"（{RANKING_RULE}。）", size=official.SIZE_TABLE)
    official.heading(doc, "三、工作要求")
    overdue = [r.scope for r in figures.rows if r.overdue]
    if overdue:
        official.subheading(doc, "（一）压实属地责任")
        official.paragraph(doc, f"{'、'.join(overdue)}存在逾期线索，请压实属地责任，逐条核查处置，尽快办结并反馈。")
    official.subheading(doc, f"（{'二' if overdue else '一'}）落实首问负责制")
    official.paragraph(
        doc,
        "请对照线索台账，落实首问负责制，对确属欠薪的线索及时查处、督促支付，对虚假讨薪舆情及时澄清，"
        "确保欠薪线索动态清零。",
    )
    if leads:
        official.heading(doc, "附：未办结线索")
        for number, lead in enumerate(leads[:OPEN_LEADS_SHOWN], 1):
            mark = "（逾期）" if lead.overdue else ""
            official.paragraph(
                doc,
                f"{number}. 线索编号{lead.case_no} {lead.scope}{lead.county or ''}：{lead.title}，"
                f"时限{clock.local(lead.deadline):%m月%d日}{mark}",
            )
        if len(leads) > OPEN_LEADS_SHOWN:
            official.paragraph(doc, f"另有{len(leads) - OPEN_LEADS_SHOWN}条，详见情况表。")
    official.signature(doc, heading.issuer, heading.issued_on)
    return official.save(doc, path)
