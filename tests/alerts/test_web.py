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
import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import select

from tests.alerts.conftest import Store, make_incident
from tests.conftest import free_port
from wagewatch.core import clock
from wagewatch.core.store.models import AlertDelivery, AuditEvent, Lead
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


def _alert_link(store: Store, recipient: str) -> str:
    with store.db.session() as session:
        delivery_id = session.scalar(select(AlertDelivery.id).where(AlertDelivery.recipient_id == recipient))
    mail = message_from_bytes(
        (store.root / "outbox" / f"delivery-{delivery_id:08d}-email.eml").read_bytes(), policy=policy.default
    )
    return re.search(r"签收与反馈：(\S+)", mail.get_body(preferencelist=("plain",)).get_content())[1]


def test_officer_works_a_lead_from_the_alert_link(site, browser):
    store = site.store
    jinan = make_incident(store.db, city="济南", severity=3, title="济南某工地拖欠12名工人工资", text=HOSTILE)
    qingdao = make_incident(store.db, city="青岛", severity=3, title="青岛某项目欠薪")
    dispatch(store.db, store.config)
    link = _alert_link(store, "jinan-duty-day")
    assert link.startswith(f"{site.url}/leads/{jinan}?t=")

    context = browser.new_context(**PHONE)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(link)
    assert page.url == f"{site.url}/leads/{jinan}"  # the token moved into a cookie and left the address bar
    assert page.inner_text("h2") == "济南某工地拖欠12名工人工资"
    assert page.inner_text("#status") == "待签收"
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
    assert page.inner_text("#status") == "核查中" and page.inner_text("#amount") == "12000.00元"
    assert "已约谈项目负责人" in page.inner_text("#notes")
    assert "济南白班值班员" in page.inner_text("#trail")

    page.fill("input[name=workers_paid]", "三个")
    page.click("#save")
    assert "支付人数应为数字" in page.inner_text("#error")

    # An officer of Jinan cannot open Qingdao's lead, by link or by guessing its number.
    response = page.goto(f"{site.url}/leads/{qingdao}")
    assert response.status == 403 and "无权访问" in page.inner_text("#error")
    page.goto(f"{site.url}/leads")
    assert page.locator(".lead-row").count() == 1 and "济南某工地" in page.inner_text("main")

    # Transfer to Qingdao: the lead leaves Jinan's list and Qingdao is alerted.
    page.goto(f"{site.url}/leads/{jinan}")
    page.select_option("#transfer-to", "青岛")
    page.fill("textarea[name=note]", "项目位于青岛")
    page.click("#transfer")
    assert page.url == f"{site.url}/leads" and page.locator(".lead-row").count() == 0
    context.close()
    with store.db.session() as session:
        lead = session.get(Lead, 1)
        assert (lead.city, lead.status, lead.amount_recovered, lead.workers_paid) == ("青岛", "待签收", 12000, 3)
        assert session.scalars(
            select(AlertDelivery.recipient_id).where(AlertDelivery.reason == "transfer-in-1")
        ).all() == ["qingdao-duty-day", "qingdao-leader"]
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity == "lead", AuditEvent.entity_id == 1)
        ).all()
        assert actions == ["created", "acknowledged", "updated", "transferred"]


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
