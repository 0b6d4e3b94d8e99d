"""Run one source's spider to completion in this process (the `wagewatch crawl` command)."""

from __future__ import annotations

import os

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.spiderloader import SpiderLoader
from sqlalchemy import select

from wagewatch.core.config import AppConfig
from wagewatch.core.store import Database
from wagewatch.core.store.models import CrawlRun
from wagewatch.crawlers import settings as default_settings


class UnknownSource(Exception):
    pass


def scrapy_settings(config: AppConfig, source: str, store_url: str) -> Settings:
    """Project settings with this source's politeness, page size limit, cookie, proxy and store applied."""
    settings = Settings()
    settings.setmodule(default_settings, priority="project")
    source_config = config.sources.sources[source]
    delay = source_config.download_delay
    settings.set("DOWNLOAD_DELAY", delay, priority="cmdline")
    settings.set("AUTOTHROTTLE_START_DELAY", delay, priority="cmdline")
    settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", source_config.concurrency_per_domain, priority="cmdline")
    settings.set("WAGEWATCH_USER_AGENTS", config.sources.user_agents, priority="cmdline")
    settings.set("RETRY_TIMES", source_config.retry_times, priority="cmdline")
    settings.set("RETRY_BACKOFF_BASE", source_config.retry_backoff_seconds, priority="cmdline")
    headers = dict(settings.getdict("DEFAULT_REQUEST_HEADERS"))
    if source_config.cookie_env and os.environ.get(source_config.cookie_env):
        headers["Cookie"] = os.environ[source_config.cookie_env]
    settings.set("DEFAULT_REQUEST_HEADERS", headers, priority="cmdline")
    # A page over the limit is cancelled with a warning and counted as a failed request (parsing a 13 MB
    # page would hold the crawl for minutes); a page over half of it is logged.
    settings.set("DOWNLOAD_MAXSIZE", source_config.max_page_bytes, priority="cmdline")
    settings.set("DOWNLOAD_WARNSIZE", source_config.max_page_bytes // 2, priority="cmdline")
    if source_config.proxy_env and os.environ.get(source_config.proxy_env):
        settings.set("WAGEWATCH_PROXY", os.environ[source_config.proxy_env], priority="cmdline")
    settings.set("WAGEWATCH_DATABASE_URL", store_url, priority="cmdline")  # WageSpider.from_crawler opens it
    return settings


def _loader() -> SpiderLoader:
    return SpiderLoader.from_settings(Settings({"SPIDER_MODULES": default_settings.SPIDER_MODULES}))


def builtin_spiders() -> set[str]:
    """Site spiders, usable by their name without configuration (the generic one needs a source's options)."""
    return set(_loader().list()) - {"generic"}


def spider_class(source: str, config: AppConfig | None = None):
    """The spider class of `source`: a built-in spider of that name, or the spider its config names
    (a YAML-driven generic spider gets a subclass carrying the source's name and options)."""
    loader = _loader()
    source_config = config.sources.sources.get(source) if config else None
    name = source_config.spider_name(source) if source_config else source
    try:
        cls = loader.load(name)
    except KeyError:
        known = ", ".join(sorted(builtin_spiders()))
        raise UnknownSource(
            f"unknown source {source!r}; built-in spiders: {known}; YAML-driven sources are configured in sources.yaml"
        ) from None
    return cls.for_source(source, source_config) if source_config is not None else cls


def run_crawl(config: AppConfig, db: Database, source: str) -> CrawlRun:
    """Crawl `source` once and return its recorded run."""
    if source not in config.sources.sources:
        raise UnknownSource(f"source {source!r} is not configured in {config.directory / 'sources.yaml'}")
    source_config = config.sources.sources[source]
    cls = spider_class(source, config)
    cls.load_options(source, source_config)  # a config mistake stops here with file and key, not in Twisted
    process = CrawlerProcess(scrapy_settings(config, source, db.url))
    process.crawl(
        cls, source_config=source_config, keywords=config.sources.keywords, places=config.sources.shandong_places
    )
    process.start()
    with db.session() as session:
        return session.scalars(select(CrawlRun).where(CrawlRun.source == source).order_by(CrawlRun.id.desc())).first()
