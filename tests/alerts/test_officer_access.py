"""Who may do what to a lead, through the officers' web page: the role × action × own/other-city matrix,
revocable per-person links, compare-and-set changes, and a page that answers hostile input with a Chinese
400, never a 500."""

from __future__ import annotations

import itertools
import math
import re
import threading
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from tests.alerts.conftest import Store, make_incident
from tests.conftest import free_port
from wagewatch.cli import cli
from wagewatch.core import clock
from wagewatch.core.store import Database
from wagewatch.core.store.models import AuditEvent, Lead
from wagewatch.ledger import tokens
from wagewatch.ledger.actions import Ledger, LedgerError, Officer, StatusUpdate
from wagewatch.stages.dispatch import plan_alerts
from wagewatch.web.app import SECURITY_HEADERS, create_app

ORIGIN = {"Origin": "http://testserver"}
ACTIONS = ("view", "ack", "update", "transfer", "clarify", "reopen")
PEOPLE = (
    "jinan-duty-day",
    "jinan-deputy",
    "jinan-leader",
    "jinan-publicity",
    "qingdao-duty-day",
    "qingdao-publicity",
    "sd-triage",
    "sd-leader",
    "sd-publicity",
    "sd-ops",
)
PROVINCE_TRIAGE = Officer("sd-triage", "省欠薪办研判值班", None, "triage")


def expected(person: str, label: str, action: str) -> bool:
    """The rules of issue 10, written out for a lead in 济南 (so Qingdao's people are the other city)."""
    if person in ("sd-triage", "sd-leader"):
        return True
    if person in ("jinan-duty-day", "jinan-deputy", "jinan-leader"):
        return action != "reopen"
    if person in ("jinan-publicity", "sd-publicity"):
        return label == "false" and action in ("view", "clarify")
    return False  # the other city's officers, ops


def _lead(store: Store, label: str, closed: bool) -> int:
    incident = make_incident(store.db, label=label, city="济南", severity=None if label == "false" else 2)
    plan_alerts(store.db, store.config)
    ledger = Ledger(store.db, store.config)
    with store.db.session() as session:
        lead = session.scalars(select(Lead).where(Lead.incident_id == incident)).one()
        if closed:
            ledger.acknowledge(session, lead, PROVINCE_TRIAGE)
            ledger.update(
                session, lead, PROVINCE_TRIAGE, StatusUpdate(status="不属实" if label == "false" else "已办结")
            )
        return lead.id


def _token(store: Store, person: str) -> str:
    with store.db.session() as session:
        return tokens.mint(session, person, clock.now(), 24)


def _client(store: Store, person: str) -> TestClient:
    return TestClient(
        create_app(store.config, store.db), cookies={"wagewatch_token": _token(store, person)}, follow_redirects=False
    )


def _do(client: TestClient, action: str, lead_id: int, version: int) -> httpx.Response:
    if action == "view":
        return client.get(f"/leads/{lead_id}")
    data = {
        "version": str(version),
        "ack": {},
        "update": {"status": "待签收", "notes": "已电话联系"},
        "transfer": {"to": "青岛", "note": "项目在青岛", "confirmed": "yes"},
        "clarify": {"note": "已在官方微博发布澄清"},
        "reopen": {"note": "群众再次反映"},
    }[action]
    return client.post(f"/leads/{lead_id}/{action}", data={"version": str(version), **data}, headers=ORIGIN)


def _version_and_trail(store: Store, lead_id: int, person: str) -> tuple[int, int]:
    with store.db.session() as session:
        return (
            session.get(Lead, lead_id).version,
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.entity_id == lead_id, AuditEvent.actor == f"officer:{person}")
            ),
        )


def test_role_action_city_matrix(store):
    clients = {person: _client(store, person) for person in PEOPLE}
    checked = 0
    for person, label, action in itertools.product(PEOPLE, ("real", "false"), ACTIONS):
        lead_id = _lead(store, label, closed=action == "reopen")
        version, trail = _version_and_trail(store, lead_id, person)
        response = _do(clients[person], action, lead_id, version)
        cell = f"{person} {action} {label}"
        if expected(person, label, action):
            assert response.status_code == (200 if action == "view" else 303), cell
            changed = (version + 1, trail + 1)
            assert _version_and_trail(store, lead_id, person) == ((version, trail) if action == "view" else changed), (
                cell
            )
        else:
            assert response.status_code in (400, 403), cell
            assert "无权" in response.text, cell
            assert _version_and_trail(store, lead_id, person) == (version, trail), cell
        checked += 1
    assert checked == len(PEOPLE) * 2 * len(ACTIONS)


