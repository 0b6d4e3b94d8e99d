"""`wagewatch parse` on every fixture file: the posts each holds (by id), or the exit code of a block (3) or an
unreadable answer (4). The field-by-field checks are in each source's own test file."""

from __future__ import annotations

import pytest

from tests.crawlers.conftest import parse_file
from tests.crawlers.site import FIXTURES

EXPECTED = [
    ("weibo", "detail_5238000000000003.html", 0, ["5238000000000003"]),
    ("weibo", "cards_object.json", 4, []),
    ("weibo", "data_unwrapped.json", 4, []),
    ("weibo", "detail_broken.html", 4, []),
    ("weibo", "extend_5237900000000007.json", 0, []),
    ("weibo", "login_json.json", 3, []),
    ("weibo", "malformed.json", 4, []),
    ("weibo", "search_end.json", 0, []),
    (
        "weibo",
        "search_legacy.json",
        0,
        [
            "4310000000000051",
            "4310000000000052",
            "4310000000000053",
            "4310000000000054",
            "4310000000000055",
            "4310000000000056",
        ],
    ),
    (
        "weibo",
        "search_new.json",
        0,
        ["5238100000000011", "5238100000000012", "5238000000000001", "5238000000000002", "5238000000000003"],
    ),
    (
        "weibo",
        "search_p1.json",
        0,
        ["5238000000000001", "5238000000000002", "5238000000000003", "5238000000000004", "5238000000000005"],
    ),
    ("weibo", "search_p2.json", 0, ["5237900000000006", "5237900000000007", "5237900000000008"]),
    ("weibo", "visitor.html", 3, []),
    ("weibo", "visitor_refresh.html", 3, []),
    ("weibo", "web_search_city.html", 0, ["5237800000000022", "5237800000000023"]),
    ("weibo", "web_search_empty.html", 0, []),
    ("weibo", "web_search_full.html", 0, ["5237800000000021", "5237800000000022", "5237800000000023"]),
    ("weibo", "web_search_small.html", 0, ["5237800000000021"]),
    ("tieba", "api_captcha.json", 3, []),
    ("tieba", "api_frs.json", 0, ["t8000000001", "152000000001", "152000000051"]),
    ("tieba", "api_pb.json", 0, ["152000000001", "152000000002"]),
    ("tieba", "api_search.json", 0, ["152000000001", "t9400000002"]),
    ("tieba", "api_sync.json", 0, []),
    (
        "tieba",
        "comment_p1.html",
        0,
        [
            "151000000201",
            "151000000202",
            "151000000210",
            "151000000211",
            "151000000212",
            "151000000213",
            "151000000214",
            "151000000215",
            "151000000216",
            "151000000217",
        ],
    ),
    ("tieba", "comment_p2.html", 0, ["151000000221", "151000000222"]),
    ("tieba", "forum_jinan.html", 0, ["120000000001", "151000000001", "151000000031", "151000000041"]),
    ("tieba", "forum_jinan_p2.html", 0, ["150000000091"]),
    ("tieba", "passport_jump.html", 3, []),
    ("tieba", "search.html", 0, ["151000000020", "151000000005"]),
    ("tieba", "search_empty.html", 0, []),
    ("tieba", "security.html", 3, []),
    ("tieba", "thread_hit.html", 0, ["151000000020", "151000000021"]),
    ("tieba", "thread_p1.html", 0, ["151000000001", "151000000002", "151000000201", "151000000202", "151000000003"]),
    ("tieba", "thread_p2.html", 0, ["151000000004", "151000000005", "151000000006"]),
    ("tieba", "thread_p3.html", 0, ["151000000007", "151000000008"]),
    ("tieba", "wappass_refresh.html", 3, []),
    ("liuyan", "content_20001.json", 0, ["20001", "20001:reply:1"]),
    ("liuyan", "content_20002.json", 0, ["20002"]),
    ("liuyan", "content_20002_answered.json", 0, ["20002", "20002:reply:1"]),
    ("liuyan", "content_20004.json", 0, ["20004"]),
    ("liuyan", "list_p1.json", 0, ["20004", "20001"]),
    ("liuyan", "search_empty.json", 0, []),
    ("liuyan", "search_p1.json", 0, ["20002", "20003", "20001"]),
    ("liuyan", "search_p1_answered.json", 0, ["20002", "20003", "20001"]),
    ("liuyan", "search_p2.json", 0, ["20004", "20005"]),
    ("liuyan", "sn0006.json", 3, []),
    ("heimao", "login.html", 3, []),
    ("heimao", "search_p1.json", 0, ["17390000001", "17390000002", "17390000003"]),
    ("heimao", "search_p2.json", 0, ["17390000004", "17390000005"]),
    ("heimao", "truncated.json", 4, []),
    ("news", "api_answer.json", 4, []),
    ("news", "article_gbk.html", 0, ["济南：30余名农民工讨薪 人社部门介入"]),
    ("news", "article_utf8.html", 0, ["潍坊寿光：季节工讨薪有了“绿色通道”"]),
    ("news", "empty.html", 4, []),
    ("news", "feed_atom.xml", 0, ["潍坊寿光：季节工讨薪有了“绿色通道”"]),
    (
        "news",
        "feed_rss.xml",
        0,
        ["济南：30余名农民工讨薪 人社部门介入", "青岛地铁新线开通在即", "烟台一装修队老板欠薪失联 工人讨要工钱"],
    ),
    ("news", "list_gbk.html", 4, []),
]


@pytest.mark.parametrize("source, name, code, ids", EXPECTED, ids=[f"{s}/{n}" for s, n, _, _ in EXPECTED])
def test_fixture_parses_to_its_posts(source, name, code, ids):
    exit_code, posts, err = parse_file(source, FIXTURES / source / name)
    assert exit_code == code, err
    # News articles have hashed ids: they are named by title.
    assert [p["title"] if source == "news" else p["external_id"] for p in posts] == ids
    if code:
        assert err.startswith(("blocked: ", "malformed: ")) and err.count("\n") == 1  # one line on stderr
    for post in posts:
        assert post["source"] == source and post["url"] and post["text"] is not None
        assert post["published_at"] is None or post["published_at"][-6:] in ("+08:00", "+00:00")


def test_every_fixture_is_listed():
    listed = {(s, n) for s, n, _, _ in EXPECTED}
    present = {(d.name, f.name) for d in FIXTURES.iterdir() if d.name != "generic" for f in d.iterdir()}
    assert present == listed
