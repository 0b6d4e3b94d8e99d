"""Several workers over one store: crawl sources are spread between them and none is crawled twice; analyze
workers on PostgreSQL share the backlog and analyse no post twice; a killed worker's sources are free again and
not crawled on by an orphan; crawl processes forked from the warmed fork server still stop at their timeout."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from tests.conftest import REPO, Route
from tests.test_store import database  # noqa: F401 - the SQLite and PostgreSQL store fixture
from wagewatch.classifier import load_classifier
from wagewatch.core import clock
from wagewatch.core.config import load_config
from wagewatch.core.store import Database
from wagewatch.core.store.locks import try_lock
from wagewatch.core.store.models import Analysis, CrawlRun, Post
from wagewatch.stages.analyze import analyze_pending
from wagewatch.stages.crawl import PRELOAD, crawl_all

SOURCES = ("letters_a", "letters_b", "letters_c", "letters_d")


def _letters_source(base: str, name: str) -> dict:
    """A YAML-driven source reading one page of a JSON letters API (tests/crawlers/test_generic.py's shape)."""
    return {
        "spider": "generic",
        "base_url": base,
        "max_pages": 1,
        "horizon_days": 3650,
        "download_delay": 0,
        "options": {
            "list_url": f"{base}/{name}/letters?p={{page}}",
            "format": "json",
            "items": "data.list",
            "fields": {"id": "id", "title": "title", "text": "body", "published_at": "ctime"},
            "url_template": f"https://www.example.gov.cn/{name}/{{id}}",
        },
    }


def test_two_crawl_workers_split_the_sources(database, config_files, test_site):  # noqa: F811
    def sources(data):
        data["sources"] = {name: _letters_source(test_site.url, name) for name in SOURCES}

    config_files.update("sources.yaml", sources)
    config_files.update("settings.yaml", lambda s: s.update(database_url=database.url, crawl_concurrency=1))
    letters = (REPO / "tests/crawlers/fixtures/generic/letters_p1.json").read_bytes()
    for name in SOURCES:  # a slow site: the work waits on I/O
        test_site.serve(f"/{name}/letters?p=1", Route(letters, delay=1.0))
    config = load_config(config_files.root)

    outcomes: list[list] = [[], []]
    workers = [threading.Thread(target=lambda n=n: outcomes[n].extend(crawl_all(config, database))) for n in (0, 1)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=600)

    crawled = [{o.source for o in worker if o.exit_code is not None} for worker in outcomes]
    assert crawled[0] and crawled[1], crawled  # both workers took a share
    assert not crawled[0] & crawled[1] and crawled[0] | crawled[1] == set(SOURCES)
    with database.session() as session:
        runs = dict(session.execute(select(CrawlRun.source, func.count()).group_by(CrawlRun.source)).all())
        assert runs == dict.fromkeys(SOURCES, 1)  # no source crawled twice
        assert session.scalar(select(func.count()).select_from(Post)) == 3 * len(SOURCES)


@pytest.fixture
def pg_database(postgres_url) -> Database:
    db = Database(postgres_url)
    db.upgrade()
    yield db
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
    db.dispose()


def test_two_analyze_workers_share_the_backlog_on_postgresql(pg_database):
    """Each worker skips the posts the other has locked in its batch: every post is analysed exactly once."""
    now = clock.now()
    texts = ["济南某工地拖欠三十名农民工工资两个月", "青岛今天下雨了", "临沂某小区物业拖欠保安工资"]
    with pg_database.session() as session:
        session.execute(
            insert(Post),
            [
                dict(
                    source="bench",
                    external_id=str(n),
                    url=f"https://example.org/{n}",
                    text=texts[n % 3],
                    text_raw=texts[n % 3],
                    published_at=now,
                    fetched_at=now,
                    state="new",
                )  # fmt: skip
                for n in range(120)
            ],
        )
    classifier = load_classifier()
    done: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            done.append(analyze_pending(pg_database, classifier, batch_size=10))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=600)
    assert not errors and sum(done) == 120
    with pg_database.session() as session:
        assert session.scalar(select(func.count(func.distinct(Analysis.post_id)))) == 120
        assert session.scalar(select(func.count()).select_from(Post).where(Post.state == "new")) == 0


