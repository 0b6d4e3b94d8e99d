"""新浪黑猫投诉 (tousu.sina.com.cn): the signed complaint search, JSON (docs/crawlers.md, Sources)."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from pydantic import Field
from scrapy.http import Response

from wagewatch.crawlers.blocks import BlockedError
from wagewatch.crawlers.dates import from_unix
from wagewatch.crawlers.items import PostItem
from wagewatch.crawlers.pipelines import raw_reference
from wagewatch.crawlers.signing import heimao_signature, random_token
from wagewatch.crawlers.spiders.base import MalformedResponse, SpiderOptions, WageSpider, json_object
from wagewatch.crawlers.state import QueryPass
from wagewatch.crawlers.textutil import html_to_text


class HeimaoOptions(SpiderOptions):
    # The constant the site's script mixes into the signature; it has changed before (docs/crawlers.md, Sources).
    secret: str = "$d6eb7ff91ee257475%"
    page_size: int = Field(10, ge=1, le=50)


def complaint_url(sn: str) -> str:
    return f"https://tousu.sina.com.cn/complaint/view/{sn}/"


def _data(response: Response) -> dict:
    if response.text.lstrip()[:1] == "<":
        raise BlockedError("返回HTML登录页而非JSON（需要登录Cookie）")
    result = json_object(response).get("result")
    if not isinstance(result, dict):
        raise MalformedResponse("missing result object")
    status = result.get("status") if isinstance(result.get("status"), dict) else {}
    if status.get("code") not in (None, 0, "0"):
        message = str(status.get("msg") or "")
        if "登录" in message or "签名" in message or "频繁" in message:
            raise BlockedError(f"黑猫投诉拒绝：{status.get('code')} {message}")
        raise MalformedResponse(f"status {status.get('code')}: {message}")
    data = result.get("data")
    if not isinstance(data, dict):
        raise MalformedResponse("missing result.data")
    return data


def complaints(response: Response) -> tuple[list[PostItem], int]:
    """`result.data.lists[].main` as posts (keyword highlighting stripped), and the number of pages."""
    data = _data(response)
    ref = raw_reference(response.body, response.url)
    posts = []
    lists = data.get("lists")
    if not isinstance(lists, list):
        raise MalformedResponse("result.data.lists is not a list")
    for entry in lists:
        main = entry.get("main") if isinstance(entry, dict) else None
        if not isinstance(main, dict) or not main.get("sn"):
            continue
        author = entry.get("author") if isinstance(entry.get("author"), dict) else {}
        facts = "；".join(
            f"{label}：{html_to_text(str(main[key]))}"
            for key, label in (
                ("cotitle", "投诉对象"),
                ("issue", "投诉问题"),
                ("appeal", "投诉要求"),
                ("status", "状态"),
            )
            if main.get(key) not in (None, "")
        )
        summary = html_to_text(main.get("summary"))
        sn = str(main["sn"])
        posts.append(
            PostItem(
                source="heimao",
                external_id=sn,
                url=complaint_url(sn),
                title=html_to_text(main.get("title")) or None,
                text=f"{summary}\n{facts}" if facts else summary,
                text_raw=main.get("summary"),
                author=author.get("title") or author.get("nickname"),
                published_at=from_unix(main.get("timestamp")),
                thread_id=None,
                raw_ref=ref,
            )
        )
    pager = data.get("pager") if isinstance(data.get("pager"), dict) else {}
    try:
        pages = int(pager.get("page_amount") or 0)
    except (TypeError, ValueError):
        pages = 0
    return posts, pages


class HeimaoSpider(WageSpider):
    name = "heimao"
    Options = HeimaoOptions

    @classmethod
    def posts_from_response(cls, response: Response) -> list[PostItem]:
        return complaints(response)[0]

    def search_url(self, query: str, page: int) -> str:
        ts = str(int(time.time() * 1000))
        rs = random_token()
        size = self.options.page_size
        signature = heimao_signature(self.options.secret, size, page, ts, rs, query)
        params = {"ts": ts, "rs": rs, "signature": signature, "keywords": query, "page_size": size, "page": page}
        return f"{self.base_url}/api/index/s?{urlencode(params)}"

    def search_request(self, qpass: QueryPass, query: str, page: int):
        return self.request(
            self.search_url(query, page),
            self.parse_search,
            cb_kwargs={"qpass": qpass, "query": query, "page": page},
            headers={"Referer": f"{self.base_url}/index/search?keywords={query}"},
        )

    async def start(self):
        for query in self.queries():
            yield self.search_request(self.open_pass(f"search:{query}"), query, 1)

    def parse_search(self, response: Response, qpass: QueryPass, query: str, page: int):
        parsed = self.safe_parse(response, complaints)
        if parsed is None:
            return
        posts, pages = parsed
        more = self.wants_more(qpass, posts)
        yield from posts
        if more and page < min(pages, self.source_config.max_pages):
            yield self.search_request(qpass, query, page + 1)
        else:
            self.close_pass(qpass)
