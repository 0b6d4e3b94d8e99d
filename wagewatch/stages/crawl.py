"""Crawl stage: each enabled source runs in its own process (`wagewatch crawl SOURCE`), a few at a time,
then the source health check raises ops alerts.

A separate process per crawl keeps Twisted's reactor, which cannot be restarted, out of the long-running
scheduler, and lets a stuck crawl be killed by its timeout without harming the other stages or sources.

Several workers sharing one store (`wagewatch worker --stages crawl` on several machines) spread the sources
between them: a source is crawled under a store-wide lock, and one that another worker crawled since this
round began is left to that worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from wagewatch.core import clock
from wagewatch.core.config import AppConfig
from wagewatch.core.states import CrawlStatus
from wagewatch.core.store import Database
from wagewatch.core.store.locks import try_lock
from wagewatch.core.store.models import CrawlRun
from wagewatch.crawlers.state import backoff_until
from wagewatch.stages.sources import check_sources


@dataclass
class CrawlOutcome:
    source: str
    exit_code: int | None
    message: str


def crawl_source(config: AppConfig, db: Database, source: str) -> CrawlOutcome:
    until = backoff_until(db, source)
    if until is not None:
        return CrawlOutcome(source, None, f"被封禁后退避中，{clock.local(until):%Y-%m-%d %H:%M} 后再抓取")
    env = dict(
        os.environ, WAGEWATCH_CONFIG_DIR=str(config.directory), WAGEWATCH_DATABASE_URL=config.settings.database_url
    )
    cmd = [sys.executable, "-m", "wagewatch", "crawl", source]
    try:
        proc = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=config.settings.crawl_timeout_seconds
        )
    except subprocess.TimeoutExpired:
        _record_failure(db, source, f"抓取超时（{config.settings.crawl_timeout_seconds}秒）")
        return CrawlOutcome(source, None, "timeout")
    if proc.returncode != 0:
        tail = _last_line(proc.stderr) or _last_line(proc.stdout) or "no output"
        _record_failure(db, source, f"抓取进程异常退出（{proc.returncode}）：{tail[:500]}")
    return CrawlOutcome(source, proc.returncode, _last_line(proc.stdout))


def _last_line(output: str | None) -> str:
    lines = (output or "").strip().splitlines()
    return lines[-1] if lines else ""


def _record_failure(db: Database, source: str, message: str) -> None:
    with db.session() as session:
        session.add(
            CrawlRun(
                source=source,
                started_at=clock.now(),
                finished_at=clock.now(),
                status=CrawlStatus.FAILED,
                error_message=message,
            )
        )


def crawl_all(config: AppConfig, db: Database) -> list[CrawlOutcome]:
    """Every enabled source, `crawl_concurrency` at a time: one slow or stuck site delays no other."""
    sources = [name for name, src in config.sources.sources.items() if src.enabled]
    # Wall-clock time, as the crawl processes record their runs: business time may be frozen by tests.
    round_began = datetime.now(UTC)
    with ThreadPoolExecutor(max_workers=max(1, config.settings.crawl_concurrency)) as pool:
        return list(pool.map(lambda name: _crawl_unless_taken(config, db, name, round_began), sources))


def _crawl_unless_taken(config: AppConfig, db: Database, source: str, round_began: datetime) -> CrawlOutcome:
    with try_lock(db, f"crawl:{source}") as taken:
        if not taken:
            return CrawlOutcome(source, None, "另一个工作进程正在抓取此来源")
        with db.session() as session:
            crawled = session.scalar(
                select(CrawlRun.id).where(CrawlRun.source == source, CrawlRun.started_at >= round_began).limit(1)
            )
        if crawled is not None:
            return CrawlOutcome(source, None, "本轮已由另一个工作进程抓取")
        return crawl_source(config, db, source)


def crawl_stage(config: AppConfig, db: Database) -> dict:
    """The scheduled stage: crawl, then check every source's health and alert ops about dead ones."""
    outcomes = crawl_all(config, db)
    return {"sources": [o.__dict__ for o in outcomes], "ops_alerts": check_sources(config, db)}