def test_lists_follow_the_role(store):
    real, false = _lead(store, "real", False), _lead(store, "false", False)
    for person, visible in (
        ("jinan-duty-day", {real, false}),
        ("jinan-publicity", {false}),
        ("sd-ops", set()),
        ("qingdao-duty-day", set()),
        ("sd-publicity", {false}),
        ("sd-leader", {real, false}),
    ):
        page = _client(store, person).get("/leads?status=all").text
        shown = {lead_id for lead_id in (real, false) if f'href="/leads/{lead_id}"' in page}
        assert shown == visible, person


def test_revoked_links_stop_working_at_once(store):
    lead_id = _lead(store, "real", False)
    jinan, jinan_again, qingdao = (
        _client(store, "jinan-duty-day"),
        _client(store, "jinan-duty-day"),
        _client(store, "qingdao-duty-day"),
    )
    assert jinan.get(f"/leads/{lead_id}").status_code == 200 and qingdao.get("/leads").status_code == 200
    result = CliRunner().invoke(cli, ["--config", str(store.root / "config"), "link", "revoke", "jinan-duty-day"])
    assert result.exit_code == 0 and "已吊销 jinan-duty-day 的 2 个有效链接" in result.output
    for client in (jinan, jinan_again):
        refused = client.get(f"/leads/{lead_id}")
        assert refused.status_code == 401 and "链接无效或已过期" in refused.text
        assert client.post(f"/leads/{lead_id}/ack", data={"version": "1"}, headers=ORIGIN).status_code == 401
    assert qingdao.get("/leads").status_code == 200  # someone else's links are untouched
    fresh = CliRunner().invoke(cli, ["--config", str(store.root / "config"), "link", "jinan-duty-day"])
    assert fresh.exit_code == 0 and "/leads?t=" in fresh.output
    assert _client(store, "jinan-duty-day").get(f"/leads/{lead_id}").status_code == 200
    assert store.config.policy.link_valid_hours == 72


def test_a_stale_change_is_refused_in_chinese(store):
    lead_id = _lead(store, "real", False)
    duty, deputy = _client(store, "jinan-duty-day"), _client(store, "jinan-deputy")
    assert deputy.post(f"/leads/{lead_id}/ack", data={"version": "1"}, headers=ORIGIN).status_code == 303
    late = duty.post(
        f"/leads/{lead_id}/update", data={"version": "1", "status": "已签收", "notes": "我来办"}, headers=ORIGIN
    )
    assert late.status_code == 409 and "该线索刚被他人修改" in late.text and "请刷新页面" in late.text
    ledger = Ledger(store.db, store.config)
    with store.db.session() as session, pytest.raises(LedgerError, match="第1版，现为第2版"):
        ledger.update(
            session,
            session.get(Lead, lead_id),
            Officer("jinan-duty-day", "济南白班值班员", "济南"),
            StatusUpdate(status="核查中"),
            version=1,
        )


def test_closed_stays_closed_unless_the_province_reopens(store):
    lead_id = _lead(store, "real", True)
    closed, _ = _version_and_trail(store, lead_id, "sd-leader")
    duty, leader = _client(store, "jinan-duty-day"), _client(store, "sd-leader")
    for action in ("ack", "update", "transfer", "reopen"):
        assert duty.post(
            f"/leads/{lead_id}/{action}",
            data={"version": str(closed), "status": "核查中", "to": "其他", "other": "外省", "note": "x"},
            headers=ORIGIN,
        ).status_code in (400, 403)
    assert (
        leader.post(
            f"/leads/{lead_id}/reopen", data={"version": str(closed), "note": "再次反映"}, headers=ORIGIN
        ).status_code
        == 303
    )
    with store.db.session() as session:
        lead = session.get(Lead, lead_id)
        assert (lead.status, lead.closed_at) == ("核查中", None) and lead.version > closed


@pytest.mark.parametrize(
    "field,value",
    [
        ("workers_paid", "1e23"),
        ("workers_paid", "99999999999999999999"),
        ("amount_recovered", "inf"),
        ("amount_recovered", "nan"),
        ("amount_recovered", "-1"),
        ("amount_recovered", "1e400"),
        ("workers_paid", "2.5"),
        ("version", "nan"),
        ("version", "1" * 40),
    ],
)
def test_numbers_are_bounded_and_finite(store, field, value):
    lead_id = _lead(store, "real", False)
    data = {"version": "1", "status": "待签收", field: value}
    response = _client(store, "jinan-duty-day").post(f"/leads/{lead_id}/update", data=data, headers=ORIGIN)
    assert response.status_code == 400 and re.search(r'id="error"[^>]*>[^<]*(应|过长)', response.text), value
    with store.db.session() as session:
        lead = session.get(Lead, lead_id)
        assert lead.version == 1 and lead.amount_recovered is None and lead.workers_paid is None


