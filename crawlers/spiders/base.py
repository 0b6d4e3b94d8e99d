"""What every WageWatch spider shares: config, the store, incremental paging and error accounting."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar

import scrapy
from pydantic import BaseModel, ConfigDict, ValidationError
from scrapy.exceptions import DownloadCancelledError
from scrapy.http import Response
from sqlalchemy import select

from wagewatch.core import clock
from wagewatch.core.config import SHANDONG_CITIES, ConfigError, SourceConfig
from wagewatch.core.store import Database
from wagewatch.core.store.models import Post
from wagewatch.crawlers.blocks import BlockedError, block_reason
from wagewatch.crawlers.items import PostItem
from wagewatch.crawlers.middlewares import BlockedRequest, stop_for_block
from wagewatch.crawlers.state import QueryPass, close_pass, open_pass


class MalformedResponse(Exception):
    """The response is not in the shape the parser expects (logged with its URL and counted)."""


_SHAPE_ERRORS = (TypeError, AttributeError, KeyError, IndexError, ValueError)


def guarded(parser: Callable[[Response], Any], response: Response) -> Any:
    """Run a parser; fields of unexpected types in an answer make it malformed, never a crash."""
    try:
        return parser(response)
    except _SHAPE_ERRORS as exc:
        raise MalformedResponse(f"unexpected shape: {type(exc).__name__}: {exc}") from exc


def _without_lone_surrogates(value: Any) -> Any:
    """Strings of a decoded answer with each lone surrogate (a `\\ud800` escape without its pair) replaced by
    U+FFFD: one broken character in one post must not make the whole page unstorable."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def json_object(response: Response) -> dict:
    """The response's JSON object; anything else is a malformed answer."""
    try:
        payload = json.loads(response.text)
        if _SURROGATE_ESCAPE.search(response.text):
            payload = _without_lone_surrogates(payload)
    except ValueError as exc:
        raise MalformedResponse(f"not JSON: {exc}") from exc
    except RecursionError:  # nesting no real answer has; json gives up on it with a RecursionError
        raise MalformedResponse("not JSON: nested too deeply") from None
    if not isinstance(payload, dict):
        raise MalformedResponse("JSON is not an object")
    return payload


def is_json(response: Response) -> bool:
    """Whether the answer is JSON, by its declared type or by its first character (no HTML page starts
    with a brace or a bracket)."""
    declared = response.headers.get("Content-Type", b"").decode("latin-1").lower()
    return "json" in declared or response.text.lstrip()[:1] in ("{", "[")


def html_text(response: Response) -> str:
    """The page of an HTML parser; a JSON answer is malformed here, never read as a page's text."""
    if is_json(response):
        raise MalformedResponse("JSON where an HTML page was expected")
    return response.text


class SpiderOptions(BaseModel):
    """Base of each spider's typed `options` block in config/sources.yaml."""

    model_config = ConfigDict(extra="forbid")


def matches_keywords(text: str, keywords: Iterable[str]) -> bool:
    """Whether `text` mentions any keyword (feeds and forum lists are not searched by the site)."""
    return any(k and k in text for k in keywords)


