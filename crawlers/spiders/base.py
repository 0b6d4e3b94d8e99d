"""What every WageWatch spider shares: config, the store, incremental stopping and error accounting."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import scrapy
from scrapy.http import Response
from sqlalchemy import select

from crawlers.blocks import BlockedError, block_reason
from crawlers.items import PostItem
from wagewatch import clock
from wagewatch.config import SourceConfig
from wagewatch.store.models import Post


class MalformedResponse(Exception):
    """The response is not in the shape the parser expects (logged with its URL and counted)."""


class WageSpider(scrapy.Spider):
    """Base class. Subclasses implement `posts_from_response` (pure: response in, posts out) and the
    request flow; `wagewatch parse` calls `posts_from_response` on saved files without any network."""

    name = ""

    def __init__(self, source_config: SourceConfig, keywords: list[str], db=None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.source_config = source_config
        self.keywords = keywords
        self.db = db
        self.crawl_run_id: int | None = None
        # Set by CrawlRunRecorder: after an interrupted run, known posts do not end paging, so the pages
        # the interrupted run never reached are still fetched.
        self.resuming = False

    # ------------------------------------------------------------------ parsing contract

    @classmethod
    def posts_from_response(cls, response: Response) -> list[PostItem]:
        raise NotImplementedError

    @classmethod
    def parse_saved(cls, response: Response) -> list[PostItem]:
        """Posts in a saved response; raises BlockedError for block, captcha and login pages."""
        reason = block_reason(response.status, response.url, response.text)
        if reason:
            raise BlockedError(reason)
        return cls.posts_from_response(response)

    # ------------------------------------------------------------------ helpers for subclasses

    @property
    def base_url(self) -> str:
        return self.source_config.base_url.rstrip("/")

    def queries(self) -> list[str]:
        return self.source_config.queries or self.keywords

    def horizon(self) -> datetime:
        return clock.now() - timedelta(days=self.source_config.horizon_days)

    def known_ids(self, external_ids: Iterable[str]) -> set[str]:
        ids = list(external_ids)
        if self.db is None or not ids:
            return set()
        with self.db.session() as session:
            rows = session.scalars(select(Post.external_id).where(Post.source == self.name,
                                                                   Post.external_id.in_(ids)))
            return set(rows)

    def worth_next_page(self, posts: list[PostItem]) -> bool:
        """Keep paging while the page brought a post that is new to the store and inside the horizon."""
        if not posts:
            return False
        if self.resuming:
            return True
        known = self.known_ids(p.external_id for p in posts)
        horizon = self.horizon()
        return any(p.external_id not in known and (p.published_at is None or p.published_at >= horizon)
                   for p in posts)

    def safe_posts(self, response: Response) -> list[PostItem] | None:
        """Parsed posts, or None after logging and counting a malformed response."""
        try:
            return self.posts_from_response(response)
        except MalformedResponse as exc:
            self.crawler.stats.inc_value("wagewatch/malformed")
            self.logger.error("malformed response from %s: %s", response.url, exc)
            return None
