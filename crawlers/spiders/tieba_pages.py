"""Parsers of Baidu Tieba's pages: the classic PC HTML (search results, forum thread list, thread pages,
floor replies) and the signed JSON of the 2026 PC site (docs/crawlers.md, Sources). Pure functions: response in,
posts out."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from parsel import Selector
from scrapy.http import Response

from wagewatch.crawlers.blocks import BlockedError
from wagewatch.crawlers.dates import from_unix, parse_site_time
from wagewatch.crawlers.items import PostItem
from wagewatch.crawlers.pipelines import raw_reference
from wagewatch.crawlers.spiders.base import MalformedResponse, html_text, json_object
from wagewatch.crawlers.textutil import html_to_text, to_int

SITE = "https://tieba.baidu.com"
_COMMENTED_LIST = re.compile(
    r'<code[^>]*id="pagelet_html_frs-list/pagelet/thread_list"[^>]*>\s*<!--(.*?)-->\s*</code>', re.S
)
_PAGE_TITLE_FORUM = re.compile(r"【([^【】]+?)吧】_百度贴吧")
_DATE_TIME = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}\s+\d{1,2}:\d{2}$")
_FLOOR = re.compile(r"^(\d+)楼$")
_LOOSE_PAIR = re.compile(r"'(\w+)'\s*:\s*'([^']*)'")
_IMAGE_TIP = re.compile(r'<div class="replace_tip"[^>]*>.*?</div>', re.S)  # "点击展开，查看完整图片"


def _data_field(raw: str | None) -> dict:
    """A `data-field` attribute: JSON (entity-escaped in the page; parsel unescapes it)."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _reply_field(raw: str | None) -> dict[str, str]:
    """A floor reply's `data-field`: JSON in the /p/comment fragment ({"spid":…,"showname":"\\u…"}, entity-
    escaped in the page), or the single-quoted object thread pages show inline ({'spid':'1'}), not JSON."""
    field = _data_field(raw) or dict(_LOOSE_PAIR.findall(raw or ""))
    return {k: str(v) for k, v in field.items() if v is not None and not isinstance(v, (dict, list))}


def _titled(title: str, forum: str | None) -> str:
    """Thread titles as the site's own page title shows them: '标题【济南吧】' (the forum often names the place)."""
    return f"{title}【{forum}吧】" if forum else title


@dataclass
class ThreadSummary:
    """One thread of a forum list: enough to decide whether its pages are worth reading."""

    tid: str
    first_post_id: str | None
    title: str
    abstract: str
    author: str | None
    replies: int | None
    created: datetime | None
    last_reply: datetime | None
    pinned: bool
    forum: str | None

    def post(self, ref: str) -> PostItem:
        return PostItem(
            source="tieba",
            external_id=self.first_post_id or f"t{self.tid}",
            url=f"{SITE}/p/{self.tid}",
            title=_titled(self.title, self.forum),
            text="\n".join(t for t in (self.title, self.abstract) if t),
            author=self.author,
            published_at=self.created,
            comments=self.replies,
            thread_id=self.tid,
            raw_ref=ref,
        )


@dataclass
class ThreadPage:
    """A thread page: its floors and floor replies, where it is in the thread, and which floors have more
    replies than the page shows."""

    tid: str
    forum_id: str | None
    page: int
    pages: int
    posts: list[PostItem]
    more_replies: list[str]  # post ids of floors with replies beyond those shown inline


# ---------------------------------------------------------------------------- classic HTML


def forum_threads(response: Response) -> list[ThreadSummary]:
    """/f?kw=<forum>: the thread list sits inside an HTML comment in a pagelet <code> element."""
    match = _COMMENTED_LIST.search(response.text)
    if not match:
        raise MalformedResponse("no commented thread_list pagelet")
    sel = Selector(text=match[1])
    forum = (parse_qs(urlsplit(response.url).query).get("kw") or [None])[0]
    forum_meta = re.search(r"PageData\.forum\s*=\s*\{[^}]*'name':\s*\"([^\"]*)\"", response.text)
    if forum_meta:
        forum = json.loads(f'"{forum_meta[1]}"')
    threads = []
    for li in sel.css("li.j_thread_list"):
        field = _data_field(li.attrib.get("data-field"))
        tid = str(field.get("id") or li.attrib.get("data-tid") or "")
        title = li.css("a.j_th_tit::attr(title)").get() or li.css("a.j_th_tit::text").get() or ""
        if not tid or not title:
            continue
        threads.append(
            ThreadSummary(
                tid=tid,
                first_post_id=str(field["first_post_id"]) if field.get("first_post_id") else None,
                title=title.strip(),
                abstract=" ".join(li.css("div.threadlist_abs ::text").getall()).strip(),
                author=field.get("author_nickname")
                or field.get("author_name")
                or li.css("a.frs-author-name::text").get(),
                replies=to_int(field.get("reply_num", li.css("span.threadlist_rep_num::text").get())),
                created=parse_site_time((li.css("span.is_show_create_time::text").get() or "").strip()),
                last_reply=parse_site_time((li.css("span.threadlist_reply_date::text").get() or "").strip()),
                pinned=bool(field.get("is_top")) or bool(li.css("i.icon-top")),
                forum=forum,
            )
        )
    if not threads:  # a forum always lists threads (pinned ones at least): an empty list is a new layout
        raise MalformedResponse("thread_list pagelet without a readable thread (li.j_thread_list)")
    return threads


