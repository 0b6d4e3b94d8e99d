"""The ledger with a controllable clock: escalation deputy → leader → province, acknowledgement, reminders,
overdue flags, status changes with an audit trail, transfers, and officer tokens."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select, text

from tests.alerts.conftest import FRIDAY_10, Store, later, make_incident
from wagewatch.core import clock
from wagewatch.core.config import load_config
from wagewatch.core.store import Database
from wagewatch.core.store.models import AlertDelivery, AuditEvent, Incident, Lead
from wagewatch.ledger import tokens
from wagewatch.ledger.actions import Ledger, LedgerError, Officer, StatusUpdate
from wagewatch.stages.dispatch import dispatch
from wagewatch.stages.escalate import follow_up

JINAN_DUTY = Officer("jinan-duty-day", "济南白班值班员", "济南")
QINGDAO_DUTY = Officer("qingdao-duty-day", "青岛白班值班员", "青岛")
PROVINCE = Officer("sd-triage", "省欠薪办研判值班", None)


def _recipients(store, reason_prefix: str) -> list[str]:
    with store.db.session() as session:
        return sorted(
            session.scalars(select(AlertDelivery.recipient_id).where(AlertDelivery.reason.startswith(reason_prefix)))
        )


def _lead(store, lead_id: int = 1) -> Lead:
    with store.db.session() as session:
        return session.get(Lead, lead_id)


def _trail(store, lead_id: int = 1) -> list[tuple[str, str]]:
    with store.db.session() as session:
        return [
            (e.actor, e.action)
            for e in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity == "lead", AuditEvent.entity_id == lead_id)
                .order_by(AuditEvent.id)
            )
        ]


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, store) -> Store:
    """The same store on SQLite, and once more on PostgreSQL."""
    if request.param == "sqlite":
        yield store
        return
    db = Database(request.getfixturevalue("postgres_url"))
    db.upgrade()
    yield Store(store.config, db, store.root)
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
    db.dispose()


def test_escalation_deputy_then_leader_then_province(any_store):
    store = any_store
    make_incident(store.db, city="济南", severity=2)
    dispatch(store.db, store.config)
    later(minutes=29)
    assert follow_up(store.db, store.config) == 0
    later(minutes=2)  # 31 minutes
    assert follow_up(store.db, store.config) == 1
    assert _recipients(store, "escalate-1") == ["jinan-deputy"]
    later(minutes=30)  # 61
    follow_up(store.db, store.config)
    assert _recipients(store, "escalate-2") == ["jinan-leader"]
    later(minutes=60)  # 121
    follow_up(store.db, store.config)
    assert _recipients(store, "escalate-3") == ["sd-triage"]
    later(hours=5)
    assert follow_up(store.db, store.config) == 0  # the chain ends at the province
    assert _lead(store).escalation_level == 3
    assert [a for _, a in _trail(store)] == ["created", "escalated", "escalated", "escalated"]
    dispatch(store.db, store.config)
    with store.db.session() as session:
        assert (
            session.scalar(select(func.count()).select_from(AlertDelivery).where(AlertDelivery.status != "sent")) == 0
        )


def _mail_text(store, reason: str) -> str:
    """The plain text of the email sent for the first delivery with `reason`."""
    with store.db.session() as session:
        delivery = session.scalars(select(AlertDelivery).where(AlertDelivery.reason == reason)).first()
    eml = store.root / "outbox" / f"delivery-{delivery.id:08d}-{delivery.channel}.eml"
    return message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()


def test_escalations_and_reminders_say_who_has_not_acted_since_when_and_what_next(store):
    make_incident(store.db, city="济南", severity=2)
    dispatch(store.db, store.config)
    later(minutes=31)
    follow_up(store.db, store.config)
    dispatch(store.db, store.config)
    text = _mail_text(store, "escalate-1")
    assert "济南白班值班员（济南）自11月27日10:00收到预警，已31分钟未签收" in text
    assert "下一步：如至11月27日11:00仍未签收，将升级提醒分管领导" in text
    later(minutes=90)  # 121 minutes: the last step
    follow_up(store.db, store.config)
    follow_up(store.db, store.config)
    dispatch(store.db, store.config)
    assert "已2小时1分钟未签收。已升级至最后一级（省欠薪办研判值班）" in _mail_text(store, "escalate-3")
    with store.db.session() as session:
        Ledger(store.db, store.config).acknowledge(session, session.get(Lead, 1), JINAN_DUTY)
    clock.freeze(_lead(store).deadline - timedelta(hours=2))  # 08:00, after quiet hours
    follow_up(store.db, store.config)
    dispatch(store.db, store.config)
    text = _mail_text(store, "remind")
    assert "济南白班值班员（济南）负责的线索当前为“已签收”，办结时限12月04日10:00，剩余2小时" in text
    assert "下一步：到期仍未办结将标记逾期" in text
    clock.freeze(_lead(store).deadline + timedelta(days=1, minutes=5))
    follow_up(store.db, store.config)
    dispatch(store.db, store.config)
    assert "已于12月04日10:00超过办结时限（逾期1天5分钟）" in _mail_text(store, "overdue")


def test_acknowledging_stops_escalation(store):
    make_incident(store.db, city="济南", severity=2)
    dispatch(store.db, store.config)
    later(minutes=10)
    ledger = Ledger(store.db, store.config)
    with store.db.session() as session:
        ledger.acknowledge(session, session.get(Lead, 1), JINAN_DUTY)
    later(hours=3)
    assert follow_up(store.db, store.config) == 0
    lead = _lead(store)
    assert (lead.status, lead.acknowledged_at) == ("已签收", FRIDAY_10 + timedelta(minutes=10))
    with store.db.session() as session, pytest.raises(LedgerError, match="无需重复签收"):
        ledger.acknowledge(session, session.get(Lead, 1), JINAN_DUTY)


def test_held_alert_starts_the_acknowledgement_clock_when_it_goes_out(store):
    clock.freeze(FRIDAY_10.replace(hour=23))  # severity 2 at night waits for 07:00
    make_incident(store.db, city="济南", severity=2)
    dispatch(store.db, store.config)
    later(hours=1)
    assert follow_up(store.db, store.config) == 0
    clock.freeze(FRIDAY_10.replace(day=28, hour=7, minute=31))
    assert follow_up(store.db, store.config) == 1


def test_reminder_before_the_deadline_and_overdue_flag(store):
    make_incident(store.db, city="临沂", severity=2, project_type="soe")  # 3 days
    dispatch(store.db, store.config)
    ledger = Ledger(store.db, store.config)
    with store.db.session() as session:
        ledger.acknowledge(session, session.get(Lead, 1), Officer("linyi-duty-day", "临沂白班值班员", "临沂"))
    deadline = _lead(store).deadline
    assert deadline == FRIDAY_10 + timedelta(days=3)
    clock.freeze(deadline - timedelta(hours=25))
    assert follow_up(store.db, store.config) == 0
    clock.freeze(deadline - timedelta(hours=23))
    assert follow_up(store.db, store.config) == 1 and _recipients(store, "remind") == ["linyi-duty-day"]
    assert follow_up(store.db, store.config) == 0
    clock.freeze(deadline + timedelta(minutes=1))
    assert follow_up(store.db, store.config) == 2
    assert _recipients(store, "overdue") == ["linyi-duty-day", "linyi-leader"]
    assert _lead(store).overdue and _trail(store)[-1] == ("system:escalate", "overdue")
    assert follow_up(store.db, store.config) == 0


def test_status_flow_with_notes_figures_verdict_and_audit(store):
    make_incident(store.db, city="济南", severity=3)
    dispatch(store.db, store.config)
    ledger = Ledger(store.db, store.config)
    with store.db.session() as session:
        lead = session.get(Lead, 1)
        with pytest.raises(LedgerError, match="不能从“待签收”改为“已办结”"):
            ledger.update(session, lead, JINAN_DUTY, StatusUpdate(status="已办结"))
        ledger.acknowledge(session, lead, JINAN_DUTY)
        ledger.update(session, lead, JINAN_DUTY, StatusUpdate(status="核查中", notes="已联系项目部"))
        later(days=1)
        ledger.update(
            session,
            lead,
            JINAN_DUTY,
            StatusUpdate(status="已办结", notes="已足额支付", amount_recovered=48_000, workers_paid=6),
        )
        with pytest.raises(LedgerError, match="已办结，不能再修改"):
            ledger.update(session, lead, JINAN_DUTY, StatusUpdate(status="已办结", notes="again"))
    lead = _lead(store)
    assert (lead.status, lead.verdict, lead.amount_recovered, lead.workers_paid) == ("已办结", "real", 48_000, 6)
    assert lead.closed_at == FRIDAY_10 + timedelta(days=1)
    assert "已联系项目部" in lead.notes and "济南白班值班员] 已足额支付" in lead.notes
    assert _trail(store) == [
        ("system:dispatch", "created"),
        ("officer:jinan-duty-day", "acknowledged"),
        ("officer:jinan-duty-day", "updated"),
        ("officer:jinan-duty-day", "updated"),
    ]
    with store.db.session() as session:
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert last.detail["status"] == ["核查中", "已办结"] and last.detail["workers_paid"] == [None, 6]


def test_false_verdict_for_classifier_feedback_and_complex_case_gets_seven_days(store):
    make_incident(store.db, city="济南", severity=2, project_type="government")
    dispatch(store.db, store.config)
    ledger = Ledger(store.db, store.config)
    with store.db.session() as session:
        lead = session.get(Lead, 1)
        assert lead.deadline - lead.created_at == timedelta(days=3)
        ledger.acknowledge(session, lead, JINAN_DUTY)
        ledger.update(session, lead, JINAN_DUTY, StatusUpdate(status="核查中", kind="complex"))
        assert lead.deadline - lead.created_at == timedelta(days=7)
        ledger.update(session, lead, JINAN_DUTY, StatusUpdate(status="不属实", notes="系工程款纠纷"))
        assert (lead.verdict, lead.status) == ("false", "不属实")


def test_an_officer_cannot_touch_another_citys_lead(store):
    make_incident(store.db, city="济南", severity=2)
    dispatch(store.db, store.config)
    ledger = Ledger(store.db, store.config)
    with store.db.session() as session:
        with pytest.raises(LedgerError, match="无权操作"):
            ledger.acknowledge(session, session.get(Lead, 1), QINGDAO_DUTY)
        ledger.acknowledge(session, session.get(Lead, 1), PROVINCE)  # the province may act on any lead


def test_transfer_moves_the_lead_and_alerts_the_new_city(store):
    make_incident(store.db, city="济南", severity=3)
    dispatch(store.db, store.config)
    ledger = Ledger(store.db, store.config)
    later(hours=2)
    with store.db.session() as session:
        lead = session.get(Lead, 1)
        ledger.acknowledge(session, lead, JINAN_DUTY)
        with pytest.raises(LedgerError, match="本地市"):
            ledger.transfer(session, lead, JINAN_DUTY, "济南")
        assert ledger.transfer(session, lead, JINAN_DUTY, "青岛", "项目实际位于青岛西海岸新区") == 2
    lead = _lead(store)
    assert (lead.city, lead.officer_id, lead.status, lead.escalation_level) == ("青岛", "qingdao-duty-day", "待签收", 0)
    assert lead.deadline == clock.now() + timedelta(days=7)
    assert _recipients(store, "transfer-in-1") == ["qingdao-duty-day", "qingdao-leader"]
    with store.db.session() as session:
        assert session.get(Incident, 1).city == "青岛"
        with pytest.raises(LedgerError, match="无权操作"):  # Jinan no longer holds it
            ledger.update(session, session.get(Lead, 1), JINAN_DUTY, StatusUpdate(status="待签收", notes="x"))
    later(minutes=31)
    follow_up(store.db, store.config)
    assert _recipients(store, "escalate-1") == ["qingdao-deputy"]
    # Out of the province: the lead is closed as transferred, with the destination recorded.
    with store.db.session() as session:
        lead = session.get(Lead, 1)
        ledger.transfer(session, lead, QINGDAO_DUTY, "江苏省徐州市人社局")
        assert (lead.status, lead.transferred_to) == ("已转办", "江苏省徐州市人社局")
    assert [a for _, a in _trail(store)][-2:] == ["escalated", "transferred"]


def test_tokens_are_hashed_at_rest_and_expire(store):
    with store.db.session() as session:
        token = tokens.mint(session, "jinan-duty-day", clock.now(), valid_hours=2)
    with store.db.session() as session:
        stored = session.execute(text("SELECT token_hash FROM officer_tokens")).scalar()
        assert token not in stored and len(stored) == 64
        assert tokens.resolve(session, token, clock.now()).person_id == "jinan-duty-day"
        assert tokens.resolve(session, token + "x", clock.now()) is None
        assert tokens.resolve(session, token, clock.now() + timedelta(hours=2)) is None


def test_link_command_prints_a_working_sign_in_link(store):
    from click.testing import CliRunner

    from wagewatch.cli import cli

    result = CliRunner().invoke(cli, ["--config", str(store.root / "config"), "link", "sd-triage", "--hours", "1"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().split("?t=")[1]
    with store.db.session() as session:
        assert tokens.resolve(session, token, clock.now()).person_id == "sd-triage"
    assert load_config(store.root / "config").cities.city_of("sd-triage") is None
    bad = CliRunner().invoke(cli, ["--config", str(store.root / "config"), "link", "nobody"])
    assert bad.exit_code == 2 and "nobody" in bad.output
