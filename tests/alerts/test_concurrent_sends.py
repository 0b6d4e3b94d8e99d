"""Cheap dispatch that stays exact: one SMTP connection carries a whole drain and a broken one is replaced
without losing or repeating a message, each channel type keeps to its concurrency limit, a group robot over its
rate gets the overflow as one digest while red alerts go at once, two dispatchers (threads or a killed
process) never send a message twice, and a red alert never waits behind a backlog of yellow ones."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.parser import BytesHeaderParser

import pytest
from sqlalchemy import func, select

from tests.alerts.conftest import FRIDAY_10, later, make_incident, use_robots
from tests.conftest import free_port
from tests.helpers import spawn
from wagewatch.alerts import delivery
from wagewatch.core import clock
from wagewatch.core.store import Database
from wagewatch.core.store.models import AlertDelivery
from wagewatch.stages.dispatch import deliver_pending, dispatch, plan_alerts

CITIES = ["济南", "青岛", "淄博", "枣庄", "东营", "烟台", "潍坊", "济宁"]


class CountingSmtp:
    """A real SMTP server (aiosmtpd) that counts connections and the messages in flight at once, holds each
    message `hold` seconds before its 250, and can break a connection at a chosen point of its n-th message:
    `break_at = ("mail", 3)` drops the connection at the MAIL FROM of its third transaction (nothing taken),
    `("after-data", 2)` drops it after receiving the whole second message, before answering (may have arrived).
    """

    def __init__(self, hold: float = 0.0, break_at: tuple[str, int] | None = None) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import SMTP

        self.port, self.hold, self.break_at = free_port(), hold, break_at
        self.connections, self.in_flight, self.max_in_flight = 0, 0, 0
        self.received: list[str] = []  # every message that reached DATA's end, before its 250
        self.taken: list[str] = []
        self.maybe: list[str] = []
        server = self

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):
                message_id = BytesHeaderParser().parsebytes(envelope.content)["Message-ID"]
                server.received.append(message_id)
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    await asyncio.sleep(server.hold)
                finally:
                    server.in_flight -= 1
                smtp.transactions += 1
                if server.break_at == ("after-data", smtp.transactions) and smtp.first:
                    server.maybe.append(message_id)
                    smtp.transport.abort()
                    return "250 OK"  # never reaches the client
                server.taken.append(message_id)
                return "250 OK"

        class Counting(SMTP):
            def connection_made(self, transport):
                server.connections += 1
                self.transactions, self.first = 0, server.connections == 1  # only the first one breaks
                super().connection_made(transport)

            async def smtp_MAIL(self, arg):
                if server.break_at == ("mail", self.transactions + 1) and self.first:
                    self.transport.abort()
                    return None
                return await super().smtp_MAIL(arg)

        class CountingController(Controller):
            def factory(self):
                return Counting(self.handler)

        self.controller = CountingController(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> CountingSmtp:
        self.controller.start()
        self.connections = 0  # the controller's own check that the server is up
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def _use_smtp(config_files, server: CountingSmtp, **dispatch) -> None:
    def change(settings: dict) -> None:
        settings["smtp"].update(host="127.0.0.1", port=server.port, timeout_seconds=10)
        settings["dispatch"] = dispatch

    config_files.update("settings.yaml", change)


def _statuses(store) -> Counter:
    with store.db.session() as session:
        return Counter(
            dict(session.execute(select(AlertDelivery.status, func.count()).group_by(AlertDelivery.status)).all())
        )


def _email_ids(store) -> list[str]:
    with store.db.session() as session:
        ids = session.scalars(select(AlertDelivery.id).where(AlertDelivery.channel == "email")).all()
    return [f"<delivery-{i}@wagewatch>" for i in ids]


def test_one_smtp_connection_carries_every_message_of_a_drain(store, config_files):
    with CountingSmtp() as server:
        _use_smtp(config_files, server, concurrency={"email": 1})
        config = store.reload()
        for city in CITIES:
            make_incident(store.db, city=city, severity=3)  # duty officer and leader, by email
        assert dispatch(store.db, config)["sent"] == 16
        assert server.connections == 1
        assert sorted(server.taken) == sorted(_email_ids(store))


@pytest.mark.parametrize(("stage", "unknown"), [("mail", 0), ("after-data", 1)])
def test_a_connection_broken_mid_drain_loses_nothing_and_repeats_nothing(store, config_files, stage, unknown):
    with CountingSmtp(break_at=(stage, 3)) as server:
        _use_smtp(config_files, server, concurrency={"email": 1})
        config = store.reload()
        for city in CITIES[:5]:
            make_incident(store.db, city=city, severity=3)
        assert dispatch(store.db, config)["unknown"] == unknown and server.connections == 2
        # Broken before the message was complete: sent again at once on a new connection. Broken while
        # waiting for the 250: unknown, never sent again, ops told (in the outbox: the ops contact's email
        # is the channel type that failed).
        seen = Counter(server.received)
        assert all(n == 1 for n in seen.values()) and set(seen) == set(_email_ids(store))
        assert len(server.maybe) == unknown
        assert _statuses(store) == Counter({"sent": 10, "unknown": unknown})  # 10 - unknown emails, the notice
        later(hours=1)
        dispatch(store.db, config)
        assert Counter(server.received) == seen


def test_each_channel_keeps_to_its_concurrency_limit(store, config_files):
    with CountingSmtp(hold=0.4) as server:
        _use_smtp(config_files, server, concurrency={"email": 3})
        config = store.reload()
        for city in CITIES:
            make_incident(store.db, city=city, severity=3)
        assert dispatch(store.db, config)["sent"] == 16
        assert server.max_in_flight == 3
        assert server.connections == 3  # one kept by each sender


def test_two_dispatchers_at_once_send_each_message_exactly_once(store, config_files):
    with CountingSmtp(hold=0.05) as server:
        _use_smtp(config_files, server, concurrency={"email": 3})
        config = store.reload()
        for n in range(24):
            make_incident(store.db, city=CITIES[n % len(CITIES)], severity=3)

        def worker() -> dict[str, int]:
            db = Database(config.settings.database_url)
            try:
                return dispatch(db, config)
            finally:
                db.dispose()

        with ThreadPoolExecutor(2) as pool:
            results = [future.result(timeout=300) for future in [pool.submit(worker) for _ in range(2)]]
        assert sum(r["sent"] for r in results) == 48 and sum(r["planned"] for r in results) == 48
        assert Counter(server.taken) == Counter(_email_ids(store))  # each delivery once, none twice
        assert _statuses(store) == Counter({"sent": 48})


def test_a_dispatcher_killed_with_several_messages_in_flight_never_repeats_one(store, config_files):
    with CountingSmtp(hold=60) as server:
        _use_smtp(config_files, server, concurrency={"email": 3})
        config = store.reload()
        for city in CITIES[:4]:
            make_incident(store.db, city=city, severity=3)
        proc = spawn(store.root / "config", "dispatch")
        for _ in range(3600):  # the three senders each have a message at the server, waiting for its 250
            if server.in_flight == 3:
                break
            threading.Event().wait(0.05)
        assert server.in_flight == 3
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        server.hold = 0
        with store.db.session() as session:
            stuck = session.scalars(select(AlertDelivery.id).where(AlertDelivery.status == "sending")).all()
            lease = session.scalar(select(func.max(AlertDelivery.lease_until)))
        assert len(stuck) == 3  # exactly the wave in flight: nothing claimed that was not on its way
        clock.freeze(lease + timedelta(seconds=1))
        dispatch(store.db, config)
        statuses = _statuses(store)
        assert statuses == Counter({"unknown": 3, "sent": 5 + 3})  # the rest, and an ops notice per unknown
        assert {f"<delivery-{i}@wagewatch>" for i in stuck} <= set(server.received[:3])  # those in flight
        assert Counter(server.received) == Counter(_email_ids(store))  # each once: none sent again


def test_robot_overflow_is_folded_into_one_digest_and_red_is_never_held(store, robots, monkeypatch, config_files):
    use_robots(monkeypatch, robots, "jinan", "wecom")
    # Each WeCom alert to the duty officer is two messages (the markdown, then the @-mention): 4 a minute is two.
    config_files.update("settings.yaml", lambda s: s.update(dispatch={"robot_messages_per_minute": 4}))
    config = store.reload()
    blue = [make_incident(store.db, city="济南", severity=2, title=f"济南某工地欠薪{n}") for n in range(5)]
    result = dispatch(store.db, config)
    assert (result["sent"], result["folded"]) == (2, 3)
    assert len(robots.accepted("/wecom/jinan")) == 2
    with store.db.session() as session:
        folded = session.scalars(select(AlertDelivery).where(AlertDelivery.status == "digest")).all()
    assert [d.incident_id for d in folded] == blue[2:]
    assert {d.next_attempt_at for d in folded} == {FRIDAY_10 + timedelta(minutes=1)}  # when the robot has room
    assert {d.attempts for d in folded} == {0}  # not tried: the claim's attempt given back

    red = make_incident(store.db, city="济南", severity=4, title="济南某工地欠薪百人堵路")
    assert dispatch(store.db, config)["folded"] == 0  # over the rate, and red goes all the same
    alerts = robots.accepted("/wecom/jinan")
    assert len(alerts) == 3 and f"线索编号：{red}" in alerts[-1].json()["markdown"]["content"]

    later(minutes=1)
    result = dispatch(store.db, config)
    assert result["sent"] == 3 and result["folded"] == 0  # three rows, one message
    digest = robots.accepted("/wecom/jinan")[-1].json()["markdown"]["content"]
    assert len(robots.accepted("/wecom/jinan")) == 4 and "汇总（3条）" in digest
    assert all(f"线索编号{n}" in digest for n in blue[2:])


def test_the_next_channel_and_the_ops_notice_go_out_in_the_same_pass(store, robots, monkeypatch):
    use_robots(monkeypatch, robots, "qingdao", "dingtalk")
    monkeypatch.setenv("WAGEWATCH_ROBOT_QINGDAO_SECRET", "not-the-robot-secret")  # refused for good
    config = store.reload()
    make_incident(store.db, city="青岛", severity=3)
    plan_alerts(store.db, config)
    tally = deliver_pending(store.db, config)  # one call: the channels side by side, then what the dead one queued
    assert (tally.dead, tally.sent) == (1, 3)  # the leader's SMS; then the duty officer's SMS and the ops notice
    with store.db.session() as session:
        rows = session.execute(select(AlertDelivery.recipient_id, AlertDelivery.channel, AlertDelivery.status)).all()
    assert sorted(rows) == [
        ("qingdao-duty-day", "dingtalk", "dead"),
        ("qingdao-duty-day", "sms", "sent"),
        ("qingdao-leader", "sms", "sent"),
        ("sd-ops", "email", "sent"),
    ]


def test_a_red_incident_arriving_mid_drain_goes_before_the_yellow_backlog(store, monkeypatch):
    """Dispatch plans and sends in turns, most severe first: a red incident that arrives while a backlog of
    yellow alerts drains waits for the turn in progress (one fetch of deliveries per channel), not the backlog."""
    for n in range(600):
        make_incident(store.db, city=CITIES[n % len(CITIES)], severity=2, title=f"某工地欠薪{n}")
    plan_alerts(store.db, store.config)  # a backlog of due yellow deliveries, as a long outage leaves it
    with store.db.session() as session:
        backlog = session.scalar(select(func.count()).select_from(AlertDelivery))
        lanes = session.scalar(select(func.count(AlertDelivery.channel.distinct())))
    assert backlog >= 600 and backlog > 256 * lanes
    order: list[int] = []
    red: list[int] = []
    lock = threading.Lock()
    send = delivery.send

    def sending(envelope, config, smtp=None):
        with lock:
            order.append(envelope.delivery_id)
            if len(order) == 10:  # the red case is analysed while the backlog drains
                red.append(make_incident(store.db, city="济南", severity=4, title="济南某工地欠薪百人堵路"))
        return send(envelope, config, smtp)

    monkeypatch.setattr(delivery, "send", sending)
    result = dispatch(store.db, store.config)
    with store.db.session() as session:
        red_ids = set(session.scalars(select(AlertDelivery.id).where(AlertDelivery.incident_id == red[0])))
    assert red_ids and result["sent"] == len(order) == backlog + len(red_ids)
    positions = [n for n, delivery_id in enumerate(order) if delivery_id in red_ids]
    # Sent in the first wave of the first turn after it arrived: after the turn in progress (at most one fetch of
    # 256 deliveries per channel type), ahead of the rest of the backlog; a wave's messages go side by side.
    wave = store.config.settings.dispatch.concurrency.outbox  # email without an SMTP server goes to the outbox
    assert max(positions) < 256 * lanes + wave
