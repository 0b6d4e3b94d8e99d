"""A spider driven entirely by sources.yaml, so an operator adds a site without writing code: a list URL
template, CSS/XPath (HTML) or JMESPath (JSON) paths for the items and their fields, optional detail pages
(by selectors or readable-text extraction) and a date format. See docs/crawlers.md for an example."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import ClassVar, Literal
from urllib.parse import quote, urljoin

import jmespath
from parsel import Selector
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scrapy.http import Response

from wagewatch.core.config import SourceConfig
from wagewatch.crawlers.dates import CST, from_unix, parse_site_time
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
from wagewatch.crawlers.state import QueryPass
from wagewatch.crawlers.textutil import html_to_text, to_int, url_id

_XPATH = re.compile(r"^(?:\.?/|\(|@|[a-z-]+\()")  # paths, attributes and functions; anything else is CSS


class Fields(BaseModel):
    """Where each post field is, relative to one item (or to the detail page)."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    url: str | None = None
    title: str | None = None
    text: str | None = None
    author: str | None = None
    published_at: str | None = None
    region: str | None = None
    reposts: str | None = None
    comments: str | None = None
    likes: str | None = None


class Detail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: Fields = Field(default_factory=Fields)
    readable: bool = False  # take title, text, author and time from the readable-text extractor


class GenericOptions(SpiderOptions):
    list_url: str  # placeholders: {query} (URL-encoded), {page} (from 1), {offset} ((page-1) × page_size)
    format: Literal["html", "json"] = "html"
    items: str  # CSS or XPath (html) / JMESPath (json) selecting the list's items
    fields: Fields
    url_template: str | None = None  # builds the post URL from its id when the item has no link: ".../{id}"
    next_page: str | None = None  # selector of the next page's link (html), instead of {page}/{offset}
    page_size: int = Field(20, ge=1)
    detail: Detail | None = None
    date_format: str | None = None  # strptime format of published_at; default: every form the sites use
    keyword_in: Literal["none", "list", "detail"] = "none"  # where a keyword must appear for a post to be kept

    @model_validator(mode="after")
    def _locatable(self) -> GenericOptions:
        if not (self.fields.url or self.url_template):
            raise ValueError("fields.url or url_template is needed to link each post")
        if self.keyword_in == "detail" and self.detail is None:
            raise ValueError("keyword_in: detail needs a detail block")
        return self


def _select_html(node: Selector, path: str | None) -> str | None:
    if not path:
        return None
    found = node.xpath(path) if _XPATH.match(path) else node.css(path)
    values = [v for v in found.getall() if v and v.strip()]
    if not values:
        return None
    if any(v.lstrip().startswith("<") for v in values):
        return "\n".join(html_to_text(v) for v in values).strip() or None
    return " ".join(" ".join(v.split()) for v in values).strip() or None


def _select_json(item, path: str | None) -> str | None:
    if not path:
        return None
    value = jmespath.search(path, item)
    if value is None or value == "":
        return None
    return (
        value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False)
        if isinstance(value, (dict, list))
        else str(value)
    )


