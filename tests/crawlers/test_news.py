"""News: feeds (RSS and Atom), list pages in GB2312, readable article text, and crawls of all of them."""

from __future__ import annotations

from sqlalchemy import select

from tests.crawlers.conftest import parse_file, source_config
from tests.crawlers.site import FIXTURES, Reply, fail_first, fixture
from wagewatch.core.store.models import Post


def news_file(name: str):
    return FIXTURES / "news" / name


def test_feeds_give_entries_with_their_times():
    code, posts, _ = parse_file("news", news_file("feed_rss.xml"))
    assert code == 0
    assert [(p["title"], p["published_at"]) for p in posts] == [
        ("济南：30余名农民工讨薪 人社部门介入", "2026-11-25T10:32:00+08:00"),
        ("青岛地铁新线开通在即", "2026-11-25T09:00:00+08:00"),
        ("烟台一装修队老板欠薪失联 工人讨要工钱", "2026-11-24T18:00:00+08:00"),
    ]
    assert posts[0]["text"] == "11月24日，济南市历城区某工地30余名农民工反映被拖欠工资约80万元……"
    assert posts[0]["author"] == "大众网记者 张晓" and len(posts[0]["external_id"]) == 40
    _, atom, _ = parse_file("news", news_file("feed_atom.xml"))
    assert [(p["title"], p["author"], p["published_at"]) for p in atom] == [
        ("潍坊寿光：季节工讨薪有了“绿色通道”", "齐鲁网记者", "2026-11-26T08:30:00+08:00")
    ]


def test_readable_article_in_its_declared_charset():
    code, posts, _ = parse_file(
        "news", news_file("article_gbk.html"), url="https://sd.dzwww.com/sdnews/202611/t20261125_10001.htm"
    )
    assert code == 0
    (article,) = posts
    assert article["title"] == "济南：30余名农民工讨薪 人社部门介入"  # without "_山东新闻_大众网"
    assert article["author"] == "张晓" and article["published_at"] == "2026-11-25T10:32:00+08:00"
    assert article["text"].startswith("11月24日，济南市历城区某安置房项目工地30余名农民工来到区人社局")
    assert "热点推荐" not in article["text"] and "版权所有" not in article["text"]
    assert article["url"] == "https://sd.dzwww.com/sdnews/202611/t20261125_10001.htm"
    code, posts, err = parse_file("news", news_file("empty.html"))
    assert (code, posts) == (4, []) and err.strip() == "malformed: no readable article text"


def templated(name: str, base: str, content_type: str) -> Reply:
    """Feeds and lists link to absolute URLs; `{base}` in a fixture becomes the test site's address."""
    return Reply(200, fixture("news", name).replace(b"{base}", base.encode()), content_type)


def news_site(web) -> None:
    base = web.base
    web.route("GET", "/news/feed.xml", lambda r: templated("feed_rss.xml", base, "application/rss+xml; charset=utf-8"))
    web.route(
        "GET", "/news/atom.xml", fail_first(1, lambda r: templated("feed_atom.xml", base, "application/atom+xml"))
    )
    web.route("GET", "/news/dz/", lambda r: templated("list_gbk.html", base, "text/html"))
    web.route(
        "GET", "/news/article/jinan-30.htm", lambda r: Reply(200, fixture("news", "article_gbk.html"), "text/html")
    )
    web.route("GET", "/news/article/shouguang.htm", lambda r: Reply(200, fixture("news", "article_utf8.html")))
    web.route(
        "GET",
        "/news/dz/202611/t20261125_10001.htm",
        lambda r: Reply(200, fixture("news", "article_gbk.html"), "text/html"),
    )
    web.route("GET", "/news/dz/202611/t20261124_10003.htm", lambda r: Reply(200, fixture("news", "empty.html")))


def test_crawl_feeds_and_lists_fetches_matching_articles_only(web, env):
    options = {
        "feeds": [f"{web.base}/news/feed.xml", f"{web.base}/news/atom.xml"],
        "list_pages": [{"url": f"{web.base}/news/dz/", "links": r"/news/dz/\d{6}/t\d{8}_\d+\.htm$"}],
    }
    env.write_sources({"news": source_config(f"{web.base}/news", options=options)})
    news_site(web)

    run = env.crawl("news")

    assert run["status"] == "ok" and run["errors"] == 2  # the missing article (404) and the empty page
    with env.db().session() as session:
        posts = {p.url.removeprefix(web.base): p for p in session.scalars(select(Post))}
    assert set(posts) == {
        "/news/article/jinan-30.htm",
        "/news/article/yantai-gone.htm",
        "/news/article/shouguang.htm",
        "/news/dz/202611/t20261125_10001.htm",
    }
    assert posts["/news/dz/202611/t20261125_10001.htm"].title == "济南：30余名农民工讨薪 人社部门介入"
    assert "劳动保障监察大队" in posts["/news/article/jinan-30.htm"].text  # the article, not the feed summary
    assert posts["/news/article/yantai-gone.htm"].text.startswith("烟台福山区一装修队老板")  # kept from the feed
    assert not web.hits("/news/article/qingdao-metro.htm") and not web.hits("/news/dz/202611/t20261125_10002.htm")
    assert len(web.hits("/news/atom.xml")) == 2  # a 500, then the retry

    web.log.clear()
    again = env.crawl("news")
    assert again["posts_new"] == 0
    fetched = {r.path for r in web.hits("/news/.*")} - {"/news/feed.xml", "/news/atom.xml", "/news/dz/"}
    assert fetched == {"/news/dz/202611/t20261124_10003.htm"}  # the unreadable page, never stored, is tried again


def test_forbidden_feed_blocks_the_source(web, env):
    env.write_sources({"news": source_config(f"{web.base}/news", options={"feeds": [f"{web.base}/news/feed.xml"]})})
    web.route("GET", "/news/feed.xml", lambda r: Reply(403, "<html><body>Forbidden</body></html>"))
    run = env.crawl("news")
    assert run["status"] == "blocked" and run["blocked_reason"].startswith("HTTP 403 禁止访问")