def test_the_fork_server_preloads_no_twisted_reactor():
    """Every crawl process installs its own reactor: one installed by a preloaded module would break them all."""
    probe = (
        f"import sys\nfor name in {PRELOAD!r}:\n    __import__(name)\nprint('twisted.internet.reactor' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_a_crawl_past_its_timeout_is_killed_and_recorded(database, config_files, test_site):  # noqa: F811
    config_files.update(
        "sources.yaml", lambda d: d.update(sources={"letters_a": _letters_source(test_site.url, "letters_a")})
    )
    config_files.update("settings.yaml", lambda s: s.update(database_url=database.url, crawl_timeout_seconds=3))
    test_site.serve("/letters_a/letters?p=1", Route(b'{"code": 0, "data": {"list": []}}', delay=30))
    config = load_config(config_files.root)

    [outcome] = crawl_all(config, database)

    assert (outcome.exit_code, outcome.message) == (None, "timeout")
    with database.session() as session:
        runs = session.scalars(select(CrawlRun).where(CrawlRun.source == "letters_a")).all()
    assert [(run.status, run.error_message) for run in runs if run.status == "failed"] == [
        ("failed", "抓取超时（3秒）")
    ]


# A worker as `wagewatch worker --stages crawl` runs it: the crawl stage in a process of its own.
WORKER = """
import sys
from wagewatch.core.config import load_config
from wagewatch.core.store import Database
from wagewatch.stages.crawl import crawl_all
crawl_all(load_config(sys.argv[1]), Database(sys.argv[2]))
"""


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat after the command name: state, parent, …; [] once the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _alive(pid: int) -> bool:
    return _stat(pid)[:1] not in ([], ["Z"])  # a zombie has ended, whether or not its new parent reaped it


def _descendants(pid: int) -> set[int]:
    """Every live process below `pid`."""
    parents = {int(path.name): int(fields[1]) for path in Path("/proc").glob("[0-9]*") if (fields := _stat(path.name))}
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _until(condition, seconds: float = 120) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_a_killed_workers_source_lock_expires_and_its_crawl_stops(database, config_files, test_site):  # noqa: F811
    """kill -9 of a worker mid-crawl: the source's lock is free at once and no orphan crawl goes on with it, so
    the next worker can take the source over without two crawls of it running side by side."""
    config_files.update(
        "sources.yaml", lambda d: d.update(sources={"letters_a": _letters_source(test_site.url, "letters_a")})
    )
    config_files.update("settings.yaml", lambda s: s.update(database_url=database.url, crawl_concurrency=1))
    test_site.serve("/letters_a/letters?p=1", Route(b'{"code": 0, "data": {"list": []}}', delay=600))
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(config_files.root), database.url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def crawling() -> bool:
            with database.session() as session:
                return session.scalar(select(CrawlRun.id).where(CrawlRun.status == "running")) is not None

        assert _until(lambda: bool(test_site.hits)) and crawling()  # its crawl process is waiting on the site
        with try_lock(database, "crawl:letters_a") as taken:
            assert not taken  # the worker holds the source
        below = _descendants(worker.pid)
        assert below  # the fork server and the crawl process
        worker.kill()
        worker.wait()

        def lock_free() -> bool:
            with try_lock(database, "crawl:letters_a") as taken:
                return taken

        assert _until(lock_free)
        assert _until(lambda: not any(_alive(pid) for pid in below))
        with database.session() as session:  # killed with its worker: an orphan would have closed its run
            assert session.scalars(select(CrawlRun.status)).all() == ["running"]
    finally:
        worker.kill()
        worker.wait()
