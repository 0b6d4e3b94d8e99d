"""Downloader middlewares: rotate user agents, and stop a source cleanly when the site blocks us."""

from __future__ import annotations

import itertools

from scrapy import signals
from scrapy.exceptions import IgnoreRequest

from crawlers.blocks import block_reason


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


class BlockDetectionMiddleware:
    """A block, captcha or login page closes this source's crawl with the reason recorded.

    Retrying into a block makes it last longer, so the source backs off until its next scheduled run and
    the recorded reason raises an ops alert.
    """

    def __init__(self, crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request, response, spider=None):
        body = response.text if hasattr(response, "text") else ""
        reason = block_reason(response.status, response.url, body)
        if reason is None:
            return response
        spider = spider or self.crawler.spider
        stats = self.crawler.stats
        if not stats.get_value("wagewatch/blocked_reason"):
            stats.set_value("wagewatch/blocked_reason", f"{reason} ({response.url})")
            spider.logger.warning("blocked: %s at %s", reason, response.url)
            self.crawler.engine.close_spider(spider, "blocked")
        raise IgnoreRequest(f"blocked: {reason}")
