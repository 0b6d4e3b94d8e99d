"""Scale-out of an I/O-bound stage: the crawl of many slow sources by one worker, then by two.

    python -m wagewatch.bench.workers [--sources 8] [--delay 2] [--database-url postgresql+psycopg://…]

Serves `--sources` JSON letter APIs locally, each page answered after `--delay` seconds (a slow government
site), and crawls them all with the crawl stage on a fresh store: first one worker, then two workers at once
(each with `crawl_concurrency: 1`, so the speed-up comes from the workers, not from threads inside one). The
crawl processes' fork server is started before either is timed, as a running worker has it. Prints the seconds
of each, the speed-up, and how many sources were crawled more than once in a round (always 0:
`tests/test_workers.py` checks it). SQLite by default; with --database-url, a PostgreSQL whose public schema
this benchmark may empty.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
from sqlalchemy import func, select, text

from wagewatch.core.config import load_config
from wagewatch.core.store import Database
from wagewatch.core.store.models import CrawlRun, Post
from wagewatch.stages.crawl import crawl_all, start_fork_server

PAGES = 3
LETTERS_PER_PAGE = 10


def _letters(source: str, page: int, body: Callable[[int], str], per_page: int) -> bytes:
    now = int(time.time())
    items = [
        {
            "id": f"{page}{i:03d}",
            "title": f"{source}反映工地拖欠工资问题{page}-{i}",
            "body": body(i),
            "ctime": now - 3600 * (page * per_page + i),
        }
        for i in range(per_page)
    ]
    return json.dumps({"code": 0, "data": {"list": items}}, ensure_ascii=False).encode("utf-8")


def serve(
    delay: float, body: Callable[[int], str] = lambda _: "工资拖欠三个月。", per_page: int = LETTERS_PER_PAGE
) -> ThreadingHTTPServer:
    """A local site whose every answer takes `delay` seconds: /SOURCE/letters?p=N, `body(i)` the i-th text."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            source, _, query = self.path.strip("/").partition("/letters?p=")
            time.sleep(delay)
            answer = _letters(source, int(query or 1), body, per_page)
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def write_config(folder: Path, base: str, sources: int, database_url: str) -> Path:
    """The shipped config with `sources` generic letter sources at `base` and the store at `database_url`."""
    root = folder / "config"
    shutil.copytree(load_config().directory, root)
    sources_file = root / "sources.yaml"
    data = yaml.safe_load(sources_file.read_text(encoding="utf-8"))
    data["sources"] = {
        f"letters_{n}": {
            "spider": "generic",
            "base_url": base,
            "max_pages": PAGES,
            "horizon_days": 30,
            "download_delay": 0,
            "options": {
                "list_url": f"{base}/letters_{n}/letters?p={{page}}",
                "format": "json",
                "items": "data.list",
                "fields": {"id": "id", "title": "title", "text": "body", "published_at": "ctime"},
                "url_template": f"https://www.example.gov.cn/letters_{n}/{{id}}",
            },
        }
        for n in range(sources)
    }
    sources_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings_file = root / "settings.yaml"
    settings = yaml.safe_load(settings_file.read_text(encoding="utf-8"))
    settings.update(database_url=database_url, crawl_concurrency=1)
    settings_file.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return root


def _fresh(url: str) -> Database:
    """An empty store at `url` (a PostgreSQL loses its public schema)."""
    db = Database(url)
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
    db.upgrade()
    return db


def crawl_with(workers: int, config_dir: Path, url: str) -> tuple[float, int, int]:
    """Seconds for `workers` workers to crawl every source once; (seconds, posts, sources crawled twice)."""
    db = _fresh(url)
    config = load_config(config_dir)
    config = config.model_copy(update={"settings": config.settings.model_copy(update={"database_url": url})})
    threads = [threading.Thread(target=crawl_all, args=(config, db)) for _ in range(workers)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    with db.session() as session:
        posts = session.scalar(select(func.count()).select_from(Post))
        runs = session.execute(select(CrawlRun.source, func.count()).group_by(CrawlRun.source)).all()
    db.dispose()
    return seconds, posts, sum(1 for _, count in runs if count > 1)


def main() -> None:
    parser = argparse.ArgumentParser(description="工作进程横向扩展基准 / Two crawl workers against one.")
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--delay", type=float, default=2.0, help="seconds the site takes per page")
    parser.add_argument("--database-url", default=None, help="PostgreSQL to use (its public schema is emptied)")
    args = parser.parse_args()
    server = serve(args.delay)
    base = f"http://127.0.0.1:{server.server_port}"
    with tempfile.TemporaryDirectory(prefix="wagewatch-bench-") as tmp:
        folder = Path(tmp)
        urls = [args.database_url or f"sqlite:///{folder / f'bench-{n}.db'}" for n in (1, 2)]
        config_dir = write_config(folder, base, args.sources, urls[0])
        print(f"{args.sources} sources × {PAGES} pages, {args.delay:.1f} s per page; store {urls[0].split('@')[-1]}")
        start_fork_server()
        one = crawl_with(1, config_dir, urls[0])
        two = crawl_with(2, config_dir, urls[1])
    server.shutdown()
    for workers, (seconds, posts, twice) in ((1, one), (2, two)):
        print(f"  {workers} worker(s): {seconds:6.1f} s, {posts} posts, sources crawled twice: {twice}")
    print(f"speed-up with two workers: x{one[0] / two[0]:.2f}")


if __name__ == "__main__":
    main()
