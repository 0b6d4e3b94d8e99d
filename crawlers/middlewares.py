"""Downloader middlewares: rotate user agents, retry with back-off, give up early on unreachable hosts,
and stop a source cleanly when the site blocks us."""

from __future__ import annotations

import itertools
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet import error as twisted_errors
from twisted.internet.task import deferLater

from wagewatch.crawlers.blocks import block_reason, redirect_block_reason

UNREACHABLE_ERRORS = (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    twisted_errors.DNSLookupError,
    twisted_errors.ConnectError,
    twisted_errors.TimeoutError,
)


class BlockedRequest(IgnoreRequest):
    """Dropped because the site blocked us; the block is recorded once as the run's reason."""


class UnreachableHost(IgnoreRequest):
    """Dropped because its host could not be reached in this run."""


def stop_for_block(crawler, reason: str, url: str) -> None:
    """Record the first block reason and close the spider: retrying into a block makes it last longer,
    so the source backs off until its next allowed run and the recorded reason raises an ops alert."""
    stats = crawler.stats
    if stats.get_value("wagewatch/blocked_reason"):
        return
    stats.set_value("wagewatch/blocked_reason", f"{reason} ({url})")
    crawler.spider.logger.warning("blocked: %s at %s", reason, url)
    drop_queued(crawler, None, BlockedRequest(f"blocked: {reason}"))  # no more requests into a block
    close_spider(crawler, "blocked")


def drop_queued(crawler, slot_key: str | None, error: Exception) -> None:
    """Fail the requests already waiting in a download slot (every slot when `slot_key` is None) now:
    the engine would otherwise send each of them, after its download delay, before it can close."""
    slots = getattr(crawler.engine.downloader, "slots", {})
    for key, slot in list(slots.items()):
        queue = getattr(slot, "queue", None) if slot_key in (None, key) else None
        while queue:
            _request, waiting = queue.popleft()
            waiting.errback(error)


def close_spider(crawler, reason: str) -> None:
    """Ask the engine to stop the crawl; requests still queued are dropped."""
    deferred_from_coro(crawler.engine.close_spider_async(reason=reason))


def _host(url: str) -> str:
    return urlsplit(url).netloc


class RotateUserAgentMiddleware:
    """Cycles through the user agents listed in config/sources.yaml (`user_agents`)."""

    def __init__(self, agents: list[str]) -> None:
        self._agents = itertools.cycle(agents) if agents else None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getlist("WAGEWATCH_USER_AGENTS"))

    def process_request(self, request, spider=None):
        if self._agents is not None:
            request.headers["User-Agent"] = next(self._agents)


class ProxyMiddleware:
    """Sends every request through the source's proxy (`proxy_env` in sources.yaml), per request as Scrapy's
    HttpProxyMiddleware expects it in `request.meta['proxy']`; a request that names its own proxy keeps it."""

    def __init__(self, proxy: str | None) -> None:
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("WAGEWATCH_PROXY"))

    def process_request(self, request, spider=None):
        if self.proxy:
            request.meta.setdefault("proxy", self.proxy)


class _CrawlerMiddleware:
    def __init__(self, crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)


class BlockDetectionMiddleware(_CrawlerMiddleware):
    """A block, captcha or login page (by status, URL, title, short body, or a redirect by Refresh header, meta
    refresh or script) closes this source's crawl."""

    def process_response(self, request, response, spider=None):
        body = response.text if hasattr(response, "text") else ""
        refresh = response.headers.get("Refresh", b"").decode("latin-1") or None
        reason = block_reason(response.status, response.url, body, refresh)
        if reason is None:
            return response
        stop_for_block(self.crawler, reason, response.url)
        raise BlockedRequest(f"blocked: {reason}")


class LoginRedirectMiddleware(_CrawlerMiddleware):
    """Sits before RedirectMiddleware: a redirect to a captcha or login page is a block, not a page to follow."""

    def process_response(self, request, response, spider=None):
        if response.status not in (301, 302, 303, 307, 308):
            return response
        location = response.headers.get("Location", b"").decode("latin-1")
        reason = redirect_block_reason(location)
        if reason is None:
            return response
        stop_for_block(self.crawler, reason, location)
        raise BlockedRequest(f"blocked: {reason}")


class UnreachableHostMiddleware(_CrawlerMiddleware):
    """A host that has not answered once in this run and fails to connect (DNS failure, refused, timed
    out) is given up at once instead of retrying every request; when every host the spider tried is
    unreachable the spider closes, so an offline machine finishes a crawl in seconds."""

    def __init__(self, crawler) -> None:
        super().__init__(crawler)
        self.requested: set[str] = set()
        self.answered: set[str] = set()
        self.unreachable: dict[str, str] = {}

    def process_request(self, request, spider=None):
        host = _host(request.url)
        if host in self.unreachable:
            raise UnreachableHost(f"host unreachable: {host}")
        self.requested.add(host)

    def process_response(self, request, response, spider=None):
        self.answered.add(_host(request.url))
        return response

    def process_exception(self, request, exception, spider=None):
        host = _host(request.url)
        if not isinstance(exception, UNREACHABLE_ERRORS) or host in self.answered:
            return None  # an ordinary transient error: RetryMiddleware handles it
        self.unreachable[host] = type(exception).__name__
        stats = self.crawler.stats
        summary = "、".join(f"{h}（{kind}）" for h, kind in sorted(self.unreachable.items()))
        stats.set_value("wagewatch/unreachable", summary)
        self.crawler.spider.logger.error("host unreachable, giving it up for this run: %s (%s)", host, exception)
        drop_queued(self.crawler, request.meta.get("download_slot", host), UnreachableHost(f"host unreachable: {host}"))
        if self.requested <= set(self.unreachable):
            close_spider(self.crawler, "unreachable")
        raise UnreachableHost(f"host unreachable: {host}")


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry, waiting RETRY_BACKOFF_BASE × 2^(attempt-1) seconds before each new attempt so a
    struggling server gets room to recover."""

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)

    async def _wait(self, retry):
        delay = min(self.backoff_max, self.backoff_base * 2 ** (retry.meta.get("retry_times", 1) - 1))
        if delay > 0:
            from twisted.internet import reactor

            await maybe_deferred_to_future(deferLater(reactor, delay, lambda: None))
        return retry

    async def process_response(self, request, response, spider=None):
        result = super().process_response(request, response)
        return await self._wait(result) if result is not response else response

    async def process_exception(self, request, exception, spider=None):
        result = super().process_exception(request, exception)
        return await self._wait(result) if result is not None else None
