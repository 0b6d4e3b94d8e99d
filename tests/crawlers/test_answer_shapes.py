"""What an answer is, judged by its content: a login or captcha wall is a block (exit 3, the source is blocked),
an answer of unknown shape is an error (exit 4, counted in the run, the source flagged), never zero posts;
JSON is not an HTML page; an oversized page is refused. `wagewatch parse --file` and a live crawl agree."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.crawlers.conftest import parse_file, source_config
from tests.crawlers.site import FIXTURES, Reply, serve
from tests.crawlers.test_generic import html_source
from wagewatch.core.store.models import Post

COMMENT_URL = "https://tieba.baidu.com/p/comment?tid=9300000001&pid=151000000002&fid=1234567&pn={}"


# ---------------------------------------------------------------------------- 楼中楼 in the real fragment shape


def test_floor_reply_fragment_field_by_field():
    code, replies, _ = parse_file("tieba", FIXTURES / "tieba" / "comment_p1.html", url=COMMENT_URL.format(1))
    assert code == 0 and len(replies) == 10
    assert replies[0] == {
        "source": "tieba", "external_id": "151000000201",
        "url": "https://tieba.baidu.com/p/9300000001?pid=151000000002#151000000201", "title": None,
        "text": "打了，说会转给相关部门", "author": "泉城打工仔",  # \u-escaped in the entity-escaped data-field
        "published_at": "2026-11-24T09:01:00+08:00",  # "2026-11-24 9:01": no zero padding
        "reposts": None, "comments": None, "likes": None, "region": None, "thread_id": "9300000001",
    }  # fmt: skip
    assert replies[1]["author"] == "路人乙"  # showname, not the account name
    assert replies[5]["text"] == "回复 泉城打工仔 :同问，后来怎么样了（3）"  # the reply prefix kept, smiley dropped
    assert [r["published_at"][11:16] for r in replies[2:]] == [f"{h}:00" for h in range(10, 18)]
    _, second, _ = parse_file("tieba", FIXTURES / "tieba" / "comment_p2.html", url=COMMENT_URL.format(2))
    assert [(r["external_id"], r["author"]) for r in second] == [
        ("151000000221", "泉城打工仔"), ("151000000222", "热心吧友😜")]  # a surrogate-pair \u escape  # fmt: skip


def test_fragment_is_recognised_by_its_content_without_its_url():
    _, with_url, _ = parse_file("tieba", FIXTURES / "tieba" / "comment_p1.html", url=COMMENT_URL.format(1))
    code, bare, _ = parse_file("tieba", FIXTURES / "tieba" / "comment_p1.html")
    assert code == 0
    assert [(p["external_id"], p["text"], p["published_at"]) for p in bare] == [
        (p["external_id"], p["text"], p["published_at"]) for p in with_url
    ]
    assert bare[0]["thread_id"] is None and bare[0]["url"] == "https://tieba.baidu.com/p/comment?pid=#151000000201"


# ---------------------------------------------------------------------------- walls, unknown shapes, types


@pytest.mark.parametrize(
    "source, name, reason",
    [
        ("tieba", "passport_jump.html", "百度登录跳转"),  # a short page sending the browser on by script
        ("tieba", "wappass_refresh.html", "百度验证码跳转"),  # by meta refresh
        ("tieba", "api_captcha.json", "百度验证码跳转"),  # a JSON answer pointing at the captcha
        ("weibo", "visitor_refresh.html", "微博登录跳转"),
        ("weibo", "login_json.json", "微博登录跳转"),  # {"ok": -100, "url": ".../login?..."}
    ],
)
def test_login_and_captcha_walls_are_blocks(source, name, reason):
    code, posts, err = parse_file(source, FIXTURES / source / name)
    assert (code, posts, err.strip()) == (3, [], f"blocked: {reason}")


@pytest.mark.parametrize(
    "source, name, message",
    [
        ("weibo", "data_unwrapped.json", "malformed: unknown answer: ok=None"),  # `data` without {"ok":1,"data":…}
        ("weibo", "cards_object.json", "malformed: data.cards is dict, not a list"),
        ("news", "api_answer.json", "malformed: JSON where an HTML page was expected"),
    ],
)
def test_unknown_shapes_are_errors_not_zero_posts(source, name, message):
    code, posts, err = parse_file(source, FIXTURES / source / name)
    assert (code, posts) == (4, []) and err.startswith(message), err


def _changed(tmp_path, source: str, name: str, old: str, new: str):
    """One of our fixtures with a piece of its layout changed, the way a site redesign changes it."""
    text = (FIXTURES / source / name).read_text(encoding="utf-8")
    assert old in text
    page = tmp_path / name
    page.write_text(text.replace(old, new), encoding="utf-8")
    return page


@pytest.mark.parametrize(
    "source, name, old, new, message",
    [
        # result cards renamed: the result container is still there, but neither cards nor the no-result card
        ("weibo", "web_search_small.html", 'class="card-wrap"', 'class="card-wrap-v2"', "no result cards and no"),
        ("tieba", "forum_jinan.html", "j_thread_list", "j_thread_item", "thread_list pagelet without a readable"),
        ("tieba", "search.html", "data-tid=", "data-thread=", "s_post results without thread and post ids"),
    ],
)
def test_changed_layouts_are_errors_not_zero_posts(tmp_path, source, name, old, new, message):
    code, posts, err = parse_file(source, _changed(tmp_path, source, name, old, new))
    assert (code, posts) == (4, []) and err.startswith(f"malformed: {message}"), err


def test_tieba_search_answer_with_cards_of_another_type_is_an_error(tmp_path):
    answer = json.loads((FIXTURES / "tieba" / "api_search.json").read_text(encoding="utf-8"))
    answer["data"]["card_list"] = {"items": answer["data"]["card_list"]}
    page = tmp_path / "api_search.json"
    page.write_text(json.dumps(answer, ensure_ascii=False), encoding="utf-8")
    assert parse_file("tieba", page)[::2] == (4, "malformed: data.card_list is not a list\n")


def test_generic_html_source_refuses_json(env):
    env.write_sources({"dz_list": html_source("https://sd.dzwww.com")})
    code, posts, err = parse_file("dz_list", FIXTURES / "news" / "api_answer.json", config=env.directory)
    assert (code, posts, err.strip()) == (4, [], "malformed: JSON where an HTML page was expected")


def test_oversized_saved_page_is_refused(tmp_path):
    page = tmp_path / "huge.html"
    filler = "<p>" + "山东济南某工地农民工讨薪，" * 40 + "</p>\n"
    page.write_text("<html><body>" + filler * (5_200_000 // len(filler.encode())) + "</body></html>", encoding="utf-8")
    code, posts, err = parse_file("news", page)
    assert (
        (code, posts) == (4, []) and err.startswith("malformed: 页面过大，已拒绝：") and "max_page_bytes 5000000" in err
    )


# ---------------------------------------------------------------------------- the same in a live crawl


def test_unknown_weibo_answer_fails_the_run_and_flags_the_source(web, env):
    env.write_sources({"weibo": source_config(f"{web.base}/weibo", queries=["欠薪"], options={"full_text": False})})
    web.route("GET", "/weibo/api/container/getIndex", lambda r: serve("weibo", "data_unwrapped.json"))
    run = env.crawl("weibo")
    assert (run["status"], run["posts_found"], run["errors"]) == ("failed", 0, 1)
    (line,) = env.cli("sources", "--json").output.splitlines()
    health = json.loads(line)
    assert health["health"] == "failing" and health["last_run"]["error_message"] == "1个页面无法解析，网站可能已改版"


def test_script_redirect_to_passport_blocks_a_live_crawl(web, env):
    env.write_sources({"tieba": source_config(f"{web.base}/tieba", options={"mode": "html", "forums": ["济南"]})})
    web.route("GET", "/tieba/f/search/res", lambda r: serve("tieba", "passport_jump.html"))
    web.route("GET", "/tieba/f", lambda r: serve("tieba", "passport_jump.html"))
    run = env.crawl("tieba")
    assert run["status"] == "blocked" and run["blocked_reason"].startswith("百度登录跳转 (")


def test_refresh_header_to_the_weibo_visitor_system_blocks(web, env):
    env.write_sources({"weibo": source_config(f"{web.base}/weibo", queries=["欠薪"])})
    web.route("GET", "/weibo/api/container/getIndex", lambda r: Reply(200, "", headers={
        "Refresh": "0; url=https://passport.weibo.com/visitor/visitor?entry=miniblog"}))  # fmt: skip
    run = env.crawl("weibo")
    assert run["status"] == "blocked" and run["blocked_reason"].startswith("微博登录跳转 (")


def test_oversized_page_is_refused_in_a_crawl_and_counted(web, env):
    options = {"list_pages": [{"url": f"{web.base}/news/list/", "links": r"/news/a/\d+\.htm$"}], "keyword_in": "title"}
    env.write_sources({"news": source_config(f"{web.base}/news", max_page_bytes=20_000, options=options)})
    big = (
        "<html><head><title>济南农民工讨薪</title></head><body>"
        + "<p>工地欠薪，工人讨薪。</p>" * 3000
        + "</body></html>"
    )
    web.route(
        "GET",
        "/news/list/",
        lambda r: Reply(200, '<html><body><a href="/news/a/1.htm">济南农民工讨薪</a></body></html>'),
    )
    web.route("GET", "/news/a/1.htm", lambda r: Reply(200, big))
    run = env.crawl("news")
    assert (run["posts_found"], run["errors"]) == (0, 1)
    assert "larger than download max size" in (env.directory / "last-crawl.log").read_text(encoding="utf-8")
    with env.db().session() as session:
        assert session.scalars(select(Post)).all() == []


def test_proxy_is_set_per_request(web, env):
    """`proxy_env` names the variable holding the proxy; every request carries it in `meta['proxy']`, so the
    site's own host is never looked up: the proxy (our test site) receives the absolute URL."""
    env.write_sources({"weibo": source_config("http://m.weibo.example", queries=["欠薪"], proxy_env="TEST_PROXY")})
    web.route("GET", "/api/container/getIndex", lambda r: serve("weibo", "search_end.json"))
    run = env.crawl("weibo", extra_env={"TEST_PROXY": web.base})
    assert run["status"] == "ok"
    (hit,) = web.hits("/api/container/getIndex")
    assert hit.headers["Host"] == "m.weibo.example"
