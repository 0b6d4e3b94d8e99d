"""Crash-and-rerun and idempotency: a crash at any point loses no post and sends no alert twice."""

from __future__ import annotations

import json
import signal
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import FIXTURES, Route
from tests.helpers import spawn, wagewatch, weibo_search_path
from tests.test_end_to_end import DAYTIME, point_at, serve_weibo
from wagewatch.classifier import load_classifier
from wagewatch.core import clock
from wagewatch.core.config import load_config
from wagewatch.core.store import Database
from wagewatch.core.store.models import AlertDelivery, Analysis, CrawlRun, Incident, Lead, Post
from wagewatch.pipeline import run_stage
from wagewatch.stages import cluster as cluster_module
from wagewatch.stages.analyze import analyze_pending
from wagewatch.stages.cluster import cluster_pending


def _count(db: Database, model, *where) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def _wait(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


def _second_page() -> bytes:
    page = json.loads((FIXTURES / "weibo/search_page1.json").read_text(encoding="utf-8"))
    for card in page["data"]["cards"]:
        for item in [card, *card.get("card_group", [])]:
            if "mblog" in item:
                item["mblog"]["id"] = item["mblog"]["mid"] = item["mblog"]["id"].replace("51010", "51020")
    return json.dumps(page, ensure_ascii=False).encode("utf-8")


def _context(config_files):
    config = load_config(config_files.root)
    db = Database(config.settings.database_url)
    db.upgrade()
    return config, db


def test_crawl_killed_mid_run_loses_nothing_and_resumes(config_files, test_site):
    point_at(config_files, test_site)
    page1 = (FIXTURES / "weibo/search_page1.json").read_bytes()
    test_site.serve(weibo_search_path("欠薪", 1), Route(page1))
    # Page 2 hangs during the first run (the crawler is killed while waiting) and answers afterwards.
    test_site.serve(weibo_search_path("欠薪", 2), Route(_second_page(), delay=60), Route(_second_page()))
    test_site.serve(weibo_search_path("欠薪", 3), Route((FIXTURES / "weibo/search_end.json").read_bytes()))
    config, db = _context(config_files)

    proc = spawn(config_files.root, "crawl", "weibo")
    _wait(lambda: _count(db, Post) == 3 and weibo_search_path("欠薪", 2) in test_site.hits)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert _count(db, Post) == 3

    rerun = wagewatch(config_files.root, "crawl", "weibo")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert _count(db, Post) == 6
    with db.session() as session:
        statuses = session.scalars(select(CrawlRun.status).order_by(CrawlRun.id)).all()
    assert statuses == ["interrupted", "ok"]

    again = wagewatch(config_files.root, "crawl", "weibo")
    assert '"posts_new": 0' in again.stdout and _count(db, Post) == 6


def test_dispatch_killed_between_send_and_record_never_sends_twice(config_files, test_site, smtp_server):
    point_at(config_files, test_site, smtp_server)
    # One message in flight at a time, so exactly one is caught mid-send (with several senders each message in
    # flight would be: tests/alerts/test_concurrent_sends.py).
    config_files.update("settings.yaml", lambda s: s.update(dispatch={"senders": 1}))
    serve_weibo(test_site)
    assert wagewatch(config_files.root, "crawl", "weibo").returncode == 0
    config, db = _context(config_files)
    analyze_pending(db, load_classifier())
    cluster_pending(db, config.policy)

    smtp_server.hold_seconds = 30  # the first message is accepted, then the sender is killed before "250"
    proc = spawn(config_files.root, "dispatch")
    smtp_server.wait_for(1, timeout=60)
    assert len(smtp_server.messages) == 1
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    first_recipient = smtp_server.messages[0]["To"]

    smtp_server.hold_seconds = 0
    result = wagewatch(config_files.root, "dispatch")
    assert result.returncode == 0, result.stderr[-2000:]
    # Within its lease the killed worker's delivery is left alone (a live worker could still be sending it) ...
    assert _count(db, AlertDelivery, AlertDelivery.status == "sending") == 1
    with db.session() as session:
        lease_until = session.scalar(select(AlertDelivery.lease_until).where(AlertDelivery.status == "sending"))
    clock.freeze(lease_until + timedelta(seconds=1))
    run_stage("dispatch", config, db)  # ... and once the lease is over it is unknown, never sent again
    assert _count(db, AlertDelivery, AlertDelivery.status == "unknown") == 1
    recipients = [m["To"] for m in smtp_server.messages]
    assert recipients.count(first_recipient) == 1
    assert len(recipients) == len(set(recipients)) == _count(db, AlertDelivery, AlertDelivery.channel == "email")
    # Ops hear of it on a path that does not depend on the SMTP server: the outbox, for an email-only contact.
    assert (
        _count(
            db,
            AlertDelivery,
            AlertDelivery.reason.startswith("ops-unknown-"),
            AlertDelivery.channel == "outbox",
            AlertDelivery.status == "sent",
        )
        == 1
    )


class _CrashingClassifier:
    """Delegates to the real classifier, then fails on the n-th batch like a crashed process."""

    def __init__(self, crash_on_batch: int) -> None:
        self.inner = load_classifier()
        self.calls = 0
        self.crash_on_batch = crash_on_batch

    def analyze(self, texts, reach=None):
        self.calls += 1
        if self.calls == self.crash_on_batch:
            raise RuntimeError("simulated crash")
        return self.inner.analyze(texts, reach)


def test_analyze_and_cluster_crash_then_rerun(config_files, test_site, monkeypatch):
    point_at(config_files, test_site)
    serve_weibo(test_site)
    assert wagewatch(config_files.root, "crawl", "weibo").returncode == 0
    config, db = _context(config_files)

    with pytest.raises(RuntimeError):
        analyze_pending(db, _CrashingClassifier(crash_on_batch=2), batch_size=1)
    assert _count(db, Analysis) == 1 and _count(db, Post, Post.state == "new") == 2
    assert analyze_pending(db, load_classifier(), batch_size=1) == 2
    assert _count(db, Analysis) == 3

    with monkeypatch.context() as patch:
        patch.setattr(cluster_module, "signature", _failing_after(1, cluster_module.signature))
        with pytest.raises(RuntimeError):
            cluster_pending(db, config.policy, batch_size=1)
    assert _count(db, Analysis, Analysis.clustered.is_(False)) == 1  # the first batch committed, one left
    cluster_pending(db, config.policy)
    assert _count(db, Analysis, Analysis.clustered.is_(False)) == 0
    assert _count(db, Incident) == _count(db, Analysis, Analysis.label != "irrelevant")


def _failing_after(successes: int, func):
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > successes:
            raise RuntimeError("simulated crash")
        return func(*args, **kwargs)

    return wrapper


def test_every_stage_is_idempotent(config_files, test_site, smtp_server):
    point_at(config_files, test_site, smtp_server)
    serve_weibo(test_site)
    first = wagewatch(config_files.root, "crawl", "weibo")
    second = wagewatch(config_files.root, "crawl", "weibo")
    assert '"posts_new": 3' in first.stdout and '"posts_new": 0' in second.stdout
    config, db = _context(config_files)
    clock.freeze(DAYTIME)

    assert run_stage("analyze", config, db) == 3
    assert run_stage("analyze", config, db) == 0
    assert run_stage("cluster", config, db) > 0
    assert run_stage("cluster", config, db) == 0
    first_dispatch = run_stage("dispatch", config, db)
    assert first_dispatch["sent"] > 0
    assert run_stage("dispatch", config, db) == {
        "planned": 0,
        "sent": 0,
        "failed": 0,
        "dead": 0,
        "unknown": 0,
        "folded": 0,
    }
    clock.freeze(DAYTIME + timedelta(minutes=config.policy.escalation.ack_minutes[0] + 1))
    assert run_stage("escalate", config, db) > 0
    assert run_stage("escalate", config, db) == 0
    assert run_stage("index", config, db).startswith("off")
    mails = len(smtp_server.messages)
    run_stage("dispatch", config, db)
    run_stage("dispatch", config, db)
    assert len(smtp_server.messages) > mails  # the escalation went out once ...
    assert len({(m["To"], m["Subject"]) for m in smtp_server.messages}) == len(smtp_server.messages)  # ... only once
    assert _count(db, Lead) == _count(db, Incident)
