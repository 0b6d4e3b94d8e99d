"""Every real saved page in ../shared/samples (never copied into the repository) parsed field by field: how
many posts, their ids, authors, times with +08:00 and IP属地. Under CI=true a missing samples folder fails."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from tests.crawlers.conftest import ROOT, parse_file
from wagewatch.core import clock
from wagewatch.crawlers.dates import CST


def _samples() -> Path:
    """../shared/samples from the checkout, wherever the checkout sits below the shared folder."""
    for parent in ROOT.parents:
        if (parent / "shared" / "samples").is_dir():
            return parent / "shared" / "samples"
    return ROOT.parent / "shared" / "samples"


SAMPLES = _samples() / "tieba"
pytestmark = pytest.mark.skipif(
    not SAMPLES.is_dir() and not os.environ.get("CI"), reason="../shared/samples/tieba is not here"
)
SAVED_AT = datetime(2024, 8, 7, 20, 0, tzinfo=CST)  # the pages show "8-7" and "11:24" for that day


@pytest.fixture(autouse=True)
def saved_day():
    """Tieba prints recent dates without a year ("7-6"): read them on the day the pages were saved."""
    clock.freeze(SAVED_AT)
    yield
    clock.freeze(None)


def parsed(name: str) -> list[dict]:
    assert SAMPLES.is_dir(), f"{SAMPLES} is missing (the real pages are read from ../shared, never copied)"
    code, posts, err = parse_file("tieba", SAMPLES / name)
    assert code == 0, err
    assert all(p["source"] == "tieba" and p["published_at"].endswith("+08:00") for p in posts)
    return posts


def test_every_sample_has_a_test():
    assert SAMPLES.is_dir()
    tested = {"mediacrawler_tieba_note_list.html", "mediacrawler_note_detail.html", "mediacrawler_note_comments.html"}
    assert {p.name for p in SAMPLES.glob("*.html")} == tested


def test_forum_thread_list():
    threads = parsed("mediacrawler_tieba_note_list.html")
    assert len(threads) == 48
    assert [(t["external_id"], t["thread_id"], t["author"], t["published_at"], t["comments"]) for t in threads[:5]] == [
        ("150544122828", "9079949995", "公子伯仲", "2024-07-06T00:00:00+08:00", 18),  # "7-6"
        ("132463382189", "6710984997", "张海楼🍀", "2020-05-01T00:00:00+08:00", 36),  # "2020-05"
        ("150280689996", "9017590509", "高锦💥", "2024-05-15T00:00:00+08:00", 82),
        ("150725193626", "9119398016", "y2607254515", "2024-08-06T00:00:00+08:00", 11),
        ("150695732319", "9112665546", "✨5x70✨", "2024-08-01T00:00:00+08:00", 47),
    ]
    first = threads[0]
    assert first["title"] == "盗墓笔记全集+txt小说，已整理【盗墓笔记吧】"  # forum from PageData.forum's \u escapes
    assert first["url"] == "https://tieba.baidu.com/p/9079949995" and first["text"] == "盗墓笔记全集+txt小说，已整理"
    assert threads[-1]["thread_id"] == "1138972019" and threads[-1]["comments"] == 5164241
    assert all(t["region"] is None for t in threads)  # a thread list shows no IP属地
    assert len({t["thread_id"] for t in threads}) == 48


def test_thread_page_floors_and_inline_replies():
    posts = parsed("mediacrawler_note_detail.html")
    floors = [p for p in posts if p["comments"] is not None]
    replies = [p for p in posts if p["comments"] is None]
    assert (len(posts), len(floors), len(replies)) == (40, 30, 10)
    assert [(p["external_id"], p["author"], p["published_at"], p["region"], p["comments"]) for p in floors[:3]] == [
        ("150719031818", "章景轩", "2024-08-05T16:56:00+08:00", "广东", 0),
        ("150719088158", "杜草莓", "2024-08-05T17:07:00+08:00", "广东", 123),
        ("150719258551", "我只是个薯条", "2024-08-05T17:38:00+08:00", "福建", 37),
    ]
    assert floors[0]["title"] == "对于一个父亲来说，这个女儿14岁就死了【以太比特吧】"
    assert floors[0]["text"] == ""  # the first floor is a picture only ("点击展开，查看完整图片" is dropped)
    assert [p["title"] for p in posts[1:]] == [None] * 39
    assert all(p["thread_id"] == "9117905169" for p in posts)
    assert all(p["region"] for p in floors) and {p["region"] for p in floors} >= {"广东", "山东", "中国香港"}
    assert [(p["external_id"], p["author"], p["published_at"], p["region"]) for p in replies[:2]] == [
        ("150721163086", "铭寒◆", "2024-08-05T23:48:00+08:00", None),
        ("150721875129", "youxi卡米糯", "2024-08-06T03:25:00+08:00", None),
    ]
    assert replies[0]["text"] == "号废了重练一个而已，只是她妈后来才明白这一点"
    assert replies[0]["url"] == "https://tieba.baidu.com/p/9117905169?pid=150719088158#150721163086"


def test_thread_page_with_many_floor_replies():
    posts = parsed("mediacrawler_note_comments.html")
    floors = [p for p in posts if p["comments"] is not None]
    replies = [p for p in posts if p["comments"] is None]
    # 31 floor blocks, one of them an ad with an empty data-field; 26 inline floor replies.
    assert (len(floors), len(replies)) == (30, 26)
    assert [(p["external_id"], p["author"], p["published_at"], p["region"], p["comments"]) for p in floors[:2]] == [
        ("150726491368", "heinzfrentzen", "2024-08-06T22:09:00+08:00", "福建", 0),
        ("150726496253", "heinzfrentzen", "2024-08-06T22:10:00+08:00", "福建", 4),
    ]
    assert floors[0]["title"] == "【强烈恭喜】全红婵陈宇汐包揽跳水女子10米台巴黎奥运金银牌！【网球风云吧】"
    assert floors[0]["text"] == "中国队第22金！无悬念！"
    assert [(p["external_id"], p["author"], p["published_at"], p["text"]) for p in replies[:3:2]] == [
        ("150726735994", "hxw19890526", "2024-08-06T22:55:00+08:00", "厉害啊"),
        ("150727078910", "💙💚婧儿💙💚", "2024-08-07T00:01:00+08:00", "不能"),  # "2024-8-7&nbsp;00:01"
    ]
    assert replies[1]["author"] == "🍓湿🌹啦🍓"  # showname, not user_name, from the single-quoted inline field
    assert replies[0]["url"] == "https://tieba.baidu.com/p/9119688421?pid=150726496253#150726735994"
    assert sum(1 for p in floors if p["region"] == "上海") == 7 and all(p["region"] for p in floors)