class WageSpider(scrapy.Spider):
    """Base class. Subclasses implement `posts_from_response` (pure: response in, posts out, whatever page
    type it is) and the request flow; `wagewatch parse` calls it on saved files without any network."""

    name = ""
    Options: ClassVar[type[SpiderOptions]] = SpiderOptions

    def __init__(
        self, source_config: SourceConfig, keywords: list[str], places: list[str] | None = None, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.source_config = source_config
        self.options = self.load_options(self.name, source_config)
        self.keywords = keywords
        self.places = places or []
        self.db: Database | None = None
        self.crawl_run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs) -> WageSpider:
        """Scrapy's way in: the store is opened from the crawler's settings (`WAGEWATCH_DATABASE_URL`, set by
        the runner), so the spider, its pipeline and its run recorder share it without the runner reaching in."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        url = crawler.settings.get("WAGEWATCH_DATABASE_URL")
        if not url:
            raise ConfigError("WAGEWATCH_DATABASE_URL is not set in the crawl's settings")
        spider.db = Database(url)
        return spider

    @classmethod
    def load_options(cls, source: str, source_config: SourceConfig) -> Any:
        """The source's `options`, validated; a mistake names the file and key."""
        try:
            return cls.Options.model_validate(source_config.options)
        except ValidationError as exc:
            lines = [
                f"sources.yaml: key 'sources.{source}.options.{'.'.join(str(p) for p in e['loc'])}': {e['msg']}"
                for e in exc.errors()
            ]
            raise ConfigError("\n".join(lines)) from None

    @classmethod
    def for_source(cls, source: str, source_config: SourceConfig) -> type[WageSpider]:
        """The spider of a source that names it with `spider:`; only YAML-driven spiders serve other names,
        since a site spider's posts carry its own name."""
        if source == cls.name:
            return cls
        raise ConfigError(
            f"sources.yaml: key 'sources.{source}.spider': spider {cls.name!r} serves only "
            f"the source named {cls.name!r}; use spider: generic for a new site"
        )

    # ------------------------------------------------------------------ parsing contract

    @classmethod
    def posts_from_response(cls, response: Response) -> list[PostItem]:
        raise NotImplementedError

    @classmethod
    def parse_saved(cls, response: Response, max_bytes: int | None = None) -> list[PostItem]:
        """Posts in a saved response; raises BlockedError for block, captcha and login pages, and
        MalformedResponse for an answer over `max_bytes` (a live crawl cancels its download)."""
        if max_bytes and len(response.body) > max_bytes:
            raise MalformedResponse(f"页面过大，已拒绝：{len(response.body)} 字节，超过 max_page_bytes {max_bytes}")
        reason = block_reason(response.status, response.url, response.text)
        if reason:
            raise BlockedError(reason)
        return guarded(cls.posts_from_response, response)

    # ------------------------------------------------------------------ helpers for subclasses

    @property
    def base_url(self) -> str:
        return self.source_config.base_url.rstrip("/")

    def queries(self) -> list[str]:
        """Configured queries or the keywords, combined with Shandong places as the source asks."""
        words = self.source_config.queries or self.keywords
        if self.source_config.places == "province":
            return [f"山东 {w}" for w in words]
        if self.source_config.places == "cities":
            return [f"{city} {w}" for w in words for city in SHANDONG_CITIES]
        return list(words)

    def horizon(self) -> datetime:
        return clock.now() - timedelta(days=self.source_config.horizon_days)

    def known_ids(self, external_ids: Iterable[str]) -> set[str]:
        ids = list(external_ids)
        if self.db is None or not ids:
            return set()
        with self.db.session() as session:
            rows = session.scalars(select(Post.external_id).where(Post.source == self.name, Post.external_id.in_(ids)))
            return set(rows)

    def request(self, url: str, callback: Callable, errback: Callable | None = None, **kwargs) -> scrapy.Request:
        """A request whose final failure is logged and counted (never silently dropped)."""
        return scrapy.Request(url, callback=callback, errback=errback or self.request_failed, **kwargs)

    def request_failed(self, failure) -> None:
        if failure.check(BlockedRequest):
            return  # the block is recorded once, as the run's reason
        if failure.check(DownloadCancelledError):
            self.crawler.stats.inc_value("wagewatch/too_large")
            self.logger.warning(
                "page refused, over max_page_bytes (%s): %s", self.source_config.max_page_bytes, failure.request.url
            )
        self.crawler.stats.inc_value("wagewatch/request_failed")
        self.logger.warning("request failed for good: %s (%s)", failure.request.url, failure.getErrorMessage())

    def safe_parse(self, response: Response, parser: Callable[[Response], Any] | None = None) -> Any:
        """What `parser` (default: `posts_from_response`) reads from the response, or None after a block
        (the crawl stops) or a malformed response (logged with its URL and counted)."""
        try:
            return guarded(parser or self.posts_from_response, response)
        except BlockedError as exc:
            stop_for_block(self.crawler, exc.reason, response.url)
        except MalformedResponse as exc:
            self.crawler.stats.inc_value("wagewatch/malformed")
            self.logger.warning("malformed response from %s: %s", response.url, exc)
        return None

    # ------------------------------------------------------------------ incremental paging

    def open_pass(self, key: str, payload: dict | None = None) -> QueryPass:
        return open_pass(self.db, self.name, key, payload)

    def close_pass(self, qpass: QueryPass, forget: bool = False) -> None:
        close_pass(self.db, self.name, qpass, forget)

    def within(self, qpass: QueryPass | None, when: datetime | None) -> bool:
        """Inside the horizon and newer than what a completed pass already read (undated counts as inside)."""
        if when is None:
            return True
        floor = qpass.floor if qpass else None
        return when >= self.horizon() and (floor is None or when > floor)

    def in_window(self, qpass: QueryPass | None, posts: list[PostItem]) -> list[PostItem]:
        return [p for p in posts if self.within(qpass, p.published_at)]

    def wants_more(self, qpass: QueryPass | None, posts: list[PostItem], dropped: Iterable[PostItem] = ()) -> bool:
        """Whether the page after this one may hold new posts. Call it BEFORE yielding the posts: once
        stored they count as known. `dropped` are results this source filters out (never stored), which
        can only be judged by their time.

        A normal pass stops at the first page without a post that is new to the store; a pass resuming an
        interrupted one reads on through known posts down to the last completed pass, so no gap is left.
        """
        dropped = list(dropped)
        if qpass is not None:
            for post in [*posts, *dropped]:
                qpass.saw(post.published_at)
        window = self.in_window(qpass, posts)
        if self.in_window(qpass, dropped) or (window and qpass is not None and qpass.resuming):
            return True
        if not window:
            return False
        known = self.known_ids(p.external_id for p in window)
        return any(p.external_id not in known for p in window)

    def fresh(self, posts: list[PostItem]) -> list[PostItem]:
        """Posts not yet in the store (to skip fetching details we already have)."""
        known = self.known_ids(p.external_id for p in posts)
        return [p for p in posts if p.external_id not in known]
