"""The YAML-driven spider: an HTML list with detail pages and a JSON API, configured without code."""

from __future__ import annotations

from sqlalchemy import select

from tests.crawlers.conftest import parse_file, source_config
from tests.crawlers.site import FIXTURES, Reply, fail_first, fixture, serve
from wagewatch.core.store.models import Post


def html_source(base: str) -> dict:
    return source_config(
        base,
        spider="generic",
        max_pages=2,
        options={
            "list_url": base + "/gen/list_{page}.htm",
            "items": "//div[@id='main2']//li",
            "fields": {"url": ".//h3/a/@href", "title": ".//h3/a/text()", "published_at": "p label::text"},
            "date_format": "%Y-%m-%d %H:%M",
            "keyword_in": "list",
            "detail": {"fields": {"text": "div.TRS_Editor", "author": "div.author::text", "title": "h2::text"}},
        },
    )


def json_source(base: str) -> dict:
    return source_config(
        base,
        spider="generic",
        options={
            "list_url": base + "/gen/api/letters?kw={query}&p={page}",
            "format": "json",
            "items": "data.list",
            "fields": {
                "id": "id",
                "title": "title",
                "text": "body",
                "author": "user.name",
                "published_at": "ctime",
                "comments": "reply.count",
            },
            "url_template": "https://www.example.gov.cn/letters/{id}",
        },
    )


def test_parse_uses_the_sources_configuration(env):
    env.write_sources(
        {"dz_list": html_source("https://sd.dzwww.com"), "letters": json_source("https://www.example.gov.cn")}
    )
    code, posts, _ = parse_file(
        "dz_list", FIXTURES / "news" / "list_gbk.html", url="https://sd.dzwww.com/sdnews/", config=env.directory
    )
    assert code == 0
    assert [(p["source"], p["title"], p["published_at"]) for p in posts] == [
        ("dz_list", "济南：30余名农民工讨薪 人社部门介入", "2026-11-25T10:32:00+08:00"),
        ("dz_list", "全省冬季供暖全面启动", "2026-11-25T09:10:00+08:00"),
        ("dz_list", "临沂：物流园装卸工欠薪问题已解决", "2026-11-24T17:45:00+08:00"),
    ]
    assert posts[2]["url"] == "https://sd.dzwww.com/sdnews/202611/t20261124_10003.htm"  # relative link resolved
    code, letters, _ = parse_file("letters", FIXTURES / "generic" / "letters_p1.json", config=env.directory)
    assert [(p["external_id"], p["url"], p["author"], p["published_at"], p["comments"]) for p in letters] == [
        ("88001", "https://www.example.gov.cn/letters/88001", "东营网友", "2026-11-25T11:50:00+08:00", 2),
        ("88002", "https://www.example.gov.cn/letters/88002", "咨询者", "2026-11-24T11:50:00+08:00", 0),
        ("88003", "https://www.example.gov.cn/letters/88003", None, "2026-11-20T16:45:00+08:00", 1),
    ]
    # A detail page saved on its own parses through the detail fields.
    _, detail, _ = parse_file("dz_list", FIXTURES / "news" / "article_gbk.html", config=env.directory)
    assert detail[0]["title"] == "济南：30余名农民工讨薪 人社部门介入" and detail[0]["author"] == "作者：张晓"


def test_html_list_with_detail_pages_and_keyword_filter(web, env):
    env.write_sources({"dz_list": html_source(web.base)})
    list_page = fixture("news", "list_gbk.html").replace(b"{base}", web.base.encode())
    web.route("GET", "/gen/list_1.htm", lambda r: Reply(200, list_page, "text/html"))
    web.route("GET", "/gen/list_2.htm", lambda r: serve("generic", "list_old.html"))
    web.route(
        "GET",
        "/news/dz/202611/t20261125_10001.htm",
        lambda r: Reply(200, fixture("news", "article_gbk.html"), "text/html"),
    )
    web.route(
        "GET",
        "/news/dz/202410/t20241001_90001.htm",
        lambda r: Reply(200, fixture("news", "article_gbk.html"), "text/html"),
    )
    web.route(
        "GET",
        "/gen/202611/t20261124_10003.htm",
        fail_first(1, lambda r: Reply(200, fixture("news", "article_gbk.html"), "text/html")),
    )

    run = env.crawl("dz_list")

    assert run["status"] == "ok" and run["errors"] == 0
    with env.db().session() as session:
        posts = {p.url.removeprefix(web.base): p for p in session.scalars(select(Post).where(Post.source == "dz_list"))}
    assert set(posts) == {
        "/news/dz/202611/t20261125_10001.htm",
        "/gen/202611/t20261124_10003.htm",
        "/news/dz/202410/t20241001_90001.htm",
    }
    post = posts["/news/dz/202611/t20261125_10001.htm"]
    assert post.text.startswith("11月24日,济南市历城区") and post.author == "作者：张晓"  # only the text is normalised
    assert not web.hits("/news/dz/202611/t20261125_10002.htm")  # no keyword in its title
    assert [r.path for r in web.hits("/gen/list_.*")] == ["/gen/list_1.htm", "/gen/list_2.htm"]  # max_pages: 2

    web.log.clear()
    again = env.crawl("dz_list")
    assert again["posts_new"] == 0 and [r.path for r in web.log] == ["/gen/list_1.htm"]


def test_json_api_source_per_query(web, env):
    env.write_sources({"letters": json_source(web.base)}, keywords=["欠薪", "拖欠工资"])
    web.route(
        "GET",
        "/gen/api/letters",
        lambda r: serve(
            "generic", "letters_p1.json" if r.arg("kw") == "拖欠工资" and r.arg("p") == "1" else "letters_empty.json"
        ),
    )
    run = env.crawl("letters")
    assert run["status"] == "ok" and run["posts_new"] == 3
    assert sorted((r.arg("kw"), r.arg("p")) for r in web.log) == [("拖欠工资", "1"), ("拖欠工资", "2"), ("欠薪", "1")]


def test_a_broken_generic_source_names_file_and_key(env):
    env.write_sources({"broken": source_config("https://example.org", spider="generic", options={"items": "li"})})
    result = env.cli("crawl", "broken")
    assert result.exit_code == 2
    assert "sources.yaml: key 'sources.broken.options.list_url': Field required" in result.output