class GenericSpider(WageSpider):
    """Configured per source with `spider: generic`; `for_source` makes the subclass that carries the
    source's name and options, so saved pages parse offline like any site spider's."""

    name = "generic"
    Options = GenericOptions
    spec: ClassVar[GenericOptions | None] = None

    @classmethod
    def for_source(cls, source: str, source_config: SourceConfig) -> type[GenericSpider]:
        return type(
            f"GenericSpider_{source}", (cls,), {"name": source, "spec": cls.load_options(source, source_config)}
        )

    # ------------------------------------------------------------------ parsing

    @classmethod
    def _date(cls, value: str | None) -> datetime | None:
        if not value:
            return None
        if value.strip().isdigit() and len(value.strip()) >= 9:
            return from_unix(value)
        if cls.spec.date_format:
            try:
                parsed = datetime.strptime(value.strip(), cls.spec.date_format)
            except ValueError:
                return None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=CST)
        return parse_site_time(value)

    @classmethod
    def _post(cls, get, base_url: str, ref: str, fields: Fields) -> PostItem | None:
        spec = cls.spec
        post_id = get(fields.id)
        url = get(fields.url)
        if url:
            url = urljoin(base_url, url)
        elif post_id and spec.url_template:
            url = spec.url_template.format(id=post_id)
        if not url:
            return None
        title = get(fields.title)
        return PostItem(
            source=cls.name,
            external_id=post_id or url_id(url),
            url=url,
            title=title,
            text=get(fields.text) or title or "",
            author=get(fields.author),
            published_at=cls._date(get(fields.published_at)),
            reposts=to_int(get(fields.reposts)),
            comments=to_int(get(fields.comments)),
            likes=to_int(get(fields.likes)),
            region=get(fields.region),
            raw_ref=ref,
        )

    @classmethod
    def list_items(cls, response: Response) -> list[PostItem]:
        spec = cls.spec
        ref = raw_reference(response.body, response.url)
        if spec.format == "json":
            try:
                payload = json.loads(response.text)
            except ValueError as exc:
                raise MalformedResponse(f"not JSON: {exc}") from exc
            items = jmespath.search(spec.items, payload)
            if not isinstance(items, list):
                raise MalformedResponse(f"items path {spec.items!r} does not give a list")
            posts = [
                cls._post(lambda p, item=item: _select_json(item, p), response.url, ref, spec.fields) for item in items
            ]
        else:
            sel = Selector(text=html_text(response))
            nodes = sel.xpath(spec.items) if _XPATH.match(spec.items) else sel.css(spec.items)
            posts = [
                cls._post(lambda p, node=node: _select_html(node, p), response.url, ref, spec.fields) for node in nodes
            ]
        return [p for p in posts if p is not None]

    @classmethod
    def detail_post(cls, response: Response, listed: PostItem | None = None) -> PostItem:
        """A detail page: its configured fields (or readable text) over what the list gave."""
        detail = cls.spec.detail
        ref = raw_reference(response.body, response.url)
        if detail.readable:
            article = extract_article(html_text(response), response.url)
            if article is None:
                raise MalformedResponse("no readable article text")
            found = {
                "title": article.title,
                "text": article.text,
                "author": article.author,
                "published_at": article.published_at,
            }
        else:
            sel = Selector(text=html_text(response))
            found = {name: _select_html(sel, path) for name, path in detail.fields.model_dump().items() if path}
            found["published_at"] = cls._date(found.get("published_at"))
            if not found.get("text"):
                raise MalformedResponse("detail text selector matched nothing")
        base = listed or PostItem(
            source=cls.name,
            external_id=url_id(response.url),
            url=response.url,
            title=None,
            text="",
            author=None,
            published_at=None,
        )
        for name, value in found.items():
            if value not in (None, ""):
                setattr(base, name, value)
        base.raw_ref = ref
        return base

    @classmethod
    def posts_from_response(cls, response: Response) -> list[PostItem]:
        posts = cls.list_items(response)
        if posts or cls.spec.detail is None:
            return posts
        return [cls.detail_post(response)]

    # ------------------------------------------------------------------ flow

    def list_url(self, query: str | None, page: int) -> str:
        return self.spec.list_url.format(query=quote(query or ""), page=page, offset=(page - 1) * self.spec.page_size)

    async def start(self):
        queries = self.queries() if "{query}" in self.spec.list_url else [None]
        for query in queries:
            qpass = self.open_pass(f"list:{query}" if query else "list")
            yield self.request(
                self.list_url(query, 1), self.parse_list, cb_kwargs={"qpass": qpass, "query": query, "page": 1}
            )

    def keep(self, post: PostItem) -> bool:
        return matches_keywords(f"{post.title or ''} {post.text}", self.keywords)

    def parse_list(self, response: Response, qpass: QueryPass, query: str | None, page: int):
        posts = self.safe_parse(response, self.list_items)
        if posts is None:
            return
        filtering = self.spec.keyword_in == "list"
        kept = [p for p in posts if not filtering or self.keep(p)]
        more = self.wants_more(qpass, kept, dropped=[p for p in posts if filtering and not self.keep(p)])
        if self.spec.detail is None:
            yield from kept
        else:
            for post in self.fresh(self.in_window(None, kept)):
                yield self.request(
                    post.url,
                    self.parse_detail,
                    errback=self.detail_failed,
                    cb_kwargs={"listed": post},
                    meta={"listed": post},
                )
        next_url = self.next_url(response, query, page)
        if more and next_url and page < self.source_config.max_pages:
            yield self.request(next_url, self.parse_list, cb_kwargs={"qpass": qpass, "query": query, "page": page + 1})
        else:
            self.close_pass(qpass)

    def next_url(self, response: Response, query: str | None, page: int) -> str | None:
        if self.spec.next_page:
            href = _select_html(Selector(text=response.text), self.spec.next_page)
            return urljoin(response.url, href) if href else None
        if "{page}" in self.spec.list_url or "{offset}" in self.spec.list_url:
            return self.list_url(query, page + 1)
        return None

    def parse_detail(self, response: Response, listed: PostItem):
        post = self.safe_parse(response, lambda r: self.detail_post(r, listed))
        if post is not None and (self.spec.keyword_in != "detail" or self.keep(post)):
            yield post

    def detail_failed(self, failure):
        """Without its detail page the list's view of the post is kept (unless a keyword must be checked)."""
        self.request_failed(failure)
        if self.spec.keyword_in != "detail":
            yield failure.request.meta["listed"]
