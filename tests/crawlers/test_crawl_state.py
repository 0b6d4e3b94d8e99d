"""The crawl state kept in the store (cursors, back-off, ops alert episodes) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from tests.crawlers.conftest import source_config
from wagewatch.core import clock
from wagewatch.core.config import SourceConfig, load_config
from wagewatch.core.store import Database
from wagewatch.core.store.models import CrawlRun
from wagewatch.crawlers.dates import CST
from wagewatch.crawlers.state import backoff_until, clear_block, close_pass, open_pass, record_block, unfinished_passes
from wagewatch.stages.sources import check_sources

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=CST)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    db = Database(url)
    db.upgrade()
    clock.freeze(T0)
    yield db
    clock.freeze(None)
    if request.param == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
    db.dispose()


def test_a_pass_left_open_resumes_and_a_closed_one_moves_the_watermark(store):
    first = open_pass(store, "weibo", "m:欠薪")
    assert (first.floor, first.resuming) == (None, False)
    first.saw(T0 - timedelta(hours=1))
    # The process dies here: the next run resumes the pass.
    again = open_pass(store, "weibo", "m:欠薪")
    assert again.resuming and again.floor is None
    again.saw(T0 - timedelta(minutes=5))
    close_pass(store, "weibo", again)
    after = open_pass(store, "weibo", "m:欠薪")
    assert after.floor == T0 - timedelta(minutes=5) and not after.resuming

    open_pass(store, "weibo", "slice:欠薪|a", {"query": "欠薪", "level": "day"})
    open_pass(store, "weibo", "slice:欠薪|b", {"query": "欠薪", "level": "hour"})
    pending = unfinished_passes(store, "weibo", "slice:")
    assert [(p.key, p.payload["level"], p.resuming) for p in pending] == [
        ("slice:欠薪|a", "day", True),
        ("slice:欠薪|b", "hour", True),
    ]
    close_pass(store, "weibo", pending[0], forget=True)
    assert [p.key for p in unfinished_passes(store, "weibo", "slice:")] == ["slice:欠薪|b"]


def test_back_off_doubles_per_block_and_clears_after_a_good_run(store):
    config = SourceConfig(base_url="https://m.weibo.cn", block_backoff_minutes=30, block_backoff_max_minutes=100)
    assert record_block(store, "weibo", config) == T0 + timedelta(minutes=30)
    assert record_block(store, "weibo", config) == T0 + timedelta(minutes=60)
    assert record_block(store, "weibo", config) == T0 + timedelta(minutes=100)  # capped
    assert backoff_until(store, "weibo") == T0 + timedelta(minutes=100)
    clear_block(store, "weibo")
    assert backoff_until(store, "weibo") is None
    assert record_block(store, "weibo", config) == T0 + timedelta(minutes=30)


def test_one_ops_alert_per_episode(store, env):
    env.write_sources({"heimao": source_config("https://tousu.sina.com.cn")})
    config = load_config(env.directory)
    with store.session() as session:
        session.add(
            CrawlRun(source="heimao", started_at=T0, finished_at=T0, status="blocked", blocked_reason="新浪登录页面")
        )
    assert check_sources(config, store) == {"opened": 1, "sent": 1}
    assert check_sources(config, store) == {"opened": 0, "sent": 0}