def search_hits(response: Response) -> list[PostItem]:
    """/f/search/res: one `div.s_post` per matching post (forum and author links are GBK-encoded, so the
    names are read from the link text)."""
    sel = Selector(text=response.text)
    posts_div = sel.css("div.s_post")
    if not posts_div and not sel.css("div.s_post_list, div.search_noresult"):
        raise MalformedResponse("no s_post results, no result list and no no-result notice")
    ref = raw_reference(response.body, response.url)
    posts = []
    for node in posts_div:
        link = node.css("span.p_title a")
        href = link.attrib.get("href", "") if link else ""
        tid = link.attrib.get("data-tid") if link else None
        pid = re.search(r"pid=(\d+)", href)
        if not tid or not pid:
            continue
        forum = " ".join(node.css("a.p_forum ::text").getall()).strip() or None
        author_link = node.css('a[href*="/home/main"]')
        posts.append(
            PostItem(
                source="tieba",
                external_id=pid[1],
                url=f"{SITE}/p/{tid}?pid={pid[1]}#{pid[1]}",
                title=_titled(html_to_text(link[0].get()), forum),
                text=html_to_text(node.css("div.p_content").get()),
                author=" ".join(author_link[0].css("::text").getall()).strip() if author_link else None,
                published_at=parse_site_time((node.css("font.p_date::text").get() or "").strip()),
                thread_id=tid,
                raw_ref=ref,
            )
        )
    if posts_div and not posts:
        raise MalformedResponse("s_post results without thread and post ids")
    return posts


def _tail(floor: Selector) -> tuple[str | None, datetime | None, int | None]:
    """IP属地, time and floor number from a floor's tail ('IP属地:广东', '1楼', '2024-08-05 16:56')."""
    region = when = number = None
    for span in floor.css("div.post-tail-wrap span, div.core_reply_tail span"):
        text = " ".join(span.css("::text").getall()).strip()
        if text.startswith("IP属地"):
            region = text.split(":", 1)[-1].split("：", 1)[-1].strip() or None
        elif _DATE_TIME.match(text):
            when = parse_site_time(text)
        elif m := _FLOOR.match(text):
            number = int(m[1])
    return region, when, number


def _reply_posts(nodes, tid: str, pid: str | None, ref: str) -> list[PostItem]:
    """Floor replies (楼中楼) of floor `pid`: each `li.lzl_single_post` with its data-field, text (which may
    start with '回复 <a>name</a> :' and hold smiley images) and time ("2024-8-6 22:11", no zero padding)."""
    posts = []
    for li in nodes:
        field = _reply_field(li.attrib.get("data-field"))
        spid = field.get("spid")
        if not spid:
            continue
        floor = field.get("pid") or pid
        posts.append(
            PostItem(
                source="tieba",
                external_id=spid,
                title=None,
                url=f"{SITE}/p/{tid}?pid={floor or spid}#{spid}"
                if tid
                else f"{SITE}/p/comment?pid={floor or ''}#{spid}",
                # the fragment's source lines are layout, not line breaks: "回复 name :text"
                text=" ".join(html_to_text(li.css("span.lzl_content_main").get()).split()),
                author=field.get("showname") or field.get("user_name") or None,
                published_at=parse_site_time(" ".join((li.css("span.lzl_time::text").get() or "").split())),
                thread_id=tid or None,
                raw_ref=ref,
            )
        )
    if nodes and not posts:
        raise MalformedResponse("floor replies without a readable data-field (no spid)")
    return posts


