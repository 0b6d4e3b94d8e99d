"""The officer's page in a real browser (Debian's Chromium driven by Playwright): reached from the alert's
link, acknowledge, update with notes and figures, transfer, and an officer of one city failing to open
another city's lead. The token is hashed at rest, expires, and leaves the address bar after first use."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy

import httpx
import openpyxl
import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import select, update

from tests.alerts.conftest import Store, make_incident
from tests.conftest import REPO, free_port
from wagewatch.core import clock
from wagewatch.core.store.models import AlertDelivery, AuditEvent, Incident, Lead, Post
from wagewatch.ledger import tokens
from wagewatch.stages.dispatch import dispatch
from wagewatch.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
# Screenshots for people to look at (never committed: /var is ignored).
SCREENSHOTS = REPO / "var" / "test-artifacts" / "screenshots"
HOSTILE = '济南某工地欠薪<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'


@dataclass
class Site:
    url: str
    store: Store

    def token(self, person_id: str, hours: int = 24, at=None) -> str:
        with self.store.db.session() as session:
            return tokens.mint(session, person_id, at or clock.now(), hours)


@pytest.fixture
def site(store, config_files) -> Iterator[Site]:
    port = free_port()
    config_files.update("settings.yaml", lambda s: s.update(public_base_url=f"http://127.0.0.1:{port}"))
    config = store.reload()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config, store.db), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield Site(f"http://127.0.0.1:{port}", store)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def _alert(store: Store, recipient: str) -> tuple[str, str]:
    """The link and the text of the email alert sent to `recipient`."""
    with store.db.session() as session:
        delivery_id = session.scalar(select(AlertDelivery.id).where(AlertDelivery.recipient_id == recipient))
    mail = message_from_bytes(
        (store.root / "outbox" / f"delivery-{delivery_id:08d}-email.eml").read_bytes(), policy=policy.default
    )
    text = mail.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"签收与反馈：(\S+)", text)[1], text


def test_officer_works_a_lead_from_the_alert_link(site, browser):
    store = site.store
    earlier = make_incident(store.db, city="济南", severity=2, title="早已推送过的事件")
    with store.db.session() as session:  # alerted long ago: case numbers and lead row ids now differ
        session.get(Incident, earlier).alert_state = "alerted"
    jinan = make_incident(store.db, city="济南", severity=3, title="济南某工地拖欠12名工人工资", text=HOSTILE)
    qingdao_case = make_incident(store.db, city="青岛", severity=3, title="青岛某项目欠薪")
    dispatch(store.db, store.config)
    with store.db.session() as session:
        lead_of = {lead.incident_id: lead.id for lead in session.scalars(select(Lead))}
    lead, qingdao = lead_of[jinan], lead_of[qingdao_case]
    assert lead != jinan
    link, text = _alert(store, "jinan-duty-day")
    assert link.startswith(f"{site.url}/leads/{lead}?t=")

    context = browser.new_context(**PHONE)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(link)
    assert page.url == f"{site.url}/leads/{lead}"  # the token moved into a cookie and left the address bar
    assert page.inner_text("h2") == "济南某工地拖欠12名工人工资"
    assert page.inner_text("#status") == "待签收"
    # One case number: the alert's is the page's (the lead's own row id differs and is never shown).
    assert f"线索编号 {jinan}" in text and page.inner_text("#case-no") == str(jinan)
    assert "橙色预警" in page.inner_text("body")
    posts = page.inner_text("#posts")
    assert '<img src=x onerror="window.pwned=1">' in posts and "<script>" in posts  # shown as text ...
    assert page.evaluate("window.pwned") is None and not dialogs  # ... and never run
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone

    page.click("#ack")
    assert page.inner_text("#flash") == "已签收" and page.inner_text("#status") == "已签收"

    page.select_option("#status-select", "核查中")
    page.fill("input[name=amount_recovered]", "12000")
    page.fill("input[name=workers_paid]", "3")
    page.fill("textarea[name=notes]", "已约谈项目负责人，承诺本周内支付")
    page.click("#save")
    assert page.inner_text("#status") == "核查中" and page.inner_text("#amount") == "1.2万元"
    assert "已约谈项目负责人" in page.inner_text("#notes")
    assert "济南白班值班员" in page.inner_text("#trail")

    # A refused field keeps everything the officer typed; amounts are written the way officers write them.
    page.fill("input[name=amount_recovered]", "12万")
    page.fill("input[name=workers_paid]", "三个")
    page.fill("textarea[name=notes]", "已垫付部分工资")
    page.click("#save")
    assert "支付人数应为数字" in page.inner_text("#error")
    assert page.input_value("textarea[name=notes]") == "已垫付部分工资"
    assert page.input_value("input[name=amount_recovered]") == "12万"
    page.fill("input[name=workers_paid]", "5")
    page.click("#save")
    assert page.inner_text("#amount") == "12万元" and page.inner_text("#workers") == "5"
    trail = page.inner_text("#trail")
    assert "追回金额：— → 1.2万元" in trail and "追回金额：1.2万元 → 12万元" in trail
    assert "状态：已签收 → 核查中" in trail and "支付人数：3人 → 5人" in trail and "说明：已垫付部分工资" in trail
    assert "济南白班值班员 签收" in trail and "officer" not in trail and "+00:00" not in trail
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "lead-phone.png"), full_page=True)
    page.locator("#trail").screenshot(path=str(SCREENSHOTS / "lead-phone-log.png"))

    # An officer of Jinan cannot open Qingdao's lead, by link or by guessing its number.
    response = page.goto(f"{site.url}/leads/{qingdao}")
    assert response.status == 403 and "无权访问" in page.inner_text("#error")
    page.goto(f"{site.url}/leads")
    assert page.locator(".lead-row").count() == 1 and "济南某工地" in page.inner_text("main")

    # Transfer: no destination is chosen for the officer, and nothing moves before they confirm.
    page.goto(f"{site.url}/leads/{lead}")
    assert page.input_value("#transfer-to") == ""
    page.click("#transfer")
    assert "请选择转办去向" in page.inner_text("#error")
    page.select_option("#transfer-to", "青岛")
    page.fill("textarea[name=note]", "项目位于青岛")
    page.click("#transfer")
    assert page.inner_text("#confirm-to") == "青岛" and "重新签收" in page.inner_text("#transfer-confirm")
    page.screenshot(path=str(SCREENSHOTS / "transfer-confirm-phone.png"))
    page.click("#transfer-no")
    assert page.inner_text("#status") == "核查中"  # cancelled: still Jinan's
    page.select_option("#transfer-to", "青岛")
    page.fill("textarea[name=note]", "项目位于青岛")
    page.click("#transfer")
    page.click("#transfer-yes")
    # The lead leaves Jinan's open list, is listed as transferred with its destination, and Qingdao is alerted.
    assert page.url == f"{site.url}/leads?moved={lead}" and page.locator(".lead-row").count() == 0
    assert page.inner_text("#flash") == f"线索编号{jinan}已转办至青岛"
    assert "已转办至青岛" in page.inner_text("#transferred-away")
    page.goto(f"{site.url}/leads?status=all")
    assert "已转办至青岛" in page.inner_text("#transferred-away")
    context.close()
    with store.db.session() as session:
        row = session.get(Lead, lead)
        assert (row.city, row.status, row.amount_recovered, row.workers_paid) == ("青岛", "待签收", 120_000, 5)
        assert session.scalars(
            select(AlertDelivery.recipient_id).where(AlertDelivery.reason == "transfer-in-1")
        ).all() == ["qingdao-duty-day", "qingdao-leader"]
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity == "lead", AuditEvent.entity_id == lead)
        ).all()
        assert actions == ["created", "acknowledged", "updated", "updated", "transferred"]


def test_province_sees_every_lead_and_bad_links_are_refused(site, browser):
    store = site.store
    make_incident(store.db, city="济南", severity=2)
    make_incident(store.db, city="青岛", severity=2)
    make_incident(store.db, city=None, severity=2, title="地点不明的欠薪帖")
    dispatch(store.db, store.config)

    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{site.url}/leads?t={site.token('sd-triage')}")
    assert page.locator(".lead-row").count() == 3 and "全省线索台账" in page.inner_text("main")
    page.goto(f"{site.url}/leads/2")
    assert page.inner_text("h2") == "某工地拖欠农民工工资"
    context.close()

    qingdao = browser.new_context()
    page = qingdao.new_page()
    page.goto(f"{site.url}/leads?t={site.token('qingdao-duty-day')}")
    assert page.locator(".lead-row").count() == 1
    assert page.goto(f"{site.url}/leads/3").status == 403  # the provincial triage lead
    qingdao.close()

    expired = site.token("jinan-duty-day", hours=1, at=clock.now() - timedelta(hours=2))
    for token in (expired, "made-up-token"):
        context = browser.new_context()
        page = context.new_page()
        response = page.goto(f"{site.url}/leads/1?t={token}")
        assert response.status == 401 and "链接无效或已过期" in page.inner_text("#error")
        assert page.goto(f"{site.url}/leads/1").status == 401  # and no cookie was set
        context.close()


def test_forms_refuse_other_origins_and_missing_tokens(site):
    store = site.store
    make_incident(store.db, city="济南", severity=2)
    dispatch(store.db, store.config)
    token = site.token("jinan-duty-day")
    with httpx.Client(base_url=site.url, cookies={"wagewatch_token": token}) as client:
        forged = client.post("/leads/1/ack", headers={"Origin": "http://evil.example"})
        assert forged.status_code == 403
        assert client.post("/leads/1/ack", headers={"Origin": site.url}).status_code == 303
    assert httpx.post(f"{site.url}/leads/1/ack").status_code == 401
    with store.db.session() as session:
        assert session.get(Lead, 1).status == "已签收"


def test_province_console_filters_counts_bulk_transfer_and_export(site, browser, tmp_path):
    store = site.store
    jining = [
        make_incident(store.db, city="济宁", severity=4, title="济宁某工地拖欠工资"),
        make_incident(store.db, city="济宁", severity=2, title="济宁某小区项目欠薪"),
    ]
    make_incident(store.db, city="青岛", severity=3, title="青岛某项目欠薪")
    make_incident(store.db, city="济南", label="false", severity=None, title="济南疑似虚假讨薪")
    unsure = make_incident(store.db, city="烟台", severity=1, title="烟台某帖文模型无法判定")
    with store.db.session() as session:  # the classifier could not call it: provincial triage's 待研判 queue
        session.get(Incident, unsure).needs_review = True
    dispatch(store.db, store.config)
    with store.db.session() as session:  # the red Jining lead is past its deadline
        lead_of = {lead.incident_id: lead.id for lead in session.scalars(select(Lead))}
        session.get(Lead, lead_of[jining[0]]).deadline = clock.now() - timedelta(hours=1)
        session.execute(update(Post).where(Post.id == 3).values(source="tieba"))

    # A city officer cannot open the console.
    city = browser.new_context()
    page = city.new_page()
    page.goto(f"{site.url}/leads?t={site.token('jining-duty-day')}")
    assert page.goto(f"{site.url}/console").status == 403
    city.close()

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(f"{site.url}/leads?t={site.token('sd-triage')}")
    page.click("#console-link")
    assert page.locator(".console-row").count() == 5
    assert page.inner_text("#review-queue") == "待研判队列（1）" and "待研判（1）" in page.inner_text("#f-review")
    page.click("#review-queue")
    assert page.locator(".console-row").count() == 1 and "烟台某帖文模型无法判定" in page.inner_text("#console-table")
    page.goto(f"{site.url}/console")
    assert "济宁（2）" in page.inner_text("#f-city") and "青岛（1）" in page.inner_text("#f-city")
    assert "已逾期（1）" in page.inner_text("#f-overdue") and "tieba（1）" in page.inner_text("#f-source")
    assert "虚假讨薪（1）" in page.inner_text("#f-level") and "红色预警（1）" in page.inner_text("#f-level")

    page.select_option("#f-city", "济宁")
    page.click("#apply")
    assert page.locator(".console-row").count() == 2 and page.inner_text("#shown") == "2"
    assert "已逾期（1）" in page.inner_text("#f-overdue")  # counts follow the other filters
    page.select_option("#f-sort", "severity")
    page.click("#apply")
    assert page.locator(".console-row td:nth-child(2)").all_inner_texts() == [str(i) for i in jining]
    page.select_option("#f-overdue", "yes")
    page.click("#apply")
    assert page.locator(".console-row").count() == 1 and "济宁某工地拖欠工资" in page.inner_text("#console-table")
    page.goto(f"{site.url}/console?label=false")
    assert page.locator(".console-row").count() == 1 and "济南疑似虚假讨薪" in page.inner_text("#console-table")
    page.goto(f"{site.url}/console?source=tieba")
    assert page.locator(".console-row").count() == 1 and "青岛某项目欠薪" in page.inner_text("#console-table")
    page.goto(f"{site.url}/console?since=2026-11-28")
    assert page.locator(".console-row").count() == 0

    # Export: exactly the filtered rows, with the filters named in the caption.
    page.goto(f"{site.url}/console?city=济宁")
    with page.expect_download() as download:
        page.click("#export")
    path = tmp_path / "export.xlsx"
    download.value.save_as(path)
    sheet = openpyxl.load_workbook(path).active
    assert "地市：济宁" in sheet["A1"].value and sheet["A2"].value == "线索编号"
    assert sorted(sheet.cell(r, 1).value for r in range(3, sheet.max_row + 1)) == jining

    # Bulk transfer of the two Jining leads to Qingdao, only after confirming.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "console-desktop.png"), full_page=True)
    for incident in jining:
        page.check(f"input[name=ids][value='{lead_of[incident]}']")
    page.select_option("#bulk-action", "transfer")
    page.select_option("#bulk-to", "青岛")
    page.click("#bulk")
    assert "转办至青岛（2条）" in page.inner_text("#bulk-confirm")
    with store.db.session() as session:
        assert session.get(Lead, lead_of[jining[0]]).city == "济宁"  # nothing moved yet
    page.click("#bulk-yes")
    assert "已转办至青岛2条" in page.inner_text("#result")
    assert page.locator(".console-row").count() == 0  # the view keeps its 济宁 filter
    with store.db.session() as session:
        assert [session.get(Lead, lead_of[i]).city for i in jining] == ["青岛", "青岛"]

    # Bulk assign within Qingdao: the deputy becomes responsible for all three of its leads.
    page.goto(f"{site.url}/console?city=青岛")
    for box in page.locator("input[name=ids]").all():
        box.check()
    page.select_option("#bulk-action", "assign")
    page.select_option("#bulk-person", "qingdao-deputy")
    page.click("#bulk")
    page.click("#bulk-yes")
    assert "已指派给" in page.inner_text("#result")
    context.close()
    with store.db.session() as session:
        assert {session.get(Lead, lead_of[i]).officer_id for i in (*jining, 3)} == {"qingdao-deputy"}

    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    page.goto(f"{site.url}/console?t={site.token('sd-triage')}")
    page.screenshot(path=str(SCREENSHOTS / "console-phone.png"), full_page=True)
    page.goto(f"{site.url}/leads/{lead_of[jining[0]]}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.close()
    desktop = browser.new_context(viewport={"width": 1366, "height": 900})
    page = desktop.new_page()
    page.goto(f"{site.url}/leads/{lead_of[jining[0]]}?t={site.token('sd-triage')}")
    assert "指派责任人" in page.inner_text("#trail") and "去向：济宁 → 青岛" in page.inner_text("#trail")
    page.screenshot(path=str(SCREENSHOTS / "lead-desktop.png"), full_page=True)
    desktop.close()
