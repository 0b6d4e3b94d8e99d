"""Small pure pieces of the crawlers: time formats, block recognition, signatures and slicing."""

from __future__ import annotations

from datetime import datetime

import pytest

from wagewatch.crawlers.blocks import block_reason, redirect_block_reason
from wagewatch.crawlers.dates import CST, from_unix, parse_site_time
from wagewatch.crawlers.readable import clean_title
from wagewatch.crawlers.signing import compact_json, liuyan_body, md5_hex, tieba_sign
from wagewatch.crawlers.spiders.weibo import _day_slices
from wagewatch.crawlers.textutil import to_int

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=CST)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("刚刚", "2026-11-27T12:00:00+08:00"),
        ("30秒前", "2026-11-27T11:59:30+08:00"),
        ("5分钟前", "2026-11-27T11:55:00+08:00"),
        ("2小时前", "2026-11-27T10:00:00+08:00"),
        ("今天 08:03", "2026-11-27T08:03:00+08:00"),
        ("11:24", "2026-11-27T11:24:00+08:00"),
        ("昨天 12:30", "2026-11-26T12:30:00+08:00"),
        ("11-20", "2026-11-20T00:00:00+08:00"),
        ("12-30", "2025-12-30T00:00:00+08:00"),  # read on 27 November: last December
        ("03月05日 10:00", "2026-03-05T10:00:00+08:00"),
        ("2024-8-6 22:11", "2024-08-06T22:11:00+08:00"),
        ("2023年03月05日 10:00", "2023-03-05T10:00:00+08:00"),
        ("2020-05", "2020-05-01T00:00:00+08:00"),
        ("Sat Aug 20 18:29:52 +0800 2022", "2022-08-20T18:29:52+08:00"),
        ("2026-11-25T10:32:00+08:00", "2026-11-25T10:32:00+08:00"),
    ],
)
def test_site_time_formats(text, expected):
    assert parse_site_time(text, NOW).isoformat() == expected


def test_unreadable_times_and_unix_seconds():
    assert parse_site_time("很久以前", NOW) is None and parse_site_time(None, NOW) is None
    assert from_unix(1795653000).isoformat() == "2026-11-26T08:30:00+08:00"
    assert from_unix("1795653000000").isoformat() == "2026-11-26T08:30:00+08:00"  # milliseconds
    assert from_unix("") is None and from_unix(0) is None


def test_counts_with_units():
    assert [to_int(v) for v in (12, "12", "1.2万", "3万+", "1亿", "", None, "多")] == [
        12,
        12,
        12000,
        30000,
        100000000,
        None,
        None,
        None,
    ]


def test_blocks_are_recognised_where_block_pages_put_them():
    assert block_reason(432, "https://m.weibo.cn/api/container/getIndex", "") == "HTTP 432 微博要求登录Cookie"
    assert (
        block_reason(200, "https://wappass.baidu.com/static/captcha/tuxing.html?x=1", "<html></html>")
        == "百度验证码跳转"
    )
    assert (
        block_reason(200, "https://x", "<html><head><title>百度安全验证</title></head></html>") == "百度安全验证码页面"
    )
    assert block_reason(200, "https://x", '{"ok":0,"msg":"请求过于频繁，歇歇吧"}') == "请求过于频繁"
    assert block_reason(200, "https://x", "   ") == "空响应（疑似限流）"
    assert redirect_block_reason("https://passport.weibo.cn/signin/login?r=x") == "微博登录跳转"
    assert redirect_block_reason("https://tieba.baidu.com/p/1?pn=2") is None
    # A long page that merely quotes a block phrase is content, not a block.
    page = (
        "<html><head><title>求助：网站老说请先登录</title></head><body>" + "请先登录" + "正文" * 3000 + "</body></html>"
    )
    assert block_reason(200, "https://tieba.baidu.com/p/1", page) is None


def test_signatures():
    assert tieba_sign({"kw": "济南", "pn": 1, "_client_type": "20"}, "s3cret") == md5_hex(
        "_client_type=20kw=济南pn=1s3cret"
    )
    assert compact_json({"keywords": "山东 欠薪", "page": 1}) == '{"keywords":"山东 欠薪","page":1}'
    body = liuyan_body("/v1/threads/content", {"tid": "20001"}, "PC42ce3bfa4980a9")
    assert body.startswith('{"appCode":"PC42ce3bfa4980a9","token":"","signature":"') and body.endswith(
        '"param":"{\\"tid\\":\\"20001\\"}"}'
    )


def test_titles_lose_the_portal_suffix():
    assert clean_title("济南：30余名农民工讨薪 人社部门介入_山东新闻_大众网") == "济南：30余名农民工讨薪 人社部门介入"
    assert clean_title("寿光季节工讨薪有了绿色通道 - 齐鲁网") == "寿光季节工讨薪有了绿色通道"
    assert clean_title("短_标题") == "短_标题"


def test_day_slices_cover_the_window_newest_first():
    start = datetime(2026, 11, 19, 14, 20, tzinfo=CST)
    end = datetime(2026, 11, 20, 21, 10, tzinfo=CST)
    assert [(a.strftime("%d %H"), b.strftime("%d %H")) for a, b in _day_slices(start, end)] == [
        ("20 00", "20 22"),
        ("19 14", "20 00"),
    ]


def test_fields_of_unexpected_types_make_an_answer_malformed_not_a_crash():
    from scrapy.http import Request, TextResponse

    from wagewatch.crawlers.spiders.base import MalformedResponse, guarded

    response = TextResponse(url="https://m.weibo.cn/x", body=b"{}", request=Request("https://m.weibo.cn/x"))
    with pytest.raises(MalformedResponse, match="unexpected shape: KeyError"):
        guarded(lambda r: {}["cards"], response)
