"""Crawl stage: each enabled source runs in its own process (`wagewatch crawl SOURCE`).

A separate process per crawl keeps Twisted's reactor, which cannot be restarted, out of the long-running
scheduler, and lets a stuck crawl be killed by its timeout without harming the other stages.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

from wagewatch import clock
from wagewatch.config import AppConfig
from wagewatch.store import Database
from wagewatch.store.models import CrawlRun


@dataclass
class CrawlOutcome:
    source: str
    exit_code: int | None
    message: str


def crawl_source(config: AppConfig, db: Database, source: str) -> CrawlOutcome:
    env = dict(os.environ, WAGEWATCH_CONFIG_DIR=str(config.directory), WAGEWATCH_DATABASE_URL=config.settings.database_url)
    cmd = [sys.executable, "-m", "wagewatch", "crawl", source]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=config.settings.crawl_timeout_seconds)
    except subprocess.TimeoutExpired:
        _record_failure(db, source, f"抓取超时（{config.settings.crawl_timeout_seconds}秒）")
        return CrawlOutcome(source, None, "timeout")
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        _record_failure(db, source, f"抓取进程异常退出（{proc.returncode}）：{tail[0][:500]}")
    return CrawlOutcome(source, proc.returncode, (proc.stdout or "").strip().splitlines()[-1:][0] if proc.stdout.strip() else "")


def _record_failure(db: Database, source: str, message: str) -> None:
    with db.session() as session:
        session.add(CrawlRun(source=source, started_at=clock.now(), finished_at=clock.now(), status="failed",
                             error_message=message))


def crawl_all(config: AppConfig, db: Database) -> list[CrawlOutcome]:
    return [crawl_source(config, db, name) for name, src in config.sources.sources.items() if src.enabled]
