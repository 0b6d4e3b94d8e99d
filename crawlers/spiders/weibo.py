"""Sina Weibo: the mobile search API (m.weibo.cn, JSON) for the newest posts, full text of truncated posts
from the detail page (or the extend endpoint), and the web search (s.weibo.com, HTML) sliced by day, hour
and Shandong city when a query fills the ~50 pages Weibo shows (docs/crawlers.md, Sources)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit

from parsel import Selector
from pydantic import Field
from scrapy.http import Response

from wagewatch.crawlers.blocks import BlockedError
from wagewatch.crawlers.dates import CST, parse_site_time
from wagewatch.crawlers.items import PostItem
from wagewatch.crawlers.pipelines import raw_reference
from wagewatch.crawlers.spiders.base import MalformedResponse, SpiderOptions, WageSpider, json_object
from wagewatch.crawlers.state import QueryPass, unfinished_passes
from wagewatch.crawlers.textutil import as_text, html_to_text, to_int

_RENDER_DATA = re.compile(r"var\s+\$render_data\s*=\s*(\[.*?\])\s*\[0\]", re.S)
_FULL_TEXT_LINK = re.compile(r'<a[^>]*href="/status/\w+"[^>]*>全文</a>')
_FOLD_LINKS = re.compile(r'<a[^>]*action-type="fl_(?:fold|unfold)"[^>]*>.*?</a>', re.S)
SLICE_PREFIX = "slice:"


class WeiboOptions(SpiderOptions):
    search_type: int = 61  # 61 实时 (newest first), 1 综合, 60 热门
    full_text: bool = True  # fetch the whole text of posts marked isLongText
    web_search_url: str = "https://s.weibo.com"
    split_threshold_pages: int = Field(46, ge=1)  # a slice with this many pages is split further
    province_code: int = 37  # Shandong
    city_codes: dict[str, int] = Field(default_factory=dict)  # Weibo's region codes of Shandong's cities


def _mblogs(cards) -> list[dict]:
    """Posts are cards of type 9, at the top level or inside a card_group (type 11 wrappers); ads carry a
    `promotion` object and are left out. Cards of another shape are an unknown answer, never zero posts."""
    if not isinstance(cards, list):
        raise MalformedResponse(f"data.cards is {type(cards).__name__}, not a list")
    found = []
    for card in cards:
        if not isinstance(card, dict) or "card_type" not in card:
            raise MalformedResponse("a card without card_type")
        group = card.get("card_group", [])
        if not isinstance(group, list):
            raise MalformedResponse(f"card_group is {type(group).__name__}, not a list")
        for candidate in [card, *group]:
            if not isinstance(candidate, dict) or candidate.get("card_type") != 9:
                continue
            mblog = candidate.get("mblog")
            if isinstance(mblog, dict) and (mblog.get("id") or mblog.get("mid")) and not mblog.get("promotion"):
                found.append(mblog)
    return found


def _region(mblog: dict) -> str | None:
    region = as_text(mblog.get("region_name")).strip()
    return region.removeprefix("发布于").strip() or None


def _mblog_text(mblog: dict, raw: str | None = None) -> tuple[str, str]:
    """Visible text and raw HTML; a repost carries the original after '//转发原文'."""
    raw = raw if raw is not None else as_text(mblog.get("text"))
    text = html_to_text(_FULL_TEXT_LINK.sub("", raw))
    original = mblog.get("retweeted_status")
    if isinstance(original, dict) and original.get("text"):
        user = original.get("user") if isinstance(original.get("user"), dict) else {}
        text += f"\n//转发原文 @{user.get('screen_name') or '未知'}：{html_to_text(original['text'])}"
    return text, raw


def _post(mblog: dict, ref: str, raw_text: str | None = None) -> PostItem:
    post_id = str(mblog.get("id") or mblog.get("mid"))
    user = mblog.get("user") if isinstance(mblog.get("user"), dict) else {}
    text, raw = _mblog_text(mblog, raw_text)
    return PostItem(
        source="weibo",
        external_id=post_id,
        url=f"https://m.weibo.cn/detail/{post_id}",
        title=None,
        text=text,
        text_raw=raw,
        author=user.get("screen_name"),
        published_at=parse_site_time(mblog.get("created_at")),
        reposts=to_int(mblog.get("reposts_count")),
        comments=to_int(mblog.get("comments_count")),
        likes=to_int(mblog.get("attitudes_count")),
        region=_region(mblog),
        thread_id=None,
        raw_ref=ref,
    )


def _json(response: Response) -> dict:
    if response.text.lstrip()[:1] == "<":
        # An HTML page where the JSON API should answer is the login wall of a missing or expired cookie.
        raise BlockedError("返回HTML而非JSON（登录Cookie失效）")
    return json_object(response)


def search_page(response: Response) -> list[tuple[PostItem, bool]]:
    """m.weibo.cn getIndex: (post, truncated) pairs. Only the two known answers count: `{"ok": 1, "data":
    {"cards": [...]}}`, and `{"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}` at the end of the
    results; anything else (a `data` object without its envelope, say) is malformed, never "nothing new"."""
    payload = _json(response)
    data = payload.get("data")
    if _is_end(payload):
        return []
    if payload.get("ok") != 1:
        raise MalformedResponse(f"unknown answer: ok={payload.get('ok')!r}, keys {sorted(payload)[:8]}")
    if not isinstance(data, dict):
        raise MalformedResponse("missing data object")
    ref = raw_reference(response.body, response.url)
    return [(_post(m, ref), bool(m.get("isLongText"))) for m in _mblogs(data.get("cards"))]


def _is_end(payload: dict) -> bool:
    """Weibo's "no (more) results" answer: ok 0 with a message, and no cards."""
    data = payload.get("data", {})
    return (
        payload.get("ok") == 0
        and isinstance(payload.get("msg"), str)
        and isinstance(data, dict)
        and data.get("cards", []) == []
    )


