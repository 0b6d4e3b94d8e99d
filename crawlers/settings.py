"""Scrapy settings shared by every spider, as in any Scrapy project; per-source values come from
config/sources.yaml and are applied by `wagewatch.crawlers.runner`."""

BOT_NAME = "wagewatch"
SPIDER_MODULES = ["wagewatch.crawlers.spiders"]
ROBOTSTXT_OBEY = False  # the APIs crawled are not covered by robots.txt; politeness comes from throttling
COOKIES_ENABLED = False  # a configured login cookie is sent verbatim as a header
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # ±50% around the delay, so requests do not tick like a clock
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]
RETRY_BACKOFF_BASE = (
    2.0  # seconds before the first retry; doubles for each further attempt (per source in sources.yaml)
)
RETRY_BACKOFF_MAX = 60.0
DOWNLOAD_TIMEOUT = 30
DNS_TIMEOUT = 10
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # no listening port in a crawl process
LOG_LEVEL = "INFO"
LOG_INSTALL_ROOT_HANDLER = True
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
DOWNLOADER_MIDDLEWARES = {
    "wagewatch.crawlers.middlewares.RotateUserAgentMiddleware": 400,
    "wagewatch.crawlers.middlewares.ProxyMiddleware": 410,  # before HttpProxyMiddleware (750) reads meta['proxy']
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "wagewatch.crawlers.middlewares.BackoffRetryMiddleware": 550,
    "wagewatch.crawlers.middlewares.UnreachableHostMiddleware": 560,  # sees connection errors before the retry does
    "wagewatch.crawlers.middlewares.BlockDetectionMiddleware": 585,  # after decompression (590), before retry (550)
    "wagewatch.crawlers.middlewares.LoginRedirectMiddleware": 610,  # sees a 302 before RedirectMiddleware (600) follows it
}
ITEM_PIPELINES = {
    "wagewatch.crawlers.pipelines.StorePipeline": 300,
}
EXTENSIONS = {
    "wagewatch.crawlers.extensions.CrawlRunRecorder": 100,
}
