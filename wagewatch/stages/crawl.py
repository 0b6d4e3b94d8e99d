"""Crawl stage: each enabled source runs in its own process (`wagewatch crawl SOURCE`), a few at a time,
then the source health check raises ops alerts.

A separate process per crawl keeps Twisted's reactor, which cannot be restarted, out of the long-running
scheduler, and lets a stuck crawl be killed by its timeout without harming the other stages or sources. The
processes are forked from a multiprocessing fork server that has already imported Scrapy, the spiders and the
store: a fresh interpreter spent about three seconds of CPU on imports and set-up before its first request,
longer than many crawls wait on the network, so on a busy machine two workers could barely beat one. The fork
server is a process of its own, started once and single-threaded, so a crawl process inherits neither the
scheduler's threads nor its database connections (a worker's source lock dies with the worker, not with the
crawl it started). A crawl process ends when its worker dies, so a source whose lock expired is not still being
crawled by an orphan.

Several workers sharing one store (`wagewatch worker --stages crawl` on several machines) spread the sources
between them: a source is crawled under a store-wide lock, and one that another worker crawled since this
round began is left to that worker.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pkgutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import select

from wagewatch.core import clock
from wagewatch.core.config import AppConfig
from wagewatch.core.states import CrawlStatus
from wagewatch.core.store import Database
from wagewatch.core.store.locks import try_lock
from wagewatch.core.store.models import CrawlRun
from wagewatch.crawlers import spiders
from wagewatch.crawlers.state import backoff_until
from wagewatch.stages.sources import check_sources


@dataclass
class CrawlOutcome:
    source: str
    exit_code: int | None
    message: str


# What a crawl process needs, imported once by the fork server. A module that fails to import is skipped
# there (multiprocessing ignores it) and imported by the crawl process itself as before. None of them may
# install Twisted's reactor: each crawl process installs its own (tests/test_workers.py checks).
PRELOAD = [
    "wagewatch.cli",
    "wagewatch.stages.crawl",
    "wagewatch.crawlers.runner",
    # Scrapy's spider loader imports every spider module, whichever source is crawled.
    *(module.name for module in pkgutil.iter_modules(spiders.__path__, f"{spiders.__name__}.")),
    "scrapy.core.downloader.handlers.http11",
    "psycopg",
]
_processes = multiprocessing.get_context("forkserver")
_processes.set_forkserver_preload(PRELOAD)


def start_fork_server() -> None:
    """Start the fork server now rather than at the first crawl, and wait until it has imported Scrapy and the
    spiders: seconds of CPU a long-running worker pays once."""
    process = _processes.Process(target=int, name="fork server warm-up")  # forked only once PRELOAD is imported
    process.start()
    process.join()


def crawl_source(config: AppConfig, db: Database, source: str) -> CrawlOutcome:
    until = backoff_until(db, source)
    if until is not None:
        return CrawlOutcome(source, None, f"被封禁后退避中，{clock.local(until):%Y-%m-%d %H:%M} 后再抓取")
    env = dict(
        os.environ, WAGEWATCH_CONFIG_DIR=str(config.directory), WAGEWATCH_DATABASE_URL=config.settings.database_url
    )
    # Only this process holds the writing end: when it dies, even by kill -9, the crawl process reads end-of-file.
    crawl_end, worker_end = _processes.Pipe(duplex=False)
    with tempfile.TemporaryDirectory(prefix="wagewatch-crawl-") as folder, worker_end:
        stdout, stderr = Path(folder) / "stdout", Path(folder) / "stderr"
        process = _processes.Process(
            target=_crawl_process,
            args=(source, env, os.getcwd(), str(stdout), str(stderr), crawl_end),
            name=f"crawl {source}",
        )
        process.start()
        crawl_end.close()
        process.join(config.settings.crawl_timeout_seconds)
        if process.exitcode is None:
            process.kill()
            process.join()
            _record_failure(db, source, f"抓取超时（{config.settings.crawl_timeout_seconds}秒）")
            return CrawlOutcome(source, None, "timeout")
        out, err = (_read(stdout), _read(stderr))
    if process.exitcode != 0:
        tail = _last_line(err) or _last_line(out) or "no output"
        _record_failure(db, source, f"抓取进程异常退出（{process.exitcode}）：{tail[:500]}")
    return CrawlOutcome(source, process.exitcode, _last_line(out))


def _crawl_process(source: str, env: dict[str, str], cwd: str, stdout: str, stderr: str, worker: Connection) -> None:
    """`wagewatch crawl SOURCE` inside a process forked from the fork server, as if started by the caller:
    the caller's environment and working directory, its output and its exit status in files of the caller's.
    It ends at once if its worker dies, like the worker's own threads."""
    threading.Thread(target=_exit_with_worker, args=(worker,), daemon=True).start()
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for path, fd in ((stdout, 1), (stderr, 2)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    from wagewatch.cli import cli

    cli(["crawl", source], prog_name="wagewatch")


def _exit_with_worker(worker: Connection) -> None:
    """Wait for the worker's end of the pipe to close, then stop the crawl as kill -9 would: a worker's source
    lock expires when the worker dies, and no orphan may go on crawling that source beside its next taker."""
    with contextlib.suppress(EOFError):
        worker.recv_bytes()
    os._exit(1)


def _last_line(output: str | None) -> str:
    lines = (output or "").strip().splitlines()
    return lines[-1] if lines else ""


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


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