def detail_page(response: Response) -> list[PostItem]:
    """m.weibo.cn/detail/<id>: the page embeds the whole post as `var $render_data = [{…"status": {…}}][0]`."""
    match = _RENDER_DATA.search(response.text)
    if not match:
        raise MalformedResponse("no $render_data in detail page")
    try:
        status = json.loads(match[1])[0]["status"]
    except (ValueError, LookupError, TypeError) as exc:
        raise MalformedResponse(f"unreadable $render_data: {exc}") from exc
    if not isinstance(status, dict) or not (status.get("id") or status.get("mid")):
        raise MalformedResponse("$render_data has no status")
    return [_post(status, raw_reference(response.body, response.url))]


def extend_text(response: Response) -> str | None:
    """m.weibo.cn/statuses/extend?id=<id>: the full HTML text, or None when Weibo has none to give (ok 0)."""
    payload = _json(response)
    if payload.get("ok") == 0:
        return None
    data = payload.get("data")
    if payload.get("ok") != 1 or not isinstance(data, dict):
        raise MalformedResponse(f"unknown extend answer: ok={payload.get('ok')!r}")
    return data.get("longTextContent") or None


def _web_count(node: Selector, action: str) -> int:
    """A count from an action link such as '转发 12' or '1.2万'; a bare label ('赞', '评论') means none yet."""
    text = " ".join(node.css(f'a[action-type="{action}"] ::text').getall())
    digits = re.search(r"\d+(?:\.\d+)?万?\+?", text)
    return (to_int(digits[0]) or 0) if digits else 0


def web_search_page(response: Response) -> list[PostItem]:
    """s.weibo.com/weibo result cards (`div.card-wrap[mid]`); the no-result card means an empty slice."""
    sel = Selector(text=response.text)
    cards = sel.css("div.card-wrap[mid]")
    if not cards and not sel.css("div.card-no-result"):
        raise MalformedResponse("no result cards and no empty-result marker")
    ref = raw_reference(response.body, response.url)
    posts = []
    for card in cards:
        mid = card.attrib["mid"]
        body = (
            card.css('p[node-type="feed_list_content_full"]')
            or card.css('p[node-type="feed_list_content"]')
            or card.css("p.txt")
        )
        raw = _FOLD_LINKS.sub("", body[0].get()) if body else ""
        when = card.css("div.from a:first-child::text").get() or ""
        author = card.css("a.name::attr(nick-name)").get() or card.css("a.name::text").get()
        text = html_to_text(raw)
        original = card.css("div.card-comment p.txt")
        if original:
            text += "\n//转发原文：" + html_to_text(original[0].get())
        posts.append(
            PostItem(
                source="weibo",
                external_id=mid,
                url=f"https://m.weibo.cn/detail/{mid}",
                title=None,
                text=text,
                text_raw=raw,
                author=author,
                published_at=parse_site_time(" ".join(when.split())),
                reposts=_web_count(card, "feed_list_forward"),
                comments=_web_count(card, "feed_list_comment"),
                likes=_web_count(card, "feed_list_like"),
                region=None,
                thread_id=None,
                raw_ref=ref,
            )
        )
    return posts