def thread_page(response: Response) -> ThreadPage:
    """/p/<tid>: every floor (`div.l_post` with its data-field), its IP属地 and time from the tail, and the
    floor replies shown inline."""
    sel = Selector(text=response.text)
    floors = sel.css("div.l_post.j_l_post")
    if not floors:
        raise MalformedResponse("no floors (div.l_post) in thread page")
    ref = raw_reference(response.body, response.url)
    title = (sel.css("h3.core_title_txt::attr(title), h1.core_title_txt::attr(title)").get() or "").strip()
    forum = _PAGE_TITLE_FORUM.search(response.text)
    title = _titled(title, forum[1] if forum else None)
    totals = sel.css("li.l_reply_num span.red::text").getall()
    pages = to_int(totals[1]) if len(totals) > 1 else 1
    page = to_int(sel.css("li.pb_list_pager span.tP::text").get()) or 1
    posts, more, tid, forum_id = [], [], None, None
    for floor in floors:
        field = _data_field(floor.attrib.get("data-field"))
        content = field.get("content") if isinstance(field.get("content"), dict) else {}
        author = field.get("author") if isinstance(field.get("author"), dict) else {}
        pid = str(content.get("post_id") or floor.attrib.get("data-pid") or "")
        if not pid:
            continue
        tid = str(content.get("thread_id") or tid or "")
        forum_id = str(content.get("forum_id") or forum_id or "") or None
        region, when, number = _tail(floor)
        replies = to_int(content.get("comment_num"))
        number = number or to_int(content.get("post_no"))
        body = floor.css("div.d_post_content").get() or ""
        shown = " ".join(" ".join(floor.css("a.p_author_name ::text").getall()).split())
        posts.append(
            PostItem(
                source="tieba",
                external_id=pid,
                url=f"{SITE}/p/{tid}?pid={pid}#{pid}",
                title=title if number == 1 else None,
                text=html_to_text(_IMAGE_TIP.sub("", body)),
                text_raw=body,
                author=shown or author.get("user_name") or author.get("user_nickname"),
                published_at=when,
                comments=replies,
                region=region,
                thread_id=tid,
                raw_ref=ref,
            )
        )
        inline = floor.css("li.lzl_single_post")
        posts.extend(_reply_posts(inline, tid, pid, ref))
        if replies and replies > len(inline):
            more.append(pid)
    if not tid:
        raise MalformedResponse("thread page without thread id")
    return ThreadPage(tid=tid, forum_id=forum_id, page=page, pages=pages or 1, posts=posts, more_replies=more)


def reply_fragment(response: Response) -> tuple[list[PostItem], int]:
    """/p/comment?tid=&pid=&pn=: floor replies (楼中楼) and the number of their pages. The answer is an HTML
    fragment without <html>: the replies, then `li.lzl_li_pager` whose data-field is
    {"total_num":16,"total_page":2} (10 replies a page). Thread and floor ids come from the URL when known."""
    sel = Selector(text=html_text(response))
    nodes = sel.css("li.lzl_single_post")
    pager = sel.css("li.lzl_li_pager")
    if not nodes and not pager:
        raise MalformedResponse("no floor replies and no pager in /p/comment fragment")
    query = parse_qs(urlsplit(response.url).query)
    tid, pid = (query.get("tid") or [""])[0], (query.get("pid") or [None])[0]
    pager_field = pager.attrib.get("data-field", "") if pager else ""
    pages = re.search(r"total_page\"?\s*:\s*(\d+)", pager_field)
    return _reply_posts(nodes, tid, pid, raw_reference(response.body, response.url)), int(pages[1]) if pages else 1


# ---------------------------------------------------------------------------- 2026 signed JSON


def _api_payload(response: Response) -> dict:
    payload = json_object(response)
    code = payload.get("error_code", payload.get("no", 0))
    if str(code) not in ("0", "None"):
        message = str(payload.get("error_msg") or payload.get("error") or "")
        if any(word in message for word in ("登录", "验证", "sign", "签名", "频繁")):
            raise BlockedError(f"贴吧接口拒绝：{code} {message}")
        raise MalformedResponse(f"error_code {code}: {message}")
    return payload


def _content_text(content) -> str:
    """The client API's content list ([{type: 0, text: …}, {type: 2, c: '[表情]'}, …]) as text."""
    if not isinstance(content, list):
        return html_to_text(content)
    parts = []
    for part in content:
        if isinstance(part, dict):
            parts.append(str(part.get("text") or part.get("c") or ""))
    return "".join(parts).strip()


def api_tbs(response: Response) -> str:
    """/c/s/pc/sync: the anti-CSRF token the other endpoints need."""
    tbs = ((_api_payload(response).get("data") or {}).get("anti") or {}).get("tbs")
    if not tbs:
        raise MalformedResponse("no data.anti.tbs in sync answer")
    return str(tbs)


