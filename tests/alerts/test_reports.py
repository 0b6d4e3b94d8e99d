"""周调度、月通报: a ledger with known figures gives an XLSX 情况表 whose totals are right, a Word circular,
and the report stage mails them to the lead lists once, on schedule."""

from __future__ import annotations

from datetime import datetime, timedelta

import docx
import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tests.alerts.conftest import make_incident
from tests.helpers import wagewatch
from wagewatch.cli import cli
from wagewatch.core import clock
from wagewatch.core.store.models import Lead, ReportDelivery
from wagewatch.ledger.actions import Ledger, Officer, StatusUpdate
from wagewatch.reports import periods
from wagewatch.reports.figures import COLUMNS
from wagewatch.stages.dispatch import plan_alerts
from wagewatch.stages.report import report_due


def at(day: int, hour: int = 10, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=clock.LOCAL_TZ)


def _close(store, incident_id: int, officer: Officer, status: str, **figures) -> None:
    ledger = Ledger(store.db, store.config)
    with store.db.session() as session:
        lead = session.scalars(select(Lead).where(Lead.incident_id == incident_id)).one()
        ledger.acknowledge(session, lead, officer)
        ledger.update(session, lead, officer, StatusUpdate(status=status, **figures))


def _seed(store) -> None:
    """Week 2026-W48 runs Monday 23 to Sunday 29 November."""
    jinan = Officer("jinan-duty-day", "济南白班值班员", "济南")
    weifang = Officer("weifang-duty-day", "潍坊白班值班员", "潍坊")
    clock.freeze(at(16))  # W47: created and closed before the week, so it does not show
    make_incident(store.db, city="潍坊", severity=2)
    plan_alerts(store.db, store.config)
    _close(store, 1, weifang, "已办结")
    clock.freeze(at(18))  # W47: a state-owned project (3 days), closed late inside the week
    make_incident(store.db, city="潍坊", severity=3, project_type="soe", amount=300_000, workers=20)
    plan_alerts(store.db, store.config)
    clock.freeze(at(24))
    _close(store, 2, weifang, "已办结", amount_recovered=300_000, workers_paid=20)
    clock.freeze(at(23))  # Qingdao, government project, never handled: overdue by the week's end
    make_incident(store.db, city="青岛", severity=3, project_type="government", amount=500_000, workers=30)
    clock.freeze(at(25))
    make_incident(store.db, city="济南", severity=4, amount=2_000_000, workers=120)
    make_incident(store.db, city="济南", severity=2, amount=40_000, workers=3)
    make_incident(store.db, label="false", city="济南", severity=None, amount=None, workers=None)
    make_incident(store.db, city=None, severity=1, amount=8_000, workers=1)
    plan_alerts(store.db, store.config)
    clock.freeze(at(27))
    _close(store, 4, jinan, "已办结", amount_recovered=1_500_000, workers_paid=100)
    _close(store, 6, Officer("jinan-publicity", "济南市委网信办值班", "济南"), "不属实", notes="已发布澄清")
    clock.freeze(at(30, 8))  # W49: not in the week
    make_incident(store.db, city="济南", severity=3)
    plan_alerts(store.db, store.config)


EXPECTED_TOTALS = {
    "new": 5,
    "real": 4,
    "false": 1,
    "red": 1,
    "orange": 1,
    "yellow": 1,
    "blue": 1,
    "closed": 3,
    "closed_on_time": 2,
    "verified_false": 1,
    "overdue": 2,
    "amount_involved": 254.8,
    "workers_involved": 154,
    "amount_recovered": 180.0,
    "workers_paid": 120,
    "open": 3,
}


