"""Item pipeline: each post is written to the store in its own transaction as soon as it is parsed, so a
crash loses at most the post being written, and a re-run skips what is already stored."""

from __future__ import annotations

import hashlib

from wagewatch.core import clock
from wagewatch.core.states import Indexed, PostState
from wagewatch.core.store.models import Post, enqueue_index
from wagewatch.crawlers.items import PostItem


def _normalized(text: str) -> str:
    from wagewatch.classifier import normalize

    return normalize(text)


class StorePipeline:
    def __init__(self, crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item: PostItem, spider=None):
        spider = spider or self.crawler.spider
        db = spider.db
        stats = self.crawler.stats
        values = dict(
            source=item.source,
            external_id=item.external_id,
            url=item.url,
            title=item.title,
            text=_normalized(item.text),
            text_raw=item.text_raw or item.text,
            author=item.author,
            published_at=item.published_at,
            reposts=item.reposts,
            comments=item.comments,
            likes=item.likes,
            region=item.region,
            thread_id=item.thread_id,
            raw_ref=item.raw_ref,
            fetched_at=clock.now(),
            crawl_run_id=getattr(spider, "crawl_run_id", None),
            state=PostState.NEW,
        )
        with db.session() as session:
            post_id = db.insert_ignore(session, Post, values)
            if post_id is not None:
                enqueue_index(session, Indexed.POST, post_id)
        stats.inc_value("wagewatch/posts_new" if post_id is not None else "wagewatch/duplicates")
        return item


def raw_reference(body: bytes, url: str) -> str:
    """A stable reference to the raw response (sha256 of the body) kept with the post for audit."""
    return f"sha256:{hashlib.sha256(body).hexdigest()} {url}"
