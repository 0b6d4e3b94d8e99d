"""人民网领导留言板 (liuyan.people.com.cn): keyword search and the boards of Shandong's leaders through the
front end's signed JSON POSTs, kept to Shandong boards (and topics when configured), then each message's
detail with the official reply and its handling status (docs/crawlers.md, Sources)."""

from __future__ import annotations

import re

from pydantic import Field
from scrapy.http import JsonRequest, Response

from wagewatch.crawlers.blocks import BlockedError
from wagewatch.crawlers.dates import from_unix
from wagewatch.crawlers.items import PostItem
from wagewatch.crawlers.pipelines import raw_reference
from wagewatch.crawlers.signing import liuyan_body
from wagewatch.crawlers.spiders.base import MalformedResponse, SpiderOptions, WageSpider, json_object
from wagewatch.crawlers.state import QueryPass
from wagewatch.crawlers.textutil import as_text, html_to_text

SEARCH_PATH = "/v2/threads/search"
LIST_PATH = "/v1/threads/list/df"
CONTENT_PATH = "/v1/threads/content"
UNANSWERED = ("待回复", "未回复", "待办理", "")
_PLACE = re.compile(r"^((?:[^省市]+省)?(?:[^市]+市)?(?:[^区县]+[区县])?)")


class LiuyanOptions(SpiderOptions):
    app_code: str = "PC42ce3bfa4980a9"  # read from the site's window.SITE_CONFIG; changes with front-end releases
    search: bool = True  # keyword search over all boards
    fids: list[int] = Field(default_factory=list)  # Shandong leaders' boards (threads/list?fid=N) to list
    type_id: str = ""  # 留言类型 filter of the list and search ('' = all)
    domain_id: str = ""  # 领域 (topic) filter of the search ('' = all)
    topics: list[str] = Field(default_factory=list)  # keep only these domainName values when set
    rows: int = Field(10, ge=1, le=50)


def thread_url(tid: str) -> str:
    return f"https://liuyan.people.com.cn/threads/content?tid={tid}"


def board_place(forum: str | None) -> str | None:
    """The place a board belongs to: '山东省济南市委书记' → '山东省济南市'."""
    match = _PLACE.match(as_text(forum))
    return match[1] if match and match[1] else None


def _payload(response: Response) -> dict:
    payload = json_object(response)
    code = str(payload.get("code", "200"))
    if code.startswith("SN"):
        # The signature or envelope was refused: the appCode or the signing rule changed.
        raise BlockedError(f"留言板拒绝签名请求：{code} {payload.get('msg') or ''}".strip())
    if code not in ("200", "0"):
        raise MalformedResponse(f"code {code}: {payload.get('msg')}")
    return payload


def _result(payload: dict) -> dict:
    result = payload.get("resultData", payload.get("data"))
    if not isinstance(result, dict):
        raise MalformedResponse("missing resultData/data object")
    return result


def message_post(item: dict, ref: str) -> PostItem:
    """A list or search item as the citizen's message; the board, type and topic keep the place."""
    tid = str(item["tid"])
    facts = "；".join(
        f"{label}：{item[key]}"
        for key, label in (
            ("forumName", "留言对象"),
            ("typeName", "类型"),
            ("domainName", "领域"),
            ("stateInfo", "状态"),
        )
        if item.get(key)
    )
    text = html_to_text(item.get("content"))
    return PostItem(
        source="liuyan",
        external_id=tid,
        url=thread_url(tid),
        title=item.get("subject"),
        text=f"{text}\n{facts}" if facts else text,
        text_raw=item.get("content"),
        author=item.get("nickName"),
        published_at=from_unix(item.get("createDateline") or item.get("dateline")),
        region=board_place(item.get("forumName")),
        thread_id=tid,
        raw_ref=ref,
    )


def listed_items(response: Response) -> list[dict]:
    """Items of a list (`resultData.data[]`) or search (`data.data[]`) answer."""
    items = _result(_payload(response)).get("data")
    if not isinstance(items, list):
        raise MalformedResponse("missing data list")
    return [i for i in items if isinstance(i, dict) and i.get("tid")]


def detail_posts(response: Response, listed: dict | None = None) -> list[PostItem]:
    """/v1/threads/content: the message (dataType 1) and each official reply (dataType 4) with its unit
    and handling status. Replies get ids '<tid>:reply:<n>' so a reply that arrives later is a new post."""
    result = _result(_payload(response))
    entries = result.get("contentList")
    if not isinstance(entries, list):
        raise MalformedResponse("missing contentList")
    ref = raw_reference(response.body, response.url)
    base = dict(listed or {})
    for key in ("tid", "subject", "forumName", "typeName", "domainName", "stateInfo"):
        base.setdefault(key, result.get(key))
    posts: list[PostItem] = []
    replies = 0
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        tid = str(entry.get("tid") or base.get("tid") or "")
        if not tid:
            raise MalformedResponse("no tid in thread content")
        if entry.get("dataType") == 1:
            posts.append(
                message_post({**base, **{k: v for k, v in entry.items() if v not in (None, "")}, "tid": tid}, ref)
            )
        elif entry.get("dataType") == 4:
            replies += 1
            status = entry.get("stateInfo") or base.get("stateInfo")
            text = html_to_text(entry.get("content"))
            posts.append(
                PostItem(
                    source="liuyan",
                    external_id=f"{tid}:reply:{replies}",
                    url=thread_url(tid),
                    title=f"回复：{base.get('subject') or ''}".rstrip("：") or None,
                    text=f"办理状态：{status}\n{text}" if status else text,
                    text_raw=entry.get("content"),
                    author=entry.get("organization") or entry.get("nickName"),
                    published_at=from_unix(entry.get("dateline")),
                    region=board_place(base.get("forumName")),
                    thread_id=tid,
                    raw_ref=ref,
                )
            )
    return posts