def test_weekly_report_command_writes_a_workbook_with_the_right_totals(store, tmp_path):
    _seed(store)
    out = tmp_path / "reports"
    result = wagewatch(store.root / "config", "report", "--week", "2026-W48", "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    xlsx = out / "全省-周调度-2026-W48-情况表.xlsx"
    assert str(xlsx) in result.stdout

    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == ["情况表", "未办结线索", "图表"]
    sheet = wb["情况表"]
    groups, header = [c.value for c in sheet[3]], [c.value for c in sheet[4]]
    assert groups[0] == "地市" and groups[1] == "本期（2026年11月23日至11月29日）"
    assert groups[1 + len(COLUMNS)] == "累计（自2026年11月1日）" and groups[-2:] == ["环比（新增）", "排名"]
    assert header[1 : len(COLUMNS) + 1] == [h for _, h in COLUMNS]
    assert header[len(COLUMNS) + 1 : len(COLUMNS) + 4] == ["新增线索", "办结", "追回金额（万元）"]
    assert "逾期、未办结为截至11月29日24时仍未办结或超期办结的全部线索" in sheet["A2"].value
    rows = {r[0].value: [c.value for c in r[1:]] for r in sheet.iter_rows(min_row=5) if r[1].value is not None}
    assert list(rows)[:16][:3] == ["济南", "青岛", "淄博"] and list(rows)[-2:] == ["省级", "合计"]
    totals = dict(zip((a for a, _ in COLUMNS), rows["合计"]))
    assert totals == pytest.approx(EXPECTED_TOTALS)
    for column in range(len(COLUMNS)):  # the totals row adds up the rows above it
        assert rows["合计"][column] == pytest.approx(sum(v[column] for k, v in rows.items() if k != "合计"))
    # 累计 since the campaign start (1 November) counts the two W47 leads too; 环比 compares with W47's 2.
    cumulative_new, change, _ = rows["合计"][len(COLUMNS) :][0], rows["合计"][-2], rows["合计"][-1]
    assert (cumulative_new, change) == (7, "+150%")
    ranks = {city: values[-1] for city, values in rows.items() if city not in ("省级", "合计")}
    assert ranks["济南"] == 1 and ranks["潍坊"] == 2 and ranks["青岛"] > 2  # all on time; one late; none closed
    jinan = dict(zip((a for a, _ in COLUMNS), rows["济南"]))
    assert (jinan["new"], jinan["closed"], jinan["open"], jinan["red"]) == (3, 2, 1, 1)
    assert dict(zip((a for a, _ in COLUMNS), rows["青岛"]))["overdue"] == 1

    open_sheet = wb["未办结线索"]
    open_rows = [[c.value for c in r] for r in open_sheet.iter_rows(min_row=2)]
    assert len(open_rows) == 3 and open_rows[0][1] == "青岛" and open_rows[0][-1] == "是"  # overdue first
    assert len(wb["图表"]._charts) == 2  # native bar and pie charts survive a round trip

    circular = docx.Document(out / "全省-周调度-2026-W48-通报.docx")
    text = "\n".join(p.text for p in circular.paragraphs)
    assert "2026年第48周（11月23日至11月29日）" in text
    assert "全省共监测发现欠薪网络舆情线索5条" in text and "按期办结率67%" in text
    assert "尚有3条线索未办结" in text and "青岛、潍坊存在逾期线索" in text
    assert circular.tables[0].rows[-1].cells[0].text == "合计"
    city = openpyxl.load_workbook(out / "济南-周调度-2026-W48-情况表.xlsx")["情况表"]
    assert [c.value for c in city[6]][:2] == ["合计", 3]


def test_month_and_bad_periods(store, tmp_path):
    _seed(store)
    result = wagewatch(store.root / "config", "report", "--month", "2026-11", "--out", str(tmp_path / "m"))
    assert result.returncode == 0, result.stderr[-2000:]
    sheet = openpyxl.load_workbook(tmp_path / "m" / "全省-月通报-2026-11-情况表.xlsx")["情况表"]
    totals = {a: c.value for (a, _), c in zip(COLUMNS, list(sheet.iter_rows(min_row=5, max_row=22))[-1][1:])}
    assert (totals["new"], totals["closed"]) == (8, 4)  # the whole of November, the 30th included
    for args, message in (
        (["--week", "2026-W54"], "has no ISO week 54"),
        (["--month", "2026-W48"], "--month takes"),
        (["--month", "2026-13"], "month must be 1..12"),
        ([], "exactly one of"),
        (["--week", "2026-W48", "--incident", "1"], "exactly one of"),
    ):
        bad = CliRunner().invoke(cli, ["--config", str(store.root / "config"), "report", *args])
        assert bad.exit_code == 2 and message in bad.output, bad.output
    assert periods.parse("2026-W01").first_day.isoformat() == "2025-12-29"
    assert periods.parse("2026-48", "week") == periods.parse("2026-W48")  # `report --week 2026-48` works


def test_report_stage_mails_each_lead_list_once_on_schedule(store, config_files, smtp_server):
    config_files.update("settings.yaml", lambda s: s["smtp"].update(host="127.0.0.1", port=smtp_server.port))
    config = store.reload()
    _seed(store)
    clock.freeze(at(30, 8, month=11))  # Monday before 09:00: the week before last (W47) is caught up
    # Province: leader + triage; cities: 2 each. The red Jinan incident gets its 专报, once.
    assert report_due(store.db, config) == {"queued": 34, "sent": 34, "special": 1}
    assert (store.root / "reports" / "专报" / "专报-线索编号4.docx").exists()
    smtp_server.wait_for(34)
    assert {m["Subject"][:5] for m in smtp_server.messages} == {"【周调度】"}
    clock.freeze(at(30, 9, month=11) + timedelta(minutes=5))  # 09:05: now W48
    assert report_due(store.db, config) == {"queued": 34, "sent": 34, "special": 0}
    smtp_server.wait_for(68)
    [mail] = [m for m in smtp_server.to("leader@jinan.example.gov.cn") if "第48周" in m["Subject"]]
    assert mail["Subject"] == "【周调度】济南市欠薪网络舆情线索办理情况（2026年第48周（11月23日至11月29日））"
    names = sorted(part.get_filename() for part in mail.iter_attachments())
    assert names == ["济南-周调度-2026-W48-情况表.xlsx", "济南-周调度-2026-W48-通报.docx"]
    assert "济南市共监测发现欠薪网络舆情线索3条" in mail.get_body(preferencelist=("plain",)).get_content()
    assert report_due(store.db, config) == {"queued": 0, "sent": 0, "special": 0}
    clock.freeze(at(1, 9, month=12) + timedelta(minutes=1))  # the 1st: November's monthly report
    assert report_due(store.db, config) == {"queued": 34, "sent": 34, "special": 0}
    with store.db.session() as session:
        assert (
            session.scalar(select(func.count()).select_from(ReportDelivery).where(ReportDelivery.status == "sent"))
            == 102
        )
    smtp_server.wait_for(102)
    assert len(smtp_server.messages) == 102


def test_special_report_on_demand(store, tmp_path):
    _seed(store)
    done = wagewatch(store.root / "config", "report", "--incident", "4", "--out", str(tmp_path / "z"))
    assert done.returncode == 0, done.stderr[-2000:]
    text = "\n".join(p.text for p in docx.Document(tmp_path / "z" / "专报-线索编号4.docx").paragraphs)
    assert "关于济南市某工地拖欠农民工工资的专报" in text and "红色预警（特别重大）" in text
    missing = wagewatch(store.root / "config", "report", "--incident", "999")
    assert missing.returncode == 2 and "线索编号999不存在或尚未推送" in missing.stderr
