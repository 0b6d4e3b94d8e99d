"""Baidu Tieba: keyword search and the thread lists of Shandong forums, then every floor of the threads
that matter (with IP属地) and their floor replies (楼中楼). Speaks the classic PC HTML or, when the web
client's signing secret is configured, the signed JSON endpoints the PC site moved to in 2026."""

from __future__ import annotations

import os
import re
from typing import Literal
from urllib.parse import quote, urlencode

from pydantic import Field
from scrapy import FormRequest
from scrapy.http import Response

from wagewatch.crawlers.items import PostItem
from wagewatch.crawlers.pipelines import raw_reference
from wagewatch.crawlers.signing import tieba_sign
from wagewatch.crawlers.spiders import tieba_pages as pages
from wagewatch.crawlers.spiders.base import MalformedResponse, SpiderOptions, WageSpider, matches_keywords
from wagewatch.crawlers.state import QueryPass

# A /p/comment answer: a bare run of <li> items (floor replies, then the pager), no <html> around them.
_REPLY_FRAGMENT = re.compile(r'^(?:<!--.*?-->\s*)*<li\b[^>]*class="[^"]*\blzl_(?:single_post|li_pager)\b', re.S)


class TiebaOptions(SpiderOptions):
    mode: Literal["auto", "html", "api"] = "auto"  # auto: the signed API when its secret is set, else HTML
    sign_secret_env: str = "WAGEWATCH_TIEBA_SIGN_SECRET"
    search: bool = True  # full-site keyword search
    search_sort: int = 1  # sm=1: newest first
    forums: list[str] = Field(default_factory=list)  # forum names without 吧; threads are kept by keyword
    thread_pages: int = Field(5, ge=1)  # most pages of one thread read per run (newest first)
    reply_pages: int = Field(3, ge=1)  # most pages of one floor's replies read per run


