"""人民网领导留言板: signatures as the site checks them, the parse contract, and crawls of the signed API."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.crawlers.conftest import parse_file, source_config
from tests.crawlers.site import FIXTURES, Reply, fail_first, serve
from wagewatch.core.store.models import Post
from wagewatch.crawlers.signing import liuyan_signature, md5_hex

APP_CODE = "PC42ce3bfa4980a9"


def test_signature_key_of_the_published_app_code():
    # The published app code's key, md5(appCode)[0:16], as docs/crawlers.md describes it.
    assert md5_hex(APP_CODE)[:16] == "a2eb17f65d6f4b3f"
    param = '{"tid":"20001"}'
    assert liuyan_signature("/v1/threads/content", param, APP_CODE) == md5_hex(
        "/v1/threads/content" + param + "a2eb17f65d6f4b3f"
    )


def test_message_and_official_reply_with_status():
    code, posts, _ = parse_file("liuyan", FIXTURES / "liuyan" / "content_20001.json")
    assert code == 0
    message, reply = posts
    assert message["external_id"] == "20001" and message["title"] == "历城区某工地拖欠农民工工资半年"
    assert message["region"] == "山东省济南市" and message["published_at"] == "2026-11-10T09:30:00+08:00"
    assert message["text"].endswith("留言对象：山东省济南市委书记；类型：投诉；领域：劳动人事；状态：已办理")
    assert reply == {
        "source": "liuyan",
        "external_id": "20001:reply:1",
        "url": "https://liuyan.people.com.cn/threads/content?tid=20001",
        "title": "回复：历城区某工地拖欠农民工工资半年",
        "text": "办理状态：已办理\n网友您好！收到留言后，我局劳动保障监察大队立即到项目现场调查核实。经协调，总承包单位已于11月16日"
        "通过农民工工资专用账户足额支付31名农民工工资86.2万元。感谢您对我们工作的监督。",
        "author": "济南市历城区人力资源和社会保障局",
        "published_at": "2026-11-18T16:00:00+08:00",
        "reposts": None,
        "comments": None,
        "likes": None,
        "region": "山东省济南市",
        "thread_id": "20001",
    }


def test_search_and_board_lists_and_a_refused_signature():
    _, found, _ = parse_file("liuyan", FIXTURES / "liuyan" / "search_p1.json")
    assert [(p["external_id"], p["region"]) for p in found] == [
        ("20002", "山东省青岛市"),
        ("20003", "江苏省南通市"),
        ("20001", "山东省济南市"),
    ]
    _, listed, _ = parse_file("liuyan", FIXTURES / "liuyan" / "list_p1.json")
    assert [p["region"] for p in listed] == ["山东省", "山东省济南市"]
    code, posts, err = parse_file("liuyan", FIXTURES / "liuyan" / "sn0006.json")
    assert (code, posts, err.strip()) == (3, [], "blocked: 留言板拒绝签名请求：SN0006 数据格式错误")


def liuyan_site(web, pages: dict, contents: dict) -> list[dict]:
    """The API checks every envelope and signature as the site does; answers come from `pages` (search page
    number → fixture) and `contents` (tid → fixture or handler). Returns the params the site accepted."""
    accepted: list[dict] = []

    def signed(handler):
        def answer(req):
            envelope = json.loads(req.body)
            path = req.path.removeprefix("/liuyan")
            expected = liuyan_signature(path, envelope["param"], envelope["appCode"], envelope["token"])
            if (
                envelope["appCode"] != APP_CODE
                or envelope["signature"] != expected
                or req.headers.get("Content-Type") != "application/json;charset=UTF-8"
            ):
                return serve("liuyan", "sn0006.json")
            param = json.loads(envelope["param"])
            accepted.append({"path": path, **param})
            return handler(param, req)

        return answer

    def content(param, req):
        answer = contents[param["tid"]]
        return answer(req) if callable(answer) else serve("liuyan", answer)

    web.route(
        "POST",
        "/liuyan/v2/threads/search",
        signed(lambda p, r: serve("liuyan", pages.get(p["page"], "search_empty.json"))),
    )
    web.route("POST", "/liuyan/v1/threads/list/df", signed(lambda p, r: serve("liuyan", "list_p1.json")))
    web.route("POST", "/liuyan/v1/threads/content", signed(content))
    return accepted


def stored(env) -> dict[str, Post]:
    with env.db().session() as session:
        return {p.external_id: p for p in session.scalars(select(Post).where(Post.source == "liuyan"))}


def test_crawl_keeps_shandong_boards_fetches_details_and_adds_replies_later(web, env):
    env.write_sources({"liuyan": source_config(f"{web.base}/liuyan", options={"rows": 3})}, keywords=["欠薪"])
    contents = {
        "20001": fail_first(1, lambda r: serve("liuyan", "content_20001.json")),
        "20002": "content_20002.json",
        "20004": lambda r: Reply(200, "<html><body>502 Bad Gateway</body></html>"),
    }
    accepted = liuyan_site(web, {1: "search_p1.json", 2: "search_p2.json"}, contents)

    run = env.crawl("liuyan")

    assert run["status"] == "ok" and run["errors"] == 1  # the unreadable detail of 20004
    posts = stored(env)
    # Shandong boards only; 20004's message is kept from the list although its detail was unreadable.
    assert set(posts) == {"20001", "20001:reply:1", "20002", "20004"}
    assert posts["20001:reply:1"].author == "济南市历城区人力资源和社会保障局"
    assert "联系电话已隐去" in posts["20001"].text  # the detail's full text
    searches = [a for a in accepted if a["path"] == "/v2/threads/search"]
    assert list(searches[0]) == [
        "path",
        "position",
        "keywords",
        "fid",
        "domainId",
        "typeId",
        "timeRange",
        "ansChecked",
        "stTime",
        "sortType",
        "page",
        "rows",
    ]
    assert [(s["keywords"], s["page"]) for s in searches] == [("欠薪", 1), ("欠薪", 2)]
    details = sorted(a["tid"] for a in accepted if a["path"] == "/v1/threads/content")
    assert details == ["20001", "20001", "20002", "20004"]  # 20001 answered 500 once and was retried
    assert len(web.hits("/liuyan/v2/threads/search")) == 2

    # Later the Qingdao message is answered: only its detail is fetched again, and the reply is a new post.
    web.reset()
    accepted = liuyan_site(
        web, {1: "search_p1_answered.json", 2: "search_p2.json"}, {"20002": "content_20002_answered.json"}
    )
    later = env.crawl("liuyan")
    assert later["posts_new"] == 1 and later["status"] == "ok"
    assert [a["tid"] for a in accepted if a["path"] == "/v1/threads/content"] == ["20002"]
    reply = stored(env)["20002:reply:1"]
    assert (
        reply.text.startswith("办理状态:已回复") and reply.author
    )  # stored normalised (half-width) == "青岛市城阳区人力资源和社会保障局"


def test_board_lists_page_by_cursor(web, env):
    env.write_sources(
        {
            "liuyan": source_config(
                f"{web.base}/liuyan", options={"search": False, "fids": [500], "rows": 2, "type_id": "2"}
            )
        }
    )
    accepted = liuyan_site(web, {}, {"20001": "content_20001.json", "20004": "content_20004.json"})
    web.routes = [r for r in web.routes if r[1].pattern != "/liuyan/v1/threads/list/df"]
    pages = iter(["list_p1.json", "search_empty.json"])
    web.route("POST", "/liuyan/v1/threads/list/df", lambda r: serve("liuyan", next(pages)))
    run = env.crawl("liuyan")
    assert run["status"] == "ok" and set(stored(env)) == {"20001", "20001:reply:1", "20004"}
    cursors = [json.loads(json.loads(r.body)["param"]) for r in web.hits("/liuyan/v1/threads/list/df")]
    assert [(c["fid"], c["lastItem"], c["typeId"]) for c in cursors] == [(500, "", "2"), (500, "20001", "2")]
    assert len(accepted) == 2  # the two details


def test_an_outdated_app_code_is_a_block(web, env):
    env.write_sources({"liuyan": source_config(f"{web.base}/liuyan", options={"app_code": "PC0000000000000"})})
    liuyan_site(web, {1: "search_p1.json"}, {})
    run = env.crawl("liuyan")
    assert run["status"] == "blocked" and run["blocked_reason"].startswith("留言板拒绝签名请求：SN0006")
