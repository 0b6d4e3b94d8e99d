"""Records every crawl run and its figures in the store (the source-health ledger), and backs a blocked
source off so its next scheduled crawl waits."""

from __future__ import annotations

from dataclasses import dataclass

from scrapy import signals
from sqlalchemy import select

from wagewatch.core import clock
from wagewatch.core.states import CrawlStatus
from wagewatch.core.store.models import CrawlRun
from wagewatch.crawlers.state import clear_block, record_block


@dataclass
class RunFigures:
    requests: int
    responses: int
    posts_found: int
    posts_new: int
    duplicates: int
    malformed: int
    failed_requests: int
    spider_errors: int
    blocked_reason: str | None
    unreachable: str | None
    setup_error: str | None

    @classmethod
    def from_stats(cls, stats) -> RunFigures:
        value = lambda key: int(stats.get_value(key, 0) or 0)  # noqa: E731
        return cls(
            requests=value("downloader/request_count"),
            responses=value("downloader/response_count"),
            posts_found=value("item_scraped_count"),
            posts_new=value("wagewatch/posts_new"),
            duplicates=value("wagewatch/duplicates"),
            malformed=value("wagewatch/malformed"),
            failed_requests=value("wagewatch/request_failed"),
            spider_errors=value("spider_exceptions/count"),
            blocked_reason=stats.get_value("wagewatch/blocked_reason"),
            unreachable=stats.get_value("wagewatch/unreachable"),
            setup_error=stats.get_value("wagewatch/setup_error"),
        )

    @property
    def errors(self) -> int:
        return self.malformed + self.failed_requests + self.spider_errors

    def verdict(self, close_reason: str) -> tuple[CrawlStatus, str | None]:
        """The run's status (ok, failed, blocked) and, when it is not ok, why in words an operator reads."""
        if self.blocked_reason:
            return CrawlStatus.BLOCKED, None
        if self.setup_error:
            return CrawlStatus.FAILED, self.setup_error
        if self.unreachable and self.responses == 0:
            return CrawlStatus.FAILED, f"无法连接：{self.unreachable}"
        if self.responses == 0 and self.failed_requests:
            return CrawlStatus.FAILED, f"全部{self.failed_requests}个请求失败"
        if self.posts_found == 0 and self.malformed:
            return CrawlStatus.FAILED, f"{self.malformed}个页面无法解析，网站可能已改版"
        if close_reason not in ("finished", "unreachable"):
            return CrawlStatus.FAILED, f"抓取未完成（{close_reason}）"
        note = f"部分站点无法连接：{self.unreachable}" if self.unreachable else None
        return CrawlStatus.OK, note


class CrawlRunRecorder:
    def __init__(self, crawler) -> None:
        self.crawler = crawler
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def opened(self, spider) -> None:
        with spider.db.session(write=True) as session:
            # A run still marked running was killed; its unfinished query passes resume (wagewatch.crawlers.state).
            for stale in session.scalars(
                select(CrawlRun).where(CrawlRun.source == spider.name, CrawlRun.status == CrawlStatus.RUNNING)
            ):
                stale.status = CrawlStatus.INTERRUPTED
                stale.finished_at = clock.now()
            run = CrawlRun(source=spider.name, started_at=clock.now(), status=CrawlStatus.RUNNING)
            session.add(run)
            session.flush()
            spider.crawl_run_id = run.id

    def closed(self, spider, reason: str) -> None:
        figures = RunFigures.from_stats(self.crawler.stats)
        status, message = figures.verdict(reason)
        if status == CrawlStatus.BLOCKED:
            until = record_block(spider.db, spider.name, spider.source_config)
            message = f"已暂停抓取至 {clock.local(until):%Y-%m-%d %H:%M}"
        elif status == CrawlStatus.OK:
            clear_block(spider.db, spider.name)
        with spider.db.session(write=True) as session:
            run = session.get(CrawlRun, spider.crawl_run_id)
            run.finished_at = clock.now()
            run.status = status
            run.requests = figures.requests
            run.posts_found = figures.posts_found
            run.posts_new = figures.posts_new
            run.duplicates = figures.duplicates
            run.errors = figures.errors
            run.blocked_reason = figures.blocked_reason
            run.error_message = message
