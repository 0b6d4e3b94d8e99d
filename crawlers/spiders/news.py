"""News: RSS/Atom feeds and the article lists of Shandong media (大众网, 齐鲁网 …); every article that
mentions a keyword is fetched and its readable text extracted (docs/crawlers.md, Sources)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urljoin

import feedparser
from parsel import Selector
from pydantic import BaseModel, ConfigDict, Field
from scrapy.http import Response

from wagewatch.crawlers.dates import CST
from wagewatch.crawlers.items import PostItem
from wagewatch.crawlers.pipelines import raw_reference
from wagewatch.crawlers.readable import extract_article
from wagewatch.crawlers.spiders.base import (
    MalformedResponse,
    SpiderOptions,
    WageSpider,
    html_text,
    matches_keywords,
)
from wagewatch.crawlers.textutil import html_to_text, url_id

_FEED_START = re.compile(r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|rdf:RDF)\b", re.S)


class ListPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    links: str  # regular expression an article URL (made absolute) must match


class NewsOptions(SpiderOptions):
    feeds: list[str] = Field(default_factory=list)
    list_pages: list[ListPage] = Field(default_factory=list)
    # What must mention a keyword before an article is fetched: its title (feeds: title and summary),
    # or nothing (every new article is fetched and its text decides).
    keyword_in: Literal["title", "text"] = "title"
    require_place: bool = False  # also require a Shandong place name (for national media)


def is_feed(body: str) -> bool:
    return bool(_FEED_START.match(body[:2000]))


def feed_entries(response: Response) -> list[PostItem]:
    """Entries of an RSS 2.0 / RSS 1.0 / Atom feed as posts (title and summary; the article comes later)."""
    parsed = feedparser.parse(response.body)
    if parsed.bozo and not parsed.entries:
        raise MalformedResponse(f"unreadable feed: {parsed.get('bozo_exception')}")
    ref = raw_reference(response.body, response.url)
    posts = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            continue
        when = entry.get("published_parsed") or entry.get("updated_parsed")  # feedparser gives UTC
        published = datetime(*when[:6], tzinfo=UTC).astimezone(CST) if when else None
        summary = html_to_text(entry.get("summary") or "")
        posts.append(
            PostItem(
                source="news",
                external_id=url_id(link),
                url=link,
                title=entry.get("title"),
                text=summary or (entry.get("title") or ""),
                text_raw=entry.get("summary"),
                author=entry.get("author"),
                published_at=published,
                raw_ref=ref,
            )
        )
    return posts


def article_post(response: Response, listed: PostItem | None = None) -> PostItem:
    """The readable article of a news page; what the feed or list said fills the gaps."""
    article = extract_article(html_text(response), response.url)
    if article is None:
        raise MalformedResponse("no readable article text")
    url = listed.url if listed else response.url
    return PostItem(
        source="news",
        external_id=url_id(url),
        url=url,
        title=article.title or (listed.title if listed else None),
        text=article.text,
        text_raw=None,
        author=article.author or (listed.author if listed else None),
        published_at=article.published_at or (listed.published_at if listed else None),
        raw_ref=raw_reference(response.body, response.url),
    )


def list_links(response: Response, pattern: str) -> list[PostItem]:
    """Article links of a list page whose absolute URL matches `pattern`, titled by their anchor text."""
    sel = Selector(text=html_text(response))
    wanted = re.compile(pattern)
    ref = raw_reference(response.body, response.url)
    seen: dict[str, PostItem] = {}
    for anchor in sel.css("a[href]"):
        url = urljoin(response.url, anchor.attrib["href"].strip())
        title = " ".join(" ".join(anchor.css("::text").getall()).split()) or anchor.attrib.get("title")
        if wanted.search(url) and title and url not in seen:
            seen[url] = PostItem(
                source="news",
                external_id=url_id(url),
                url=url,
                title=title,
                text=title,
                author=None,
                published_at=None,
                raw_ref=ref,
            )
    return list(seen.values())


class NewsSpider(WageSpider):
    name = "news"
    Options = NewsOptions

    @classmethod
    def posts_from_response(cls, response: Response) -> list[PostItem]:
        if is_feed(response.text):
            return feed_entries(response)
        return [article_post(response)]

    async def start(self):
        for url in self.options.feeds:
            yield self.request(url, self.parse_listing, cb_kwargs={"links": None})
        for page in self.options.list_pages:
            yield self.request(page.url, self.parse_listing, cb_kwargs={"links": page.links})

    def relevant(self, post: PostItem) -> bool:
        text = f"{post.title or ''} {post.text}"
        return matches_keywords(text, self.keywords) and (
            not self.options.require_place or matches_keywords(text, self.places)
        )

    def parse_listing(self, response: Response, links: str | None):
        entries = self.safe_parse(response, feed_entries if links is None else lambda r: list_links(r, links))
        if entries is None:
            return
        candidates = [e for e in self.in_window(None, entries) if self.options.keyword_in == "text" or self.relevant(e)]
        for entry in self.fresh(candidates):
            yield self.request(
                entry.url,
                self.parse_article,
                errback=self.article_failed,
                cb_kwargs={"listed": entry},
                meta={"listed": entry},
            )

    def parse_article(self, response: Response, listed: PostItem):
        post = self.safe_parse(response, lambda r: article_post(r, listed))
        if post is None:
            return
        if self.options.keyword_in == "title" or self.relevant(post):
            yield post

    def article_failed(self, failure):
        """A feed entry whose article cannot be fetched is kept with its title and summary."""
        self.request_failed(failure)
        listed = failure.request.meta["listed"]
        if listed.text != listed.title:
            yield listed