class TiebaSpider(WageSpider):
    name = "tieba"
    Options = TiebaOptions

    # ------------------------------------------------------------------ parsing contract

    @classmethod
    def posts_from_response(cls, response: Response) -> list[PostItem]:
        """Any Tieba page or API answer, recognised by its content."""
        body = response.text.lstrip()
        if body.startswith("{"):
            if '"card_list"' in body:
                return pages.api_search(response)
            if '"thread_list"' in body:
                ref = raw_reference(response.body, response.url)
                return [t.post(ref) for t in pages.api_forum_threads(response)]
            if '"post_list"' in body:
                return pages.api_thread(response).posts
            pages.api_tbs(response)
            return []
        if "pagelet_html_frs-list/pagelet/thread_list" in body:
            ref = raw_reference(response.body, response.url)
            return [t.post(ref) for t in pages.forum_threads(response)]
        if _REPLY_FRAGMENT.match(body):
            return pages.reply_fragment(response)[0]
        if "j_l_post" in body:
            return pages.thread_page(response).posts
        if "s_post" in body or "search_noresult" in body:
            return pages.search_hits(response)
        raise MalformedResponse("not a known Tieba page")

    # ------------------------------------------------------------------ flow

    @property
    def secret(self) -> str | None:
        return os.environ.get(self.options.sign_secret_env) or None

    async def start(self):
        if self.options.mode == "api" and not self.secret:
            self.crawler.stats.set_value(
                "wagewatch/setup_error", f"贴吧接口模式需要签名密钥（环境变量 {self.options.sign_secret_env}）"
            )
            return
        if self.options.mode == "api" or (self.options.mode == "auto" and self.secret):
            yield self.request(self.signed_url("/c/s/pc/sync", {}), self.parse_sync)
            return
        for request in self.listing_requests(tbs=None):
            yield request

    def parse_sync(self, response: Response):
        tbs = self.safe_parse(response, pages.api_tbs)
        if tbs:
            yield from self.listing_requests(tbs)

    def listing_requests(self, tbs: str | None):
        if self.options.search:
            for query in self.queries():
                yield self.search_request(self.open_pass(f"search:{query}"), query, 1, tbs)
        for forum in self.options.forums:
            yield self.forum_request(self.open_pass(f"forum:{forum}"), forum, 1, tbs)

    # ------------------------------------------------------------------ requests

    def signed(self, params: dict, tbs: str | None) -> dict:
        params = {**params, "subapp_type": "pc", "_client_type": "20", **({"tbs": tbs} if tbs else {})}
        return {**params, "sign": tieba_sign(params, self.secret or "")}

    def signed_url(self, path: str, params: dict, tbs: str | None = None) -> str:
        return f"{self.base_url}{path}?{urlencode(self.signed(params, tbs))}"

    def signed_post(self, path: str, params: dict, tbs: str, callback, cb_kwargs: dict, **kwargs):
        return FormRequest(
            f"{self.base_url}{path}",
            formdata={k: str(v) for k, v in self.signed(params, tbs).items()},
            callback=callback,
            errback=kwargs.pop("errback", self.request_failed),
            cb_kwargs=cb_kwargs,
            **kwargs,
        )

    def search_request(self, qpass: QueryPass, query: str, page: int, tbs: str | None):
        kwargs = {"qpass": qpass, "query": query, "page": page, "tbs": tbs}
        if tbs is not None:
            params = {
                "word": query,
                "pn": page,
                "rn": 20,
                "st": 5,
                "needbrand": 1,
                "sug_type": 0,
                "come_from": "search",
            }
            return self.request(
                self.signed_url("/mo/q/search/multsearch", params, tbs), self.parse_search, cb_kwargs=kwargs
            )
        url = f"{self.base_url}/f/search/res?ie=utf-8&qw={quote(query)}&rn=20&pn={page}&sm={self.options.search_sort}"
        return self.request(url, self.parse_search, cb_kwargs=kwargs)

    def forum_request(self, qpass: QueryPass, forum: str, page: int, tbs: str | None):
        kwargs = {"qpass": qpass, "forum": forum, "page": page, "tbs": tbs}
        if tbs is not None:
            params = {"kw": forum, "pn": page, "rn": 30, "sort_type": 1, "is_newfrs": 1, "is_newfeed": 0, "rn_need": 30}
            return self.signed_post("/c/f/frs/page_pc", params, tbs, self.parse_forum, kwargs)
        return self.request(
            f"{self.base_url}/f?kw={quote(forum)}&ie=utf-8&pn={50 * (page - 1)}", self.parse_forum, cb_kwargs=kwargs
        )

    def thread_request(
        self,
        tid: str,
        tbs: str | None,
        page: int = 1,
        pid: str | None = None,
        hit: PostItem | None = None,
        backwards_from: int | None = None,
    ):
        """A thread page (by number, or the page holding post `pid`). `hit` is the post that led here, kept
        should the thread page fail; `backwards_from` marks pages read from the last one backwards."""
        kwargs = {"tbs": tbs, "hit": hit, "backwards_from": backwards_from}
        extra = {"errback": self.hit_thread_failed, "meta": {"hit": hit}} if hit is not None else {}
        if tbs is not None:
            params = {"kz": tid, "pn": page, "lz": 0, "r": 0, "rn": 30}
            return self.signed_post("/c/f/pb/page_pc", params, tbs, self.parse_thread, kwargs, **extra)
        query = f"pid={pid}" if pid else f"pn={page}"
        return self.request(f"{self.base_url}/p/{tid}?{query}", self.parse_thread, cb_kwargs=kwargs, **extra)

    def reply_request(self, tid: str, pid: str, forum_id: str | None, page: int):
        url = f"{self.base_url}/p/comment?tid={tid}&pid={pid}&fid={forum_id or ''}&pn={page}"
        return self.request(
            url, self.parse_replies, cb_kwargs={"tid": tid, "pid": pid, "forum_id": forum_id, "page": page}
        )

    # ------------------------------------------------------------------ callbacks

    def parse_search(self, response: Response, qpass: QueryPass, query: str, page: int, tbs: str | None):
        hits = self.safe_parse(response, pages.api_search if tbs else pages.search_hits)
        if hits is None:
            return
        more = self.wants_more(qpass, hits)
        for hit in self.fresh(self.in_window(None, hits)):
            # The thread page shows the hit with its IP属地 and the floors around it.
            pid = None if hit.external_id.startswith("t") else hit.external_id
            yield self.thread_request(hit.thread_id, tbs, pid=pid, hit=hit)
        if more and page < self.source_config.max_pages:
            yield self.search_request(qpass, query, page + 1, tbs)
        else:
            self.close_pass(qpass)

    def hit_thread_failed(self, failure):
        """Without its thread page the post that led to it is kept."""
        self.request_failed(failure)
        yield failure.request.meta["hit"]

    def parse_forum(self, response: Response, qpass: QueryPass, forum: str, page: int, tbs: str | None):
        threads = self.safe_parse(response, pages.api_forum_threads if tbs else pages.forum_threads)
        if threads is None:
            return
        ref = raw_reference(response.body, response.url)
        # Forums order threads by their last reply: a thread is worth reading when it moved since the last
        # completed pass. Pinned threads stay on top whatever their age and decide nothing.
        moved = False
        for thread in threads:
            when = thread.last_reply or thread.created
            if thread.pinned or not self.within(qpass, when):
                continue
            moved = True
            qpass.saw(when)
            if matches_keywords(f"{thread.title} {thread.abstract}", self.keywords):
                yield self.thread_request(thread.tid, tbs, hit=thread.post(ref))
        if moved and page < self.source_config.max_pages:
            yield self.forum_request(qpass, forum, page + 1, tbs)
        else:
            self.close_pass(qpass)

    def parse_thread(self, response: Response, tbs: str | None, hit: PostItem | None, backwards_from: int | None):
        thread = self.safe_parse(response, pages.api_thread if tbs else pages.thread_page)
        if thread is None:
            if hit is not None:
                yield hit
            return
        more = self.wants_more(None, thread.posts)
        if hit is not None and hit.external_id not in {p.external_id for p in thread.posts}:
            yield hit
        yield from thread.posts
        for pid in thread.more_replies:
            yield self.reply_request(thread.tid, pid, thread.forum_id, 1)
        # Floors run oldest first, so new ones are on the last pages: after page 1 read from the last page
        # backwards while pages still bring new floors.
        if backwards_from is None and thread.page == 1 and thread.pages > 1:
            yield self.thread_request(thread.tid, tbs, page=thread.pages, backwards_from=thread.pages)
        elif (
            backwards_from is not None
            and more
            and thread.page > 2
            and backwards_from - thread.page + 1 < self.options.thread_pages
        ):
            yield self.thread_request(thread.tid, tbs, page=thread.page - 1, backwards_from=backwards_from)

    def parse_replies(self, response: Response, tid: str, pid: str, forum_id: str | None, page: int):
        parsed = self.safe_parse(response, pages.reply_fragment)
        if parsed is None:
            return
        replies, total = parsed
        yield from replies
        if page < min(total, self.options.reply_pages):
            yield self.reply_request(tid, pid, forum_id, page + 1)
