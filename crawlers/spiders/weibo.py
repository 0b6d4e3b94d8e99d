"""Sina Weibo mobile search (m.weibo.cn container API, JSON)."""

from __future__ import annotations

import json
from urllib.parse import quote

import scrapy
from scrapy.http import Response

from crawlers.dates import parse_site_time
from crawlers.items import PostItem
from crawlers.pipelines import raw_reference
from crawlers.spiders.base import MalformedResponse, WageSpider
from crawlers.textutil import html_to_text, to_int


def _mblogs(cards: list) -> list[dict]:
    """Posts are cards of type 9, at the top level or inside a card_group (type 11 wrappers)."""
    found = []
    for card in cards or []:
        if not isinstance(card, dict):
            continue
        if card.get("card_type") == 9 and isinstance(card.get("mblog"), dict):
            found.append(card["mblog"])
        for inner in card.get("card_group") or []:
            if isinstance(inner, dict) and inner.get("card_type") == 9 and isinstance(inner.get("mblog"), dict):
                found.append(inner["mblog"])
    return found


def _region(mblog: dict) -> str | None:
    region = (mblog.get("region_name") or "").strip()
    return region.removeprefix("发布于").strip() or None


class WeiboSpider(WageSpider):
    name = "weibo"

    def search_url(self, query: str, page: int) -> str:
        search_type = self.source_config.options.get("search_type", 61)
        containerid = quote(f"100103type={search_type}&q={query}", safe="")
        return f"{self.base_url}/api/container/getIndex?containerid={containerid}&page_type=searchall&page={page}"

    async def start(self):
        for query in self.queries():
            yield scrapy.Request(self.search_url(query, 1), callback=self.parse, cb_kwargs={"query": query, "page": 1})

    def parse(self, response: Response, query: str, page: int):
        posts = self.safe_posts(response)
        if posts is None:
            return
        yield from posts
        if page < self.source_config.max_pages and self.worth_next_page(posts):
            yield scrapy.Request(self.search_url(query, page + 1), callback=self.parse,
                                 cb_kwargs={"query": query, "page": page + 1})

    @classmethod
    def posts_from_response(cls, response: Response) -> list[PostItem]:
        try:
            payload = json.loads(response.text)
        except ValueError as exc:
            raise MalformedResponse(f"not JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise MalformedResponse("JSON is not an object")
        if payload.get("ok") != 1:
            return []  # {"ok": 0, "msg": "这里还没有内容"} is the end of results
        data = payload.get("data")
        if not isinstance(data, dict):
            raise MalformedResponse("missing data object")
        ref = raw_reference(response.body, response.url)
        return [cls._post(mblog, ref) for mblog in _mblogs(data.get("cards")) if mblog.get("id") or mblog.get("mid")]

    @staticmethod
    def _post(mblog: dict, ref: str) -> PostItem:
        post_id = str(mblog.get("id") or mblog.get("mid"))
        user = mblog.get("user") if isinstance(mblog.get("user"), dict) else {}
        raw = mblog.get("text") or ""
        return PostItem(
            source="weibo",
            external_id=post_id,
            url=f"https://m.weibo.cn/detail/{post_id}",
            title=None,
            text=html_to_text(raw),
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
