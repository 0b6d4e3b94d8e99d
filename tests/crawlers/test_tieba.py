"""Tieba: the parse contract on our fixtures and on real saved pages, and crawls of the classic HTML site and
of the signed JSON API against the local test site."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

from sqlalchemy import select

from tests.crawlers.conftest import parse_file, source_config
from tests.crawlers.site import FIXTURES, Reply, fail_first, serve
from wagewatch.core.store.models import Post
from wagewatch.crawlers.signing import tieba_sign

SECRET = "test-signing-secret"


def tieba_file(name: str) -> Path:
    return FIXTURES / "tieba" / name


# ---------------------------------------------------------------------------- parse contract


def test_forum_list_inside_the_commented_pagelet():
    code, posts, _ = parse_file(
        "tieba", tieba_file("forum_jinan.html"), url="https://tieba.baidu.com/f?kw=济南&ie=utf-8"
    )
    assert code == 0
    assert [(p["external_id"], p["thread_id"], p["comments"]) for p in posts] == [
        ("120000000001", "6012345678", 321),
        ("151000000001", "9300000001", 8),
        ("151000000031", "9300000003", 56),
        ("151000000041", "9300000004", 3),
    ]
    assert posts[1]["title"] == "历下区某工地拖欠工资半年，农民工讨薪无门【济南吧】"
    assert posts[1]["author"] == "泉城小李"  # the nickname in the \\u-escaped, entity-escaped data-field
    assert posts[1]["text"].endswith("工钱一分没见到")


def test_thread_page_floors_with_ip_location_and_inline_replies():
    code, posts, _ = parse_file("tieba", tieba_file("thread_p1.html"))
    assert code == 0
    assert [p["external_id"] for p in posts] == [
        "151000000001",
        "151000000002",
        "151000000201",
        "151000000202",
        "151000000003",
    ]
    first = posts[0]
    assert first == {
        "source": "tieba",
        "external_id": "151000000001",
        "url": "https://tieba.baidu.com/p/9300000001?pid=151000000001#151000000001",
        "title": "历下区某工地拖欠工资半年，农民工讨薪无门【济南吧】",
        "text": "我们一共二十三个人，在历下区一个安置房工地干了半年，工钱一分没见到。\n包工头说总包没给钱，总包说钱早就付清了。",
        "author": "泉城小李",
        "published_at": "2026-11-24T08:12:00+08:00",
        "reposts": None,
        "comments": 0,
        "likes": None,
        "region": "山东",
        "thread_id": "9300000001",
    }
    assert (posts[1]["comments"], posts[1]["title"]) == (12, None)
    assert (posts[2]["text"], posts[2]["published_at"]) == ("打了，说会转给相关部门", "2026-11-24T09:01:00+08:00")
    assert posts[4]["region"] == "北京"


def test_floor_reply_fragment_and_search_results():
    _, replies, _ = parse_file(
        "tieba",
        tieba_file("comment_p1.html"),
        url="https://tieba.baidu.com/p/comment?tid=9300000001&pid=151000000002&fid=1234567&pn=1",
    )
    assert len(replies) == 10 and replies[0]["thread_id"] == "9300000001"
    assert replies[-1]["author"] == "吧友7"
    _, hits, _ = parse_file("tieba", tieba_file("search.html"))
    assert [(h["external_id"], h["thread_id"], h["title"], h["published_at"]) for h in hits] == [
        ("151000000020", "9300000002", "淄博欠薪，山东哪里能投诉【淄博吧】", "2026-11-26T21:14:00+08:00"),
        (
            "151000000005",
            "9300000001",
            "回复：历下区某工地拖欠工资半年，农民工讨薪无门【济南吧】",
            "2026-11-25T07:30:00+08:00",
        ),
    ]
    assert hits[0]["author"] == "张店打工人"  # read from the link text: the href is GBK-encoded
    assert parse_file("tieba", tieba_file("search_empty.html"))[:2] == (0, [])


def test_signed_api_answers():
    _, found, _ = parse_file("tieba", tieba_file("api_search.json"))
    assert [(p["external_id"], p["title"], p["published_at"]) for p in found] == [
        ("152000000001", "山东临沂欠薪求助【临沂吧】", "2026-11-26T08:30:00+08:00"),
        ("t9400000002", "济宁某驾校拖欠教练工资【济宁吧】", "2026-11-25T03:46:40+08:00"),
    ]
    assert found[1]["text"] == "教练们三个月没发工资了[泪]"
    _, floors, _ = parse_file("tieba", tieba_file("api_pb.json"))
    assert [(p["external_id"], p["author"], p["region"], p["comments"]) for p in floors] == [
        ("152000000001", "兰山装卸工", "山东", 0),
        ("152000000002", "热心人", "江苏", 2),
    ]
    assert floors[0]["text"] == "兰山区一个物流园，欠了我们装卸工四个月工资，一共三十多人"
    _, threads, _ = parse_file("tieba", tieba_file("api_frs.json"))
    assert [p["thread_id"] for p in threads] == ["8000000001", "9400000001", "9400000005"]


def test_security_check_page_is_a_block():
    code, posts, err = parse_file("tieba", tieba_file("security.html"))
    assert (code, posts, err.strip()) == (3, [], "blocked: 百度安全验证码页面")


# ---------------------------------------------------------------------------- classic HTML crawl


def classic_site(web) -> None:
    def search(req):
        if req.arg("qw") == "山东 欠薪" and req.arg("pn") == "1":
            return serve("tieba", "search.html")
        return serve("tieba", "search_empty.html")

    def thread_one(req):
        if req.arg("pid") == "151000000005":
            return serve("tieba", "thread_p2.html")  # the page that holds the hit
        return serve("tieba", f"thread_p{req.arg('pn')}.html")

    web.route("GET", "/tieba/f/search/res", search)
    web.route(
        "GET", "/tieba/f", lambda r: serve("tieba", "forum_jinan.html" if r.arg("pn") == "0" else "forum_jinan_p2.html")
    )
    web.route("GET", "/tieba/p/9300000001", thread_one)
    web.route("GET", "/tieba/p/9300000002", lambda r: serve("tieba", "thread_hit.html"))
    web.route("GET", "/tieba/p/9300000004", fail_first(1, lambda r: Reply(200, "<html><body>页面改版中</body></html>")))
    web.route("GET", "/tieba/p/comment", lambda r: serve("tieba", f"comment_p{r.arg('pn')}.html"))


def stored(env) -> dict[str, Post]:
    with env.db().session() as session:
        return {p.external_id: p for p in session.scalars(select(Post).where(Post.source == "tieba"))}


def test_classic_crawl_search_forum_threads_and_replies_then_nothing_new(web, env):
    env.write_sources(
        {
            "tieba": source_config(
                f"{web.base}/tieba", places="province", max_pages=2, options={"mode": "html", "forums": ["济南"]}
            )
        },
        keywords=["欠薪", "拖欠工资", "血汗钱"],
    )
    classic_site(web)

    run = env.crawl("tieba")

    assert run["status"] == "ok"
    assert run["errors"] == 1  # the thread page that came back in a new layout
    posts = stored(env)
    floors = {f"15100000000{i}" for i in range(1, 9)}
    replies = {"151000000201", "151000000202", *(f"15100000021{i}" for i in range(8)), "151000000221", "151000000222"}
    assert floors | replies | {"151000000020", "151000000021", "151000000041"} == set(posts)
    assert posts["151000000007"].region == "山东" and posts["151000000007"].thread_id == "9300000001"
    assert posts["151000000041"].title == "包工头跑路了，血汗钱找谁要【济南吧】"  # kept from the list
    searched = [(r.arg("qw"), r.arg("pn"), r.arg("sm")) for r in web.hits("/tieba/f/search/res")]
    assert sorted(searched) == [
        ("山东 拖欠工资", "1", "1"),
        ("山东 欠薪", "1", "1"),
        ("山东 欠薪", "2", "1"),
        ("山东 血汗钱", "1", "1"),
    ]
    # Thread 9300000001: page 1, then the last page and backwards; its hit page via pid.
    assert sorted((r.arg("pn") or f"pid={r.arg('pid')}") for r in web.hits("/tieba/p/9300000001")) == [
        "1",
        "2",
        "3",
        "pid=151000000005",
    ]
    assert [r.arg("pn") for r in web.hits("/tieba/p/comment")] == ["1", "2"]
    assert web.hits("/tieba/p/comment")[0].arg("fid") == "1234567"
    assert len(web.hits("/tieba/p/9300000003")) == 0  # no keyword: not read
    assert [r.arg("pn") for r in web.hits("/tieba/f")] == ["0", "50"]

    web.log.clear()
    again = env.crawl("tieba")
    assert again["posts_new"] == 0 and again["status"] == "ok"
    assert not web.hits("/tieba/p/.*")  # no thread moved since the last pass, no search hit is new
    assert [r.arg("pn") for r in web.hits("/tieba/f")] == ["0"]


def test_login_redirect_blocks_tieba(web, env):
    env.write_sources(
        {"tieba": source_config(f"{web.base}/tieba", options={"mode": "html", "search": False, "forums": ["济南"]})}
    )
    web.route(
        "GET",
        "/tieba/f",
        lambda r: Reply(
            302,
            b"",
            headers={
                "Location": "https://passport.baidu.com/v2Jump.html?u=https%3A%2F%2Ftieba.baidu.com%2F&error=100023"
            },
        ),
    )
    run = env.crawl("tieba")
    assert run["status"] == "blocked" and run["blocked_reason"].startswith("百度登录跳转 (https://passport.baidu.com/")


# ---------------------------------------------------------------------------- signed API crawl


def signed_ok(params: dict) -> bool:
    params = dict(params)
    sign = params.pop("sign", None)
    return (
        sign == tieba_sign(params, SECRET) and params.get("subapp_type") == "pc" and params.get("_client_type") == "20"
    )


def api_site(web) -> None:
    def checked(handler, needs_tbs=True):
        def answer(req):
            params = (
                dict(parse_qsl(req.body.decode())) if req.method == "POST" else {k: v[0] for k, v in req.query.items()}
            )
            if not signed_ok(params) or (needs_tbs and params.get("tbs") != "8f3a1c9e2b7d45601764201234"):
                return Reply(200, '{"error_code": 110003, "error_msg": "sign error 签名错误"}', "application/json")
            return handler(params)

        return answer

    web.route("GET", "/tieba/c/s/pc/sync", checked(lambda p: serve("tieba", "api_sync.json"), needs_tbs=False))
    web.route(
        "GET",
        "/tieba/mo/q/search/multsearch",
        checked(
            lambda p: (
                serve("tieba", "api_search.json")
                if p["word"] == "山东 欠薪" and p["pn"] == "1"
                else Reply(
                    200, '{"no": 0, "error": "success", "data": {"card_list": [], "has_more": 0}}', "application/json"
                )
            )
        ),
    )
    web.route("POST", "/tieba/c/f/frs/page_pc", checked(lambda p: serve("tieba", "api_frs.json")))
    web.route(
        "POST",
        "/tieba/c/f/pb/page_pc",
        checked(
            lambda p: (
                serve("tieba", "api_pb.json")
                if p["kz"] == "9400000001"
                else Reply(200, '{"error_code": 4, "error_msg": "贴子已被删除"}', "application/json")
            )
        ),
    )
    web.route("GET", "/tieba/p/comment", lambda r: serve("tieba", "comment_p2.html"))


def test_signed_api_crawl(web, env):
    env.write_sources(
        {
            "tieba": source_config(
                f"{web.base}/tieba", places="province", max_pages=1, options={"mode": "auto", "forums": ["临沂"]}
            )
        },
        keywords=["欠薪"],
    )
    api_site(web)

    run = env.crawl("tieba", extra_env={"WAGEWATCH_TIEBA_SIGN_SECRET": SECRET})

    assert run["status"] == "ok" and run["errors"] == 1  # the deleted thread
    assert set(stored(env)) == {"152000000001", "152000000002", "t9400000002", "151000000221", "151000000222"}
    assert not web.hits("/tieba/f/search/res")  # the classic pages are not used
    assert {r.arg("pid") for r in web.hits("/tieba/p/comment")} == {"152000000002"}


def test_a_wrong_signature_is_reported_as_a_block(web, env):
    env.write_sources({"tieba": source_config(f"{web.base}/tieba", options={"mode": "api"})}, keywords=["欠薪"])
    api_site(web)
    run = env.crawl("tieba", extra_env={"WAGEWATCH_TIEBA_SIGN_SECRET": "an-outdated-secret"})
    assert run["status"] == "blocked" and "签名" in run["blocked_reason"]
    missing = env.crawl("tieba", extra_env={"WAGEWATCH_TIEBA_SIGN_SECRET": ""})
    assert missing["status"] == "failed" and "WAGEWATCH_TIEBA_SIGN_SECRET" in missing["error_message"]
