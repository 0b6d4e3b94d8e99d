"""黑猫投诉: the signature as the site checks it, the parse contract and crawls of the complaint search."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from tests.crawlers.conftest import parse_file, source_config
from tests.crawlers.site import FIXTURES, Reply, fail_first, serve
from wagewatch.core.store.models import Post
from wagewatch.crawlers.signing import heimao_signature

SECRET = "$d6eb7ff91ee257475%"


def test_signature_is_sha256_of_the_six_sorted_values():
    expected = hashlib.sha256(
        "".join(sorted([SECRET, "10", "2", "1764201234567", "aB3dE5gH7jK9mN1p", "欠薪"])).encode()
    ).hexdigest()
    assert heimao_signature(SECRET, 10, 2, "1764201234567", "aB3dE5gH7jK9mN1p", "欠薪") == expected


def test_complaints_with_company_issue_demand_and_status():
    code, posts, _ = parse_file("heimao", FIXTURES / "heimao" / "search_p1.json")
    assert code == 0
    assert posts[0] == {
        "source": "heimao",
        "external_id": "17390000001",
        "url": "https://tousu.sina.com.cn/complaint/view/17390000001/",
        "title": "济南某劳务公司拖欠工资三个月",  # the keyword highlighting is gone
        "text": "本人于2026年6月至9月在济南某工地务工，劳务公司拖欠工资共计2.4万元，多次催要无果。\n"
        "投诉对象：济南某建筑劳务有限公司；投诉问题：拖欠工资；投诉要求：要求支付拖欠工资2.4万元；状态：处理中",
        "author": "黑猫用户8841",
        "published_at": "2026-11-25T19:40:00+08:00",
        "reposts": None,
        "comments": None,
        "likes": None,
        "region": None,
        "thread_id": None,
    }
    assert [p["text"].rsplit("状态：", 1)[1] for p in posts] == ["处理中", "已完成", "已回复"]


def test_login_page_and_truncated_answer():
    code, posts, err = parse_file("heimao", FIXTURES / "heimao" / "login.html")
    assert (code, posts, err.strip()) == (3, [], "blocked: 新浪登录页面")
    code, posts, err = parse_file("heimao", FIXTURES / "heimao" / "truncated.json")
    assert (code, posts) == (4, []) and err.startswith("malformed:")


def heimao_site(web, pages: dict) -> list[dict]:
    """The search checks the signature like the site; `pages` maps a page number to a fixture or handler."""
    seen: list[dict] = []

    def search(req):
        args = {k: req.arg(k) for k in ("ts", "rs", "signature", "keywords", "page_size", "page")}
        seen.append(args)
        expected = heimao_signature(
            SECRET, int(args["page_size"]), int(args["page"]), args["ts"], args["rs"], args["keywords"]
        )
        if args["signature"] != expected or len(args["rs"]) != 16:
            return Reply(200, '{"result": {"status": {"code": -1, "msg": "签名错误"}}}', "application/json")
        answer = pages.get(int(args["page"]))
        if answer is None:
            return Reply(
                200,
                '{"result": {"status": {"code": 0, "msg": "成功"}, "data": {"lists": [], "pager": {}}}}',
                "application/json",
            )
        return answer(req) if callable(answer) else serve("heimao", answer)

    web.route("GET", "/heimao/api/index/s", search)
    return seen


def stored(env) -> set[str]:
    with env.db().session() as session:
        return set(session.scalars(select(Post.external_id).where(Post.source == "heimao")))


def test_crawl_pages_retries_and_stops_at_known_complaints(web, env):
    env.write_sources({"heimao": source_config(f"{web.base}/heimao")}, keywords=["拖欠工资"])
    seen = heimao_site(web, {1: "search_p1.json", 2: fail_first(1, lambda r: serve("heimao", "search_p2.json"))})

    run = env.crawl("heimao")

    assert run["status"] == "ok" and run["errors"] == 0 and run["posts_new"] == 5
    assert stored(env) == {f"1739000000{i}" for i in range(1, 6)}
    assert [(s["keywords"], s["page"], s["page_size"]) for s in seen] == [
        ("拖欠工资", "1", "10"),
        ("拖欠工资", "2", "10"),
        ("拖欠工资", "2", "10"),
    ]
    assert len({s["rs"] for s in seen}) == 2  # a fresh nonce per page (the retry repeats its request)

    seen.clear()
    again = env.crawl("heimao")
    assert again["posts_new"] == 0 and [s["page"] for s in seen] == ["1"]


def test_malformed_page_then_login_wall(web, env):
    env.write_sources({"heimao": source_config(f"{web.base}/heimao")}, keywords=["拖欠工资", "欠薪"])
    web.route(
        "GET",
        "/heimao/api/index/s",
        lambda r: serve("heimao", "truncated.json" if r.arg("keywords") == "欠薪" else "search_p2.json"),
    )
    run = env.crawl("heimao")
    assert run["status"] == "ok" and run["errors"] == 1 and run["posts_new"] == 2

    web.reset()
    web.route("GET", "/heimao/api/index/s", lambda r: serve("heimao", "login.html"))
    blocked = env.crawl("heimao")
    assert blocked["status"] == "blocked" and blocked["blocked_reason"].startswith("新浪登录页面")