class LiuyanSpider(WageSpider):
    name = "liuyan"
    Options = LiuyanOptions

    @classmethod
    def posts_from_response(cls, response: Response) -> list[PostItem]:
        body = response.text
        if '"contentList"' in body:
            return detail_posts(response)
        ref = raw_reference(response.body, response.url)
        return [message_post(item, ref) for item in listed_items(response)]

    # ------------------------------------------------------------------ requests

    def api_request(self, path: str, param: dict, callback, cb_kwargs: dict, query: str = "", **kwargs):
        referer = f"https://liuyan.people.com.cn/threads/list?fid={param.get('fid') or ''}"
        return JsonRequest(
            f"{self.base_url}{path}{query}",
            method="POST",
            body=liuyan_body(path, param, self.options.app_code).encode("utf-8"),
            headers={
                "Content-Type": "application/json;charset=UTF-8",
                "Referer": referer,
                "Origin": "https://liuyan.people.com.cn",
                "token": "",
            },
            callback=callback,
            errback=kwargs.pop("errback", self.request_failed),
            cb_kwargs=cb_kwargs,
            **kwargs,
        )

    def search_request(self, qpass: QueryPass, query: str, page: int):
        # Key order matters: the signature covers the param string exactly as sent.
        param = {
            "position": 0,
            "keywords": query,
            "fid": "",
            "domainId": self.options.domain_id,
            "typeId": self.options.type_id,
            "timeRange": "",
            "ansChecked": "",
            "stTime": "",
            "sortType": "0",
            "page": page,
            "rows": self.options.rows,
        }
        return self.api_request(
            SEARCH_PATH,
            param,
            self.parse_listing,
            {"qpass": qpass, "page": page, "next_request": ("search", query)},
            query="?sortType=0",
        )

    def list_request(self, qpass: QueryPass, fid: int, last_item: str, page: int):
        param = {
            "fid": fid,
            "showUnAnswer": 1,
            "typeId": self.options.type_id or 5,
            "lastItem": last_item,
            "position": 0,
            "rows": self.options.rows,
            "orderType": 2,
        }
        return self.api_request(
            LIST_PATH, param, self.parse_listing, {"qpass": qpass, "page": page, "next_request": ("list", fid)}
        )

    def detail_request(self, item: dict):
        return self.api_request(
            CONTENT_PATH,
            {"tid": str(item["tid"])},
            self.parse_detail,
            {"item": item},
            errback=self.detail_failed,
            meta={"item": item},
        )

    async def start(self):
        if self.options.search:
            for query in self.queries():
                yield self.search_request(self.open_pass(f"search:{query}"), query, 1)
        for fid in self.options.fids:
            yield self.list_request(self.open_pass(f"board:{fid}"), fid, "", 1)

    # ------------------------------------------------------------------ callbacks

    def wanted(self, item: dict) -> bool:
        """A Shandong board, and the configured topics when there are any."""
        forum = item.get("forumName") or ""
        in_shandong = "山东" in forum or any(place in forum for place in self.places)
        return in_shandong and (not self.options.topics or item.get("domainName") in self.options.topics)

    def parse_listing(self, response: Response, qpass: QueryPass, page: int, next_request: tuple):
        items = self.safe_parse(response, listed_items)
        if items is None:
            return
        ref = raw_reference(response.body, response.url)
        kept = [i for i in items if self.wanted(i)]
        more = self.wants_more(
            qpass,
            [message_post(i, ref) for i in kept],
            dropped=[message_post(i, ref) for i in items if not self.wanted(i)],
        )
        known = self.known_ids([str(i["tid"]) for i in kept] + [f"{i['tid']}:reply:1" for i in kept])
        for item in kept:
            tid = str(item["tid"])
            answered = (item.get("stateInfo") or "") not in UNANSWERED or bool(item.get("lastAnswerTime"))
            if tid not in known or (answered and f"{tid}:reply:1" not in known):
                yield self.detail_request(item)
        if more and len(items) >= self.options.rows and page < self.source_config.max_pages:
            kind, value = next_request
            if kind == "search":
                yield self.search_request(qpass, value, page + 1)
            else:
                yield self.list_request(qpass, value, str(items[-1]["tid"]), page + 1)
        else:
            self.close_pass(qpass)

    def parse_detail(self, response: Response, item: dict):
        posts = self.safe_parse(response, lambda r: detail_posts(r, item))
        if posts is None:
            yield message_post(item, raw_reference(response.body, response.url))
            return
        yield from posts

    def detail_failed(self, failure):
        """Without its detail the listed message is kept (its reply comes with a later run)."""
        self.request_failed(failure)
        item = failure.request.meta["item"]
        yield message_post(item, f"listing {failure.request.url}")
