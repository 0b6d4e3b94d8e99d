"""Weibo: the parse contract on saved answers, and real crawls against the local test site."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from tests.crawlers.conftest import parse_file, source_config
from tests.crawlers.site import FIXTURES, Reply, fail_first, serve
from wagewatch.core import clock
from wagewatch.core.store.models import CrawlCursor, CrawlRun, Post, SourceState
from wagewatch.crawlers.dates import CST

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=CST)


@pytest.fixture
def frozen():
    clock.freeze(NOW)
    yield
    clock.freeze(None)


def weibo_file(name: str):
    return FIXTURES / "weibo" / name


# ---------------------------------------------------------------------------- parse contract


def test_search_page_posts_follow_the_contract(frozen):
    code, posts, _ = parse_file("weibo", weibo_file("search_p1.json"))
    assert code == 0
    # Posts inside card_group wrappers are found; the ad (promotion) and the "similar results" card are not.
    assert [p["external_id"] for p in posts] == [
        "5238000000000001",
        "5238000000000002",
        "5238000000000003",
        "5238000000000004",
        "5238000000000005",
    ]
    first = posts[0]
    assert first == {
        "source": "weibo",
        "external_id": "5238000000000001",
        "url": "https://m.weibo.cn/detail/5238000000000001",
        "title": None,
        "text": "#济南讨薪# 我们在济南市历城区一个小区工地干了八个月，包工头跑路了，二十多个工友的血汗钱一共38万元"
        "到现在没人管[泪]\n求求有关部门帮帮我们",
        "author": "历城打工人",
        "published_at": "2026-11-22T09:15:00+08:00",
        "reposts": 12,
        "comments": 30,
        "likes": 88,
        "region": "山东",
        "thread_id": None,
    }
    # Counts written with units, a mention link, a missing region.
    assert (posts[1]["reposts"], posts[1]["comments"], posts[1]["likes"]) == (10000, 23000, 1000000)
    assert posts[1]["text"].startswith("@淄博人社 淄博张店区") and posts[1]["region"] is None
    # A truncated post loses the "全文" link; a repost carries its original.
    assert posts[2]["text"].endswith("付给劳务公司了...")
    assert "//转发原文 @福山装修工：烟台福山区一个装修队老板欠我们六个人的工钱两万多" in posts[3]["text"]
    assert posts[3]["region"] == "江苏"


def test_a_lone_surrogate_in_one_post_loses_no_post(frozen, tmp_path):
    """One broken \\ud800 escape in one post's text: every post of the page comes through, that character
    replaced, instead of the page failing as malformed."""
    raw = weibo_file("search_p1.json").read_text(encoding="utf-8")
    broken = tmp_path / "surrogate.json"
    broken.write_text(raw.replace('"text": "', '"text": "\\ud800', 1), encoding="utf-8")
    code, posts, _ = parse_file("weibo", broken)
    _, clean, _ = parse_file("weibo", weibo_file("search_p1.json"))
    assert code == 0
    assert [p["external_id"] for p in posts] == [p["external_id"] for p in clean]
    assert "\ufffd" in posts[0]["text"] and all("\ud800" not in p["text"] for p in posts)


def test_every_weibo_time_format(frozen):
    _, posts, _ = parse_file("weibo", weibo_file("search_legacy.json"))
    assert [p["published_at"] for p in posts] == [
        "2026-11-27T12:00:00+08:00",  # 刚刚
        "2026-11-27T11:55:00+08:00",  # 5分钟前
        "2026-11-27T09:00:00+08:00",  # 3小时前
        "2026-11-26T12:30:00+08:00",  # 昨天 12:30
        "2026-11-27T00:00:00+08:00",  # 11-27
        "2018-11-27T00:00:00+08:00",  # 2018-11-27
    ]


def test_detail_page_gives_the_full_text():
    _, posts, _ = parse_file("weibo", weibo_file("detail_5238000000000003.html"))
    assert len(posts) == 1
    assert posts[0]["text"].endswith("项目在黄岛区长江路附近，希望有关部门能管一管。")
    assert posts[0]["author"] == "西海岸老王" and posts[0]["region"] == "山东"


def test_extend_answer_gives_the_text_under_the_id_of_its_url():
    _, posts, _ = parse_file(
        "weibo",
        weibo_file("extend_5237900000000007.json"),
        url="https://m.weibo.cn/statuses/extend?id=5237900000000007",
    )
    assert [(p["external_id"], p["text"].splitlines()[1]) for p in posts] == [
        ("5237900000000007", "据说是物流园的外包公司拖欠了三十多名装卸工近半年的工资，总额六十多万元。")
    ]


def test_web_search_page(frozen):
    _, posts, _ = parse_file("weibo", weibo_file("web_search_full.html"))
    assert [(p["external_id"], p["author"], p["published_at"]) for p in posts] == [
        ("5237800000000021", "济南天桥区网友", "2026-11-20T15:32:00+08:00"),
        ("5237800000000022", "青岛城阳小哥", "2026-11-20T15:05:00+08:00"),
        ("5237800000000023", "维权律师", "2026-11-20T15:01:00+08:00"),
    ]
    # The expanded text replaces the folded one; counts from labels and numbers.
    assert (
        posts[1]["text"]
        == "城阳一家电子厂拖欠工资两个月，厂里说订单没回款，三百多个工人每天照常上班，工资卡里一分没有。"
    )
    assert (posts[1]["reposts"], posts[1]["comments"], posts[1]["likes"]) == (15, 42, 12000)
    assert (posts[0]["reposts"], posts[0]["likes"]) == (0, 0)
    assert posts[2]["text"].endswith("//转发原文：淄博周村某纺织厂欠薪，工人集体讨薪无果")
    _, empty, _ = parse_file("weibo", weibo_file("web_search_empty.html"))
    assert empty == []


def test_block_and_malformed_pages_print_no_posts():
    code, posts, err = parse_file("weibo", weibo_file("visitor.html"))
    assert (code, posts) == (3, []) and err.strip() == "blocked: 微博访客验证页面"
    code, posts, err = parse_file("weibo", weibo_file("malformed.json"))
    assert (code, posts) == (4, []) and err.startswith("malformed: not JSON")
    code, posts, _ = parse_file("weibo", weibo_file("search_end.json"))
    assert (code, posts) == (0, [])


# ---------------------------------------------------------------------------- crawls


def weibo_site(web, pages: dict[int, object]) -> None:
    """Search pages by number (a fixture name or a handler), detail pages and the extend endpoint."""

    def search(req):
        page = int(req.arg("page"))
        answer = pages.get(page, "search_end.json")
        return answer(req) if callable(answer) else serve("weibo", answer)

    web.route("GET", "/weibo/api/container/getIndex", search)
    web.route("GET", r"/weibo/detail/5238000000000003", lambda r: serve("weibo", "detail_5238000000000003.html"))
    web.route("GET", r"/weibo/detail/5237900000000007", lambda r: serve("weibo", "detail_broken.html"))
    web.route("GET", "/weibo/statuses/extend", lambda r: serve("weibo", f"extend_{r.arg('id')}.json"))


def stored(env) -> dict[str, Post]:
    with env.db().session() as session:
        return {p.external_id: p for p in session.scalars(select(Post).where(Post.source == "weibo"))}


def test_crawl_pages_retries_fetches_full_text_and_stops_incrementally(web, env):
    env.write_sources({"weibo": source_config(f"{web.base}/weibo", options={"search_type": 61})}, keywords=["欠薪"])
    weibo_site(web, {1: "search_p1.json", 2: fail_first(1, lambda r: serve("weibo", "search_p2.json"))})

    run = env.crawl("weibo")

    assert run["status"] == "ok" and run["errors"] == 1  # the unreadable detail page
    posts = stored(env)
    assert set(posts) == {
        "5238000000000001",
        "5238000000000002",
        "5238000000000003",
        "5238000000000004",
        "5238000000000005",
        "5237900000000006",
        "5237900000000007",
        "5237900000000008",
    }
    # The long post's text came from its detail page; the other's from the extend endpoint after its detail
    # page proved unreadable.
    assert posts["5238000000000003"].text.endswith("希望有关部门能管一管。")
    assert "总额六十多万元" in posts["5237900000000007"].text
    assert posts["5238000000000001"].raw_ref.startswith("sha256:")
    query = web.hits("/weibo/api/container/getIndex")[0]
    assert query.arg("containerid") == "100103type=61&q=欠薪" and query.arg("page_type") == "searchall"
    assert [int(r.arg("page")) for r in web.hits("/weibo/api/container/getIndex")] == [1, 2, 2, 3]  # 500, retry
    assert run["requests"] == 4 + 2 + 1  # search pages (one retried), two detail pages, one extend

    web.log.clear()
    again = env.crawl("weibo")
    assert (again["posts_new"], again["status"]) == (0, "ok")
    assert len(web.hits("/weibo/api/container/getIndex")) == 1  # page 1 holds only known posts: stop

    web.reset()
    weibo_site(web, {1: "search_new.json", 2: "search_p2.json"})
    fresh = env.crawl("weibo")
    assert fresh["posts_new"] == 2
    assert {"5238100000000011", "5238100000000012"} <= set(stored(env))
    assert [int(r.arg("page")) for r in web.hits("/weibo/api/container/getIndex")] == [1, 2]


def test_malformed_page_is_counted_and_the_crawl_goes_on(web, env):
    env.write_sources({"weibo": source_config(f"{web.base}/weibo")}, keywords=["欠薪", "讨薪"])
    web.route(
        "GET",
        "/weibo/api/container/getIndex",
        lambda r: (
            serve("weibo", "malformed.json" if "欠薪" in r.arg("containerid") else "search_p2.json")
            if r.arg("page") == "1"
            else serve("weibo", "search_end.json")
        ),
    )
    web.route("GET", "/weibo/detail/.*", lambda r: serve("weibo", "detail_broken.html"))
    web.route("GET", "/weibo/statuses/extend", lambda r: serve("weibo", f"extend_{r.arg('id')}.json"))

    run = env.crawl("weibo")

    assert run["status"] == "ok" and run["errors"] == 2  # the malformed page and the unreadable detail page
    assert len(stored(env)) == 3
    with env.db().session() as session:
        cursor = session.scalars(select(CrawlCursor).where(CrawlCursor.key == "m:欠薪")).one()
        assert cursor.pass_started_at is not None  # the unread query resumes next time


def test_block_stops_the_source_backs_it_off_and_an_interrupted_pass_resumes(web, env):
    env.write_sources(
        {"weibo": source_config(f"{web.base}/weibo", block_backoff_minutes=30, options={"full_text": False})},
        keywords=["欠薪"],
    )
    blocked = {"on": True}

    def page2(req):
        return Reply(432, b"") if blocked["on"] else serve("weibo", "search_p2.json")

    weibo_site(web, {1: "search_p1.json", 2: page2})
    run = env.crawl("weibo")
    assert run["status"] == "blocked" and run["blocked_reason"].startswith("HTTP 432 微博要求登录Cookie")
    assert run["error_message"].startswith("已暂停抓取至")
    assert len(web.hits("/weibo/api/container/getIndex")) == 2  # a block is not retried
    with env.db().session() as session:
        state = session.get(SourceState, "weibo")
        assert state.consecutive_blocks == 1 and state.blocked_until is not None
    assert "5237900000000006" not in stored(env)

    # The block lifts: page 1 holds only known posts, yet the interrupted pass reads on to page 2.
    blocked["on"] = False
    web.log.clear()
    resumed = env.crawl("weibo")
    assert resumed["status"] == "ok" and resumed["posts_new"] == 3
    assert {"5237900000000006", "5237900000000007", "5237900000000008"} <= set(stored(env))
    with env.db().session() as session:
        assert session.get(SourceState, "weibo").blocked_until is None
        assert [r.status for r in session.scalars(select(CrawlRun).order_by(CrawlRun.id))] == ["blocked", "ok"]


def test_an_html_answer_instead_of_json_is_a_cookie_block(web, env):
    env.write_sources({"weibo": source_config(f"{web.base}/weibo")}, keywords=["欠薪"])
    web.route(
        "GET",
        "/weibo/api/container/getIndex",
        lambda r: Reply(200, b"<!DOCTYPE html><html><body><script>location.href='/login'</script></body></html>"),
    )
    run = env.crawl("weibo")
    assert run["status"] == "blocked" and run["blocked_reason"].startswith("返回HTML而非JSON")


def test_a_query_that_fills_the_result_cap_is_sliced_by_day_hour_and_city(web, env):
    options = {
        "web_search_url": f"{web.base}/weibo-s",
        "split_threshold_pages": 3,
        "city_codes": {"济南": 1, "青岛": 2},
    }
    env.write_sources({"weibo": source_config(f"{web.base}/weibo", max_pages=2, options=options)}, keywords=["欠薪"])
    weibo_site(web, {1: "search_p2.json"})
    env.crawl("weibo")  # the first pass ends at 2026-11-19 14:20, the newest post it saw

    def web_search(req):
        scope, region = req.arg("timescope"), req.arg("region")
        if scope == "custom:2026-11-20-0:2026-11-20-22" and region == "custom:37:1000":
            return serve("weibo", "web_search_full.html")  # a full day: split by hour
        if scope == "custom:2026-11-20-15:2026-11-20-16" and region == "custom:37:1000":
            return serve("weibo", "web_search_full.html")  # a full hour: split by city
        if scope == "custom:2026-11-20-15:2026-11-20-16":
            return serve("weibo", "web_search_city.html")
        if scope == "custom:2026-11-19-14:2026-11-20-0":
            return serve("weibo", "web_search_small.html")
        return serve("weibo", "web_search_empty.html")

    web.reset()
    weibo_site(web, {1: "search_new.json", 2: "search_p1.json"})  # two pages of new posts: the cap is reached
    web.route("GET", "/weibo-s/weibo", web_search)
    run = env.crawl("weibo")

    slices = [(r.arg("timescope"), r.arg("region"), r.arg("page")) for r in web.hits("/weibo-s/weibo")]
    # From the last pass's newest post to the oldest post on the last page Weibo shows, day by day.
    days = {
        ("custom:2026-11-20-0:2026-11-20-22", "custom:37:1000", "1"),
        ("custom:2026-11-19-14:2026-11-20-0", "custom:37:1000", "1"),
    }
    assert set(slices[:2]) == days
    hours = {s[0] for s in slices if s[1] == "custom:37:1000"} - {s[0] for s in days}
    assert len(hours) == 22
    assert ("custom:2026-11-20-15:2026-11-20-16", "custom:37:1", "1") in slices
    assert ("custom:2026-11-20-15:2026-11-20-16", "custom:37:2", "1") in slices
    assert {"5237800000000021", "5237800000000022", "5237800000000023"} <= set(stored(env))
    assert run["status"] == "ok"
    with env.db().session() as session:
        keys = session.scalars(select(CrawlCursor.key)).all()
        assert keys == ["m:欠薪"]  # finished slices leave no cursor behind