def web_page_count(response: Response) -> int:
    """How many result pages the web search offers for this slice (its page list)."""
    return len(Selector(text=response.text).css('ul[node-type="feed_list_page_morelist"] li, ul.s-scroll li'))


class WeiboSpider(WageSpider):
    name = "weibo"
    Options = WeiboOptions

    # ------------------------------------------------------------------ parsing contract

    @classmethod
    def posts_from_response(cls, response: Response) -> list[PostItem]:
        body = response.text.lstrip()
        if body.startswith("{"):
            if "longTextContent" in body:
                return cls._extend_post(response)
            return [post for post, _ in search_page(response)]
        if "$render_data" in body:
            return detail_page(response)
        if "card-wrap" in body or "card-no-result" in body or "pl_feedlist_index" in body:
            return web_search_page(response)
        raise MalformedResponse("neither JSON nor a known Weibo page")

    @classmethod
    def _extend_post(cls, response: Response) -> list[PostItem]:
        """A saved extend answer alone: the text under the id from its URL (the rest is in the search page)."""
        post_id = (parse_qs(urlsplit(response.url).query).get("id") or [None])[0]
        raw = extend_text(response)
        if not post_id or raw is None:
            return []
        return [
            PostItem(
                source="weibo",
                external_id=post_id,
                url=f"https://m.weibo.cn/detail/{post_id}",
                title=None,
                text=html_to_text(raw),
                text_raw=raw,
                author=None,
                published_at=None,
                raw_ref=raw_reference(response.body, response.url),
            )
        ]

    # ------------------------------------------------------------------ mobile search

    def search_url(self, query: str, page: int) -> str:
        containerid = quote(f"100103type={self.options.search_type}&q={query}", safe="")
        return f"{self.base_url}/api/container/getIndex?containerid={containerid}&page_type=searchall&page={page}"

    async def start(self):
        for query in self.queries():
            qpass = self.open_pass(f"m:{query}")
            yield self.search_request(qpass, query, 1)
        for qpass in unfinished_passes(self.db, self.name, SLICE_PREFIX):
            yield self.slice_request(qpass, 1)

    def search_request(self, qpass: QueryPass, query: str, page: int):
        return self.request(
            self.search_url(query, page),
            self.parse_search,
            cb_kwargs={"qpass": qpass, "query": query, "page": page},
            headers={"Referer": f"{self.base_url}/", "Accept": "application/json"},
        )

    def parse_search(self, response: Response, qpass: QueryPass, query: str, page: int):
        pairs = self.safe_parse(response, search_page)
        if pairs is None:
            return
        posts = [post for post, _ in pairs]
        more = self.wants_more(qpass, posts)
        truncated = {p.external_id for p, cut in pairs if cut} if self.options.full_text else set()
        fresh = {p.external_id for p in self.fresh([p for p in posts if p.external_id in truncated])}
        for post in posts:
            yield self.full_text_request(post) if post.external_id in fresh else post
        if more and page < self.source_config.max_pages:
            yield self.search_request(qpass, query, page + 1)
            return
        if more:
            # The result cap is reached and the posts are still new: read the rest by time slice.
            dated = [p.published_at for p in posts if p.published_at]
            start = max(d for d in (qpass.floor, self.horizon()) if d)
            end = min(dated) if dated else None
            if end is not None and end > start:
                self.crawler.stats.inc_value("wagewatch/weibo_capped_queries")
                self.logger.info("query %r filled %d pages; slicing %s .. %s by day", query, page, start, end)
                for day_start, day_end in _day_slices(start, end):
                    yield self.slice_request(self.open_slice(query, day_start, day_end, "day", None), 1)
        self.close_pass(qpass)

    # ------------------------------------------------------------------ full text

    def full_text_request(self, post: PostItem):
        return self.request(
            f"{self.base_url}/detail/{post.external_id}",
            self.parse_detail,
            errback=self.full_text_failed,
            cb_kwargs={"post": post},
            meta={"post": post},
        )

    def parse_detail(self, response: Response, post: PostItem):
        full = self.safe_parse(response, detail_page)
        if full:
            yield _merged(post, full[0])
        elif not self.crawler.stats.get_value("wagewatch/blocked_reason"):
            yield self.request(
                f"{self.base_url}/statuses/extend?id={post.external_id}",
                self.parse_extend,
                errback=self.full_text_failed,
                cb_kwargs={"post": post},
                meta={"post": post},
            )

    def parse_extend(self, response: Response, post: PostItem):
        try:
            raw = extend_text(response)
        except MalformedResponse as exc:
            self.crawler.stats.inc_value("wagewatch/malformed")
            self.logger.warning("malformed response from %s: %s", response.url, exc)
            raw = None
        if raw:
            post.text, post.text_raw = html_to_text(raw), raw
        yield post

    def full_text_failed(self, failure):
        """The truncated text is better than no post: keep it when the full text cannot be had."""
        self.request_failed(failure)
        yield failure.request.meta["post"]

    # ------------------------------------------------------------------ web search time slices

    def open_slice(self, query: str, start: datetime, end: datetime, level: str, city: str | None) -> QueryPass:
        key = f"{SLICE_PREFIX}{query}|{start:%Y-%m-%d-%H}|{end:%Y-%m-%d-%H}|{city or 'all'}"
        payload = {"query": query, "start": start.isoformat(), "end": end.isoformat(), "level": level, "city": city}
        return self.open_pass(key, payload)

    def slice_url(self, qpass: QueryPass, page: int) -> str:
        p = qpass.payload
        start, end = (datetime.fromisoformat(p[k]).astimezone(CST) for k in ("start", "end"))
        city = self.options.city_codes.get(p["city"], 1000) if p["city"] else 1000
        return (
            f"{self.options.web_search_url.rstrip('/')}/weibo?q={quote(p['query'])}&typeall=1&suball=1"
            f"&timescope=custom:{start:%Y-%m-%d}-{start.hour}:{end:%Y-%m-%d}-{end.hour}"
            f"&region=custom:{self.options.province_code}:{city}&page={page}"
        )

    def slice_request(self, qpass: QueryPass, page: int, pages: int | None = None):
        return self.request(
            self.slice_url(qpass, page), self.parse_slice, cb_kwargs={"qpass": qpass, "page": page, "pages": pages}
        )

    def parse_slice(self, response: Response, qpass: QueryPass, page: int, pages: int | None):
        posts = self.safe_parse(response, web_search_page)
        if posts is None:
            return
        if pages is None:
            pages = max(web_page_count(response), 1 if posts else 0)
            children = self.split(qpass) if pages >= self.options.split_threshold_pages else []
            if children:
                yield from posts
                for child in children:
                    yield self.slice_request(child, 1)
                self.close_pass(qpass, forget=True)
                return
        # A slice is a closed window that Weibo does not sort by time: read all of its pages.
        yield from posts
        if posts and page < min(pages, self.source_config.max_pages):
            yield self.slice_request(qpass, page + 1, pages)
        else:
            self.close_pass(qpass, forget=True)

    def split(self, qpass: QueryPass) -> list[QueryPass]:
        """A full day becomes hours; a full hour becomes one slice per Shandong city; a full city-hour is
        read as far as Weibo lets us."""
        p = qpass.payload
        start, end = (datetime.fromisoformat(p[k]) for k in ("start", "end"))
        if p["level"] == "day":
            hours = []
            at = start
            while at < end:
                hours.append(self.open_slice(p["query"], at, min(at + timedelta(hours=1), end), "hour", None))
                at += timedelta(hours=1)
            return hours
        if p["level"] == "hour" and self.options.city_codes:
            return [self.open_slice(p["query"], start, end, "city", city) for city in self.options.city_codes]
        return []


def _day_slices(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Local calendar days (whole hours) covering start..end, newest first."""
    start = start.astimezone(CST).replace(minute=0, second=0, microsecond=0)
    end = end.astimezone(CST).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    slices = []
    at = start
    while at < end:
        next_day = (at + timedelta(days=1)).replace(hour=0)
        slices.append((at, min(next_day, end)))
        at = next_day
    return list(reversed(slices))


def _merged(listed: PostItem, full: PostItem) -> PostItem:
    """The detail page's post, keeping what only the search result had."""
    for field in ("author", "published_at", "reposts", "comments", "likes", "region"):
        if getattr(full, field) is None:
            setattr(full, field, getattr(listed, field))
    return full
