"""Crawl benchmark: one real crawl (Scrapy engine, store, full-text fetches) against a local site that
answers like m.weibo.cn, then an incremental re-run. Prints posts/s, requests and errors.

    python -m wagewatch.bench.crawl [--pages 50] [--concurrency 8] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

from wagewatch.core.config import config_dir
from wagewatch.crawlers.dates import CST

POSTS_PER_PAGE = 10
LONG_EVERY = 5  # every fifth post is truncated and needs its detail page
CITIES = ("济南", "青岛", "淄博", "烟台", "潍坊", "临沂", "济宁", "菏泽")


def _mblog(n: int, now: datetime) -> dict:
    city = CITIES[n % len(CITIES)]
    created = now - timedelta(minutes=3 * n)
    text = (
        f"#{city}讨薪# {city}某工地第{n}号项目的农民工反映被拖欠工资{n % 90 + 10}万元，"
        f'包工头已经联系不上了<br /><span class="url-icon"><img alt=[泪] src="x.png" /></span>'
    )
    return {
        "id": str(5_300_000_000_000_000 + n),
        "mid": str(5_300_000_000_000_000 + n),
        "created_at": created.strftime("%a %b %d %H:%M:%S +0800 %Y"),
        "text": text,
        "user": {"id": 7_000_000_000 + n, "screen_name": f"{city}网友{n}", "followers_count": "1.2万"},
        "reposts_count": n % 50,
        "comments_count": n % 80,
        "attitudes_count": f"{n % 9}万",
        "isLongText": n % LONG_EVERY == 0,
        "region_name": "发布于 山东",
        "source": "iPhone客户端",
    }


class _WeiboLike(BaseHTTPRequestHandler):
    pages = 50
    now = datetime.now(CST)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path.endswith("/api/container/getIndex"):
            page = int(query["page"][0])
            if page > self.pages:
                body = {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}
            else:
                first = (page - 1) * POSTS_PER_PAGE
                cards = [{"card_type": 9, "mblog": _mblog(n, self.now)} for n in range(first, first + POSTS_PER_PAGE)]
                body = {"ok": 1, "data": {"cardlistInfo": {"page": page + 1}, "cards": cards}}
            self._send(json.dumps(body, ensure_ascii=False), "application/json; charset=utf-8")
        elif "/detail/" in parts.path:
            n = int(parts.path.rsplit("/", 1)[1]) - 5_300_000_000_000_000
            status = dict(_mblog(n, self.now), isLongText=False)
            status["text"] += "这是全文的后半部分：项目在开发区，涉及三十多名工人，已向当地人社部门反映。"
            page = f"<html><body><script>var $render_data = {json.dumps([{'status': status}], ensure_ascii=False)}[0] || {{}};</script></body></html>"
            self._send(page, "text/html; charset=utf-8")
        else:
            self._send("not found", "text/plain", 404)

    def _send(self, body: str, content_type: str, status: int = 200) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def _config(directory: Path, base_url: str, pages: int, concurrency: int, database_url: str) -> None:
    # Every shipped file but the two written below, so a file the configuration gains later (webhooks.yaml
    # for the cities' channel templates, say) never breaks the benchmark again.
    for path in config_dir().glob("*.yaml"):
        if path.name not in ("settings.yaml", "sources.yaml"):
            shutil.copy(path, directory / path.name)
    settings = yaml.safe_load((config_dir() / "settings.yaml").read_text(encoding="utf-8"))
    settings.update(database_url=database_url, outbox_dir=str(directory / "outbox"))
    (directory / "settings.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    sources = {
        "keywords": ["欠薪"],
        "user_agents": ["WageWatchBench/1.0"],
        "sources": {
            "weibo": {
                "base_url": base_url,
                "max_pages": pages + 1,
                "horizon_days": 30,
                "download_delay": 0,
                "concurrency_per_domain": concurrency,
            }
        },
    }
    (directory / "sources.yaml").write_text(yaml.safe_dump(sources, allow_unicode=True), encoding="utf-8")


def _crawl(directory: Path, database_url: str) -> tuple[dict, float]:
    env = dict(os.environ, WAGEWATCH_CONFIG_DIR=str(directory), WAGEWATCH_DATABASE_URL=database_url)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "wagewatch", "crawl", "weibo"], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), elapsed


def run(pages: int, concurrency: int, database_url: str | None = None) -> tuple[dict, float, dict, float]:
    """A full crawl and an incremental re-run of the local site: each run's figures and seconds."""
    _WeiboLike.pages = pages
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WeiboLike)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            url = database_url or f"sqlite:///{directory / 'bench.db'}"
            _config(directory, f"http://127.0.0.1:{server.server_address[1]}", pages, concurrency, url)
            first, first_s = _crawl(directory, url)
            again, again_s = _crawl(directory, url)
    finally:
        server.shutdown()
    return first, first_s, again, again_s


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=50, help="search result pages the site offers (10 posts each)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent requests to the site")
    parser.add_argument("--database-url", default=None, help="store to write to (default: a temporary SQLite file)")
    args = parser.parse_args(argv)

    first, first_s, again, again_s = run(args.pages, args.concurrency, args.database_url)
    store = (args.database_url or "sqlite://").split("://")[0]
    print(
        f"site: {args.pages} pages × {POSTS_PER_PAGE} posts, every {LONG_EVERY}th truncated; "
        f"concurrency {args.concurrency}; store {store}"
    )
    print(
        f"full crawl : {first['posts_new']} posts in {first_s:.1f} s = {first['posts_new'] / first_s:.0f} posts/s "
        f"(process start included); {first['requests']} requests, {first['errors']} errors, status {first['status']}"
    )
    print(
        f"incremental: {again['posts_new']} new posts in {again_s:.1f} s; {again['requests']} requests, "
        f"{again['errors']} errors, status {again['status']}"
    )


if __name__ == "__main__":
    main()
