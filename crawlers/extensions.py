"""Records every crawl run and its figures in the store (the source-health ledger)."""

from __future__ import annotations

from scrapy import signals
from sqlalchemy import select

from wagewatch import clock
from wagewatch.store.models import CrawlRun


class CrawlRunRecorder:
    def __init__(self, crawler) -> None:
        self.crawler = crawler
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def opened(self, spider) -> None:
        with spider.db.session() as session:
            previous = session.scalars(select(CrawlRun).where(CrawlRun.source == spider.name)
                                       .order_by(CrawlRun.id.desc())).first()
            # A run still marked running was killed: this run resumes its work.
            spider.resuming = previous is not None and previous.status in ("running", "interrupted")
            for stale in session.scalars(select(CrawlRun).where(CrawlRun.source == spider.name,
                                                                CrawlRun.status == "running")):
                stale.status = "interrupted"
                stale.finished_at = clock.now()
            run = CrawlRun(source=spider.name, started_at=clock.now(), status="running")
            session.add(run)
            session.flush()
            spider.crawl_run_id = run.id

    def closed(self, spider, reason: str) -> None:
        stats = self.crawler.stats
        value = lambda key: int(stats.get_value(key, 0) or 0)  # noqa: E731
        errors = value("log_count/ERROR") + value("wagewatch/malformed")
        downloader_errors = value("downloader/exception_count")
        blocked = stats.get_value("wagewatch/blocked_reason")
        responses = value("downloader/response_count")
        if blocked:
            status = "blocked"
        elif responses == 0 and downloader_errors:
            status = "failed"
        else:
            status = "ok"
        message = None
        if status == "failed":
            kinds = [k.split("/", 2)[-1] for k in stats.get_stats() if k.startswith("downloader/exception_type_count/")]
            message = "无法连接：" + "、".join(sorted(kinds)) if kinds else "无法连接"
        with spider.db.session() as session:
            run = session.get(CrawlRun, spider.crawl_run_id)
            run.finished_at = clock.now()
            run.status = status
            run.requests = value("downloader/request_count")
            run.posts_found = value("item_scraped_count")
            run.posts_new = value("wagewatch/posts_new")
            run.duplicates = value("wagewatch/duplicates")
            run.errors = errors + downloader_errors
            run.blocked_reason = blocked
            run.error_message = message