def test_hostile_requests_get_4xx_and_every_page_its_security_headers(store):
    lead_id = _lead(store, "real", False)
    client = _client(store, "jinan-duty-day")
    for path in (
        "/leads/99999999999999999999",
        "/leads/-1",
        "/leads/abc",
        "/leads/1.5",
        "/leads?status=%00",
        f"/leads/{lead_id}",
        "/leads",
        "/nowhere",
    ):
        response = client.get(path)
        assert response.status_code < 500, path
        for header, value in SECURITY_HEADERS.items():
            assert response.headers[header] == value, (path, header)
    assert "script-src" not in SECURITY_HEADERS["Content-Security-Policy"]  # default-src 'none': no script at all
    unsigned = client.post(f"/leads/{lead_id}/ack", data={"version": "1"})  # neither Origin nor Referer
    assert unsigned.status_code == 403 and "请求来源不正确" in unsigned.text
    referer = client.post(
        f"/leads/{lead_id}/ack", data={"version": "1"}, headers={"Referer": f"http://testserver/leads/{lead_id}"}
    )
    assert referer.status_code == 303
    assert client.post("/leads/99999999999999999999/ack", data={"version": "1"}, headers=ORIGIN).status_code == 404


# ---------------------------------------------------------------- races, on SQLite and PostgreSQL


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request, store) -> Iterator[tuple[Store, str]]:
    """The page served by uvicorn over the store (SQLite), or over PostgreSQL."""
    if request.param == "postgresql":
        db = Database(request.getfixturevalue("postgres_url"))
        db.upgrade()
        store = Store(store.config, db, store.root)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(store.config, store.db), host="127.0.0.1", port=port, log_level="warning", limit_concurrency=100
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.05)
    yield store, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    if request.param == "postgresql":
        with store.db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
        store.db.dispose()


def _race(url: str, requests: list[tuple[str, str, dict]]) -> list[int]:
    """Fire the (token, path, form) requests at once from as many threads; their status codes."""
    start, codes = threading.Barrier(len(requests)), [0] * len(requests)

    def post(i: int, token: str, path: str, data: dict) -> None:
        with httpx.Client(
            base_url=url, cookies={"wagewatch_token": token}, headers={"Origin": url}, timeout=60
        ) as client:
            start.wait()
            codes[i] = client.post(path, data=data).status_code

    threads = [threading.Thread(target=post, args=(i, *r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def test_thirty_simultaneous_acknowledgements_make_one(served):
    store, url = served
    lead_id = _lead(store, "real", False)
    people = ["jinan-duty-day", "jinan-deputy", "jinan-leader", "sd-triage", "sd-leader"] * 6
    codes = _race(url, [(_token(store, p), f"/leads/{lead_id}/ack", {"version": "1"}) for p in people])
    assert codes.count(303) == 1 and all(code in (303, 400, 409) for code in codes), codes
    with store.db.session() as session:
        acks = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity_id == lead_id, AuditEvent.entity == "lead", AuditEvent.action == "acknowledged")
        )
        assert acks == 1 and session.get(Lead, lead_id).version > 1


def test_closing_and_reopening_at_once_never_mixes_the_two(served):
    store, url = served
    leads = [_lead(store, "real", True) for _ in range(6)]
    with store.db.session() as session:  # reopened once already, so each lead is open
        for lead_id in leads:
            Ledger(store.db, store.config).reopen(session, session.get(Lead, lead_id), PROVINCE_TRIAGE, "复核")
    seen = {lead_id: _version_and_trail(store, lead_id, "sd-leader")[0] for lead_id in leads}
    duty, leader = _token(store, "jinan-duty-day"), _token(store, "sd-leader")
    requests = []
    for lead_id in leads:
        requests += [
            (duty, f"/leads/{lead_id}/update", {"version": str(seen[lead_id]), "status": "已办结"}),
            (
                leader,
                f"/leads/{lead_id}/update",
                {"version": str(seen[lead_id]), "status": "核查中", "notes": "再核实"},
            ),
        ]
    codes = _race(url, requests)
    for pair in range(len(leads)):
        assert sorted(codes[2 * pair : 2 * pair + 2]) == [303, 409], codes
    with store.db.session() as session:
        for lead_id in leads:
            lead = session.get(Lead, lead_id)
            assert lead.version > seen[lead_id]
            assert (lead.status == "已办结") == (lead.closed_at is not None), (lead.status, lead.closed_at)
            assert not math.isnan(lead.version)
