"""The whole path: a Scrapy spider crawls a local site, posts are stored, analysed, clustered, routed to
their Shandong city, and the duty officer receives an email through a real SMTP server, with a lead."""

from __future__ import annotations

from datetime import datetime, timedelta
from email import message_from_bytes, policy

from sqlalchemy import func, select

from tests.conftest import FIXTURES, Route
from tests.helpers import wagewatch, weibo_search_path
from wagewatch.core import clock
from wagewatch.core.config import load_config
from wagewatch.core.store import Database
from wagewatch.core.store.models import AlertDelivery, Lead, Post
from wagewatch.pipeline import run_stage

DAYTIME = datetime(2026, 11, 27, 10, 0, tzinfo=clock.LOCAL_TZ)


def point_at(config_files, test_site, smtp_server=None) -> None:
    def sources(data):
        data["sources"] = {
            "weibo": {
                **data["sources"]["weibo"],
                "base_url": test_site.url,
                "queries": ["欠薪"],
                "download_delay": 0,
                "max_pages": 3,
                "horizon_days": 30,
            }
        }

    config_files.update("sources.yaml", sources)
    if smtp_server:
        config_files.update("settings.yaml", lambda s: s["smtp"].update(host="127.0.0.1", port=smtp_server.port))


def serve_weibo(test_site) -> None:
    test_site.serve(weibo_search_path("欠薪", 1), Route((FIXTURES / "weibo/search_page1.json").read_bytes()))
    test_site.serve(weibo_search_path("欠薪", 2), Route((FIXTURES / "weibo/search_end.json").read_bytes()))


def test_crawl_to_email_and_lead(config_files, test_site, smtp_server):
    point_at(config_files, test_site, smtp_server)
    serve_weibo(test_site)

    crawled = wagewatch(config_files.root, "crawl", "weibo")
    assert crawled.returncode == 0, crawled.stderr[-2000:]
    assert '"posts_new": 3' in crawled.stdout

    config = load_config(config_files.root)
    db = Database(config.settings.database_url)
    clock.freeze(DAYTIME)
    for stage in ("analyze", "cluster", "dispatch"):
        run_stage(stage, config, db)

    smtp_server.wait_for(1)
    duty = smtp_server.to("duty-day@linyi.example.gov.cn")
    assert len(duty) == 1, [m["To"] for m in smtp_server.messages]
    mail = duty[0]
    assert "临沂" in mail["Subject"] and "预警" in mail["Subject"]
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "临沂市兰陵县" in body
    assert "鑫达建设有限公司" in body
    assert "包工头跑路" in body
    assert "/leads/" in body
    assert mail.get_body(preferencelist=("html",)).get_content().count("<a href=") >= 2
    # The night-shift officer is off duty at 10:00 and hears nothing.
    assert not smtp_server.to("duty-night@linyi.example.gov.cn")
    # The false claim in Jinan goes to Jinan's publicity office for clarification, not to labour inspection.
    assert len(smtp_server.to("wangxin@jinan.example.gov.cn")) == 1
    assert not smtp_server.to("duty-day@jinan.example.gov.cn")

    with db.session() as session:
        lead = session.scalars(select(Lead).where(Lead.city == "临沂")).one()
        assert lead.officer_id == "linyi-duty-day"
        assert lead.status == "待签收"
        assert lead.deadline - lead.created_at in (timedelta(days=3), timedelta(days=7))
        assert session.scalar(select(func.count()).select_from(Post)) == 3
        assert session.scalar(
            select(func.count()).select_from(AlertDelivery).where(AlertDelivery.status == "sent")
        ) == len(smtp_server.messages)


def test_without_smtp_alerts_land_in_the_outbox(config_files, test_site, tmp_path):
    point_at(config_files, test_site)
    serve_weibo(test_site)
    assert wagewatch(config_files.root, "crawl", "weibo").returncode == 0
    result = wagewatch(config_files.root, "run", "--once")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "本轮运行结果" in result.stdout and "所有来源均抓取失败" not in result.stdout
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    mails = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert any("临沂" in m["Subject"] and "duty-" in m["To"] for m in mails), [m["Subject"] for m in mails]


def test_run_once_records_unreachable_sources_and_warns(config_files, tmp_path):
    from tests.conftest import free_port

    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens here: connection refused
    config_files.update(
        "sources.yaml", lambda d: [s.update(base_url=dead, download_delay=0) for s in d["sources"].values()]
    )
    result = wagewatch(config_files.root, "run", "--once")
    # Every stage still ran and recorded what happened, but a run that fetched nothing says so and fails.
    assert result.returncode == 1, result.stderr[-2000:]
    assert (
        "所有来源均抓取失败" in result.stdout and "分析 analyze" in result.stdout and "Traceback" not in result.stdout
    )
    db = Database(load_config(config_files.root).settings.database_url)
    with db.session() as session:
        from wagewatch.core.store.models import CrawlRun

        runs = session.scalars(select(CrawlRun)).all()
    assert runs and all(run.status == "failed" and run.error_message for run in runs)