def api_search(response: Response) -> list[PostItem]:
    """/mo/q/search/multsearch: `data.card_list[]`, keeping the thread cards."""
    data = _api_payload(response).get("data")
    if not isinstance(data, dict):
        raise MalformedResponse("missing data object")
    ref = raw_reference(response.body, response.url)
    posts = []
    cards = data.get("card_list")
    if not isinstance(cards, list):
        raise MalformedResponse("data.card_list is not a list")
    for card in cards:
        if not isinstance(card, dict) or "thread" not in (card.get("cardStyle"), card.get("cardInfo")):
            continue
        item = card.get("data") if isinstance(card.get("data"), dict) else {}
        tid = item.get("tid")
        if not tid:
            continue
        user = item.get("user") if isinstance(item.get("user"), dict) else {}
        posts.append(
            PostItem(
                source="tieba",
                external_id=str(item.get("pid") or f"t{tid}"),
                url=f"{SITE}/p/{tid}",
                title=_titled(html_to_text(item.get("title")), item.get("forum_name")),
                text=_content_text(item.get("content")),
                author=user.get("show_nickname") or user.get("user_name"),
                published_at=from_unix(item.get("time") or item.get("create_time")),
                comments=to_int(item.get("post_num")),
                thread_id=str(tid),
                raw_ref=ref,
            )
        )
    return posts


def api_forum_threads(response: Response) -> list[ThreadSummary]:
    """/c/f/frs/page_pc: `thread_list[]` in the client API's thread shape."""
    payload = _api_payload(response)
    threads_raw = payload.get("thread_list")
    if not isinstance(threads_raw, list):
        raise MalformedResponse("missing thread_list")
    forum = (payload.get("forum") or {}).get("name")
    threads = []
    for item in threads_raw:
        if not isinstance(item, dict) or not (item.get("tid") or item.get("id")):
            continue
        author = item.get("author") if isinstance(item.get("author"), dict) else {}
        threads.append(
            ThreadSummary(
                tid=str(item.get("tid") or item.get("id")),
                first_post_id=str(item["first_post_id"]) if item.get("first_post_id") else None,
                title=str(item.get("title") or ""),
                abstract=_content_text(item.get("abstract")),
                author=author.get("name_show") or author.get("name"),
                replies=to_int(item.get("reply_num")),
                created=from_unix(item.get("create_time")),
                last_reply=from_unix(item.get("last_time_int")),
                pinned=bool(to_int(item.get("is_top"))),
                forum=forum,
            )
        )
    return threads


def api_thread(response: Response) -> ThreadPage:
    """/c/f/pb/page_pc: `thread`, `forum`, `page.total_page`, `post_list[]` and their authors in `user_list[]`."""
    payload = _api_payload(response)
    thread = payload.get("thread") if isinstance(payload.get("thread"), dict) else None
    post_list = payload.get("post_list")
    if thread is None or not isinstance(post_list, list):
        raise MalformedResponse("missing thread or post_list")
    tid = str(thread.get("id") or thread.get("tid"))
    forum = payload.get("forum") if isinstance(payload.get("forum"), dict) else {}
    users = {str(u.get("id")): u for u in payload.get("user_list") or [] if isinstance(u, dict)}
    page_info = payload.get("page") if isinstance(payload.get("page"), dict) else {}
    ref = raw_reference(response.body, response.url)
    posts, more = [], []
    for item in post_list:
        if not isinstance(item, dict) or not item.get("id"):
            continue
        user = users.get(str(item.get("author_id")), {})
        number = to_int(item.get("floor"))
        replies = to_int(item.get("sub_post_number"))
        pid = str(item["id"])
        posts.append(
            PostItem(
                source="tieba",
                external_id=pid,
                url=f"{SITE}/p/{tid}?pid={pid}#{pid}",
                title=_titled(str(thread.get("title") or ""), forum.get("name")) if number == 1 else None,
                text=_content_text(item.get("content")),
                author=user.get("name_show") or user.get("name"),
                published_at=from_unix(item.get("time")),
                comments=replies,
                region=(user.get("ip_address") or None),
                thread_id=tid,
                raw_ref=ref,
            )
        )
        if replies:
            more.append(pid)
    return ThreadPage(
        tid=tid,
        forum_id=str(forum.get("id")) if forum.get("id") else None,
        page=to_int(page_info.get("current_page")) or 1,
        pages=to_int(page_info.get("total_page")) or 1,
        posts=posts,
        more_replies=more,
    )
