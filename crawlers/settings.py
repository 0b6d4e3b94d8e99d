"""Scrapy settings shared by every spider, as in any Scrapy project; per-source values come from
config/sources.yaml and are applied by `crawlers.runner`."""

BOT_NAME = "wagewatch"
SPIDER_MODULES = ["crawlers.spiders"]
ROBOTSTXT_OBEY = False  # the APIs crawled are not covered by robots.txt; politeness comes from throttling
COOKIES_ENABLED = False  # a configured login cookie is sent verbatim as a header
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
RANDOMIZE_DOWNLOAD_DELAY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]
DOWNLOAD_TIMEOUT = 30
DNS_TIMEOUT = 15
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
DOWNLOADER_MIDDLEWARES = {
    "crawlers.middlewares.RotateUserAgentMiddleware": 400,
    "crawlers.middlewares.BlockDetectionMiddleware": 590,  # before RetryMiddleware (550) sees the response
}
ITEM_PIPELINES = {
    "crawlers.pipelines.StorePipeline": 300,
}
EXTENSIONS = {
    "crawlers.extensions.CrawlRunRecorder": 100,
}
