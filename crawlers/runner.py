"""Run one source's spider to completion in this process (the `wagewatch crawl` command)."""

from __future__ import annotations

import os

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.spiderloader import SpiderLoader
from sqlalchemy import select

from crawlers import settings as default_settings
from wagewatch.config import AppConfig
from wagewatch.store import Database
from wagewatch.store.models import CrawlRun


class UnknownSource(Exception):
    pass


def scrapy_settings(config: AppConfig, source: str) -> Settings:
    settings = Settings()
    settings.setmodule(default_settings, priority="project")
    source_config = config.sources.sources[source]
    settings.set("DOWNLOAD_DELAY", source_config.download_delay, priority="cmdline")
    settings.set("WAGEWATCH_USER_AGENTS", config.sources.user_agents, priority="cmdline")
    headers = dict(settings.getdict("DEFAULT_REQUEST_HEADERS"))
    if source_config.cookie_env and os.environ.get(source_config.cookie_env):
        headers["Cookie"] = os.environ[source_config.cookie_env]
    settings.set("DEFAULT_REQUEST_HEADERS", headers, priority="cmdline")
    if source_config.proxy_env and os.environ.get(source_config.proxy_env):
        # HttpProxyMiddleware reads the standard variables.
        os.environ["http_proxy"] = os.environ["https_proxy"] = os.environ[source_config.proxy_env]
    return settings


def spider_class(name: str):
    loader = SpiderLoader.from_settings(Settings({"SPIDER_MODULES": default_settings.SPIDER_MODULES}))
    try:
        return loader.load(name)
    except KeyError:
        raise UnknownSource(f"unknown source {name!r}; known: {', '.join(sorted(loader.list()))}") from None


def run_crawl(config: AppConfig, db: Database, source: str) -> CrawlRun:
    """Crawl `source` once and return its recorded run."""
    if source not in config.sources.sources:
        raise UnknownSource(f"source {source!r} is not configured in {config.directory / 'sources.yaml'}")
    cls = spider_class(source)
    process = CrawlerProcess(scrapy_settings(config, source), install_root_handler=True)
    process.crawl(cls, source_config=config.sources.sources[source], keywords=config.sources.keywords, db=db)
    process.start()
    with db.session() as session:
        return session.scalars(select(CrawlRun).where(CrawlRun.source == source).order_by(CrawlRun.id.desc())).first()
