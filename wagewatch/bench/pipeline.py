"""Pipeline throughput: N generated posts through analyze, cluster, index and dispatch.

    python -m wagewatch.bench.pipeline --posts 100000 [--es-url http://127.0.0.1:9200]

Runs the stages one after another at N/4 and at N posts, each on a fresh SQLite store in a temporary folder
(every stage first runs once on the empty store, as in a running service: modules imported, model loaded,
indices created), and prints per stage its seconds, posts/s and the CPU seconds this process spent
(Elasticsearch's own CPU is not in it; on a shared machine the wall time also holds other people's work),
their sum as "end to end, stages one after another", and per stage how much longer N took than N/4 (4.0 means
linear). A third run at N (skip it with --no-chained) drains the same backlog as `wagewatch run` does: each
stage in a thread of one process, woken by the stage before it (analyze -> cluster -> index and dispatch side
by side), plus the index run that picks up the leads dispatch created; its wall time is "end to end, stages
chained as deployed". Then the process's peak memory. Posts are generated: distinct cases of wage arrears in
the 16 cities (some posted again, as follow-ups do), rumours, and unrelated posts about work and pay, in
roughly the mix the crawlers bring; the labels are whatever the shipped classifier says. Indexing writes to a
real Elasticsearch: the node named by --es-url, else a local one started for the run
(`wagewatch.index.testing.es_runner`). Dispatch delivers to the local outbox with digests and quiet hours off,
as `wagewatch.bench.alerts` does.

Figures are printed, never asserted: the machine is shared and timings vary.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, insert, select

from wagewatch.bench.alerts import bench_config
from wagewatch.core import clock
from wagewatch.core.config import SHANDONG_CITIES, AppConfig
from wagewatch.core.states import AlertState, PostState
from wagewatch.core.store import Database
from wagewatch.core.store.models import Analysis, Incident, IndexQueue, Post
from wagewatch.pipeline import STAGES
from wagewatch.scheduler import FOLLOWERS

STAGE_NAMES = ("analyze", "cluster", "index", "dispatch")
# Share of posts of each kind; follow-ups repeat an earlier case of the same city in other words.
MIX = {"case": 0.22, "follow_up": 0.06, "rumour": 0.04, "unrelated": 0.68}

_SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
_NAME_CHARS = "鑫隆恒达宏远泰和金鼎华安正通盛世兴旺德顺永信广源瑞丰鸿运昌盛佳诚嘉宝中科天润万福益民利群新城"
_FIRMS = ["建设有限公司", "劳务分包公司", "建筑工程公司", "装饰工程公司", "路桥集团", "置业有限公司", "市政公司"]
_SITES = ["花园小区", "产业园厂房", "滨河路改造", "实验学校新校区", "物流仓储中心", "安置房", "商业综合体", "污水厂"]
_OPENERS = ["求助！", "实在没办法了，", "大家帮忙扩散，", "", "年底了，", "实名反映："]
_CLOSERS = ["希望有关部门管一管。", "打了12345一直说在协调。", "过年回不了家了。", "", "孩子学费都交不上了。"]
_UNRELATED = [
    "{city}今天降温了，{n}号线地铁站人好多，下班路上买了份煎饼。",
    "{city}人社局发布{n}年最低工资标准调整通知，月最低工资标准提高{m}元。",
    "周末带孩子去{city}{site}附近逛了逛，{n}块钱的门票挺值的。",
    "{city}招聘会{n}家企业提供岗位{m}个，涉及制造、物流、餐饮等行业。",
    "终于发工资了！这个月{n}号准时到账，奖励自己一顿{city}烧烤。",
    "{city}{site}项目顺利封顶，预计明年{n}月交付使用。",
]
_RUMOURS = [
    "网传{city}{company}拖欠{n}名工人工资，经核实系个别人员恶意讨薪编造，警方已依法处理。",
    "{city}某人为多要工钱在{site}组织{n}人假讨薪，被查明工资早已结清。",
]


def _company(rng: random.Random) -> str:
    return "".join(rng.sample(_NAME_CHARS, 2)) + rng.choice(_FIRMS)


def _case(rng: random.Random, city: str) -> str:
    return (
        f"{rng.choice(_OPENERS)}{city}{_company(rng)}承建的{rng.choice(_SITES)}{rng.randint(1, 9)}期，"
        f"拖欠我们{rng.randint(3, 120)}名农民工工资{rng.randint(2, 300)}万元，"
        f"从{rng.randint(1, 12)}月拖到现在，包工头{rng.choice(_SURNAMES)}某电话不接，{rng.choice(_CLOSERS)}"
    )


def generate_posts(count: int, seed: int = 14) -> list[dict]:
    """`count` post rows in state `new`, spread over the 16 cities, in the mix of `MIX`."""
    rng = random.Random(seed)
    now = clock.now()
    kinds, weights = list(MIX), list(MIX.values())
    cases: dict[str, list[str]] = {}
    rows = []
    for n in range(count):
        city = rng.choice(SHANDONG_CITIES)
        kind = rng.choices(kinds, weights)[0]
        if kind == "follow_up" and cases.get(city):
            earlier = rng.choice(cases[city][-50:])
            text = rng.choice(_OPENERS) + earlier[earlier.index(city) :] + rng.choice(_CLOSERS)
        elif kind in ("case", "follow_up"):
            text = _case(rng, city)
            cases.setdefault(city, []).append(text)
        else:
            template = rng.choice(_RUMOURS if kind == "rumour" else _UNRELATED)
            text = template.format(
                city=city, company=_company(rng), site=rng.choice(_SITES), n=rng.randint(2, 30), m=rng.randint(50, 900)
            )
        rows.append(
            dict(
                source="bench", external_id=str(n), url=f"https://example.org/post/{n}", text=text, text_raw=text,
                published_at=now, fetched_at=now, reposts=rng.randint(0, 300), comments=rng.randint(0, 100),
                state="new",
            )
        )  # fmt: skip
    return rows


@contextmanager
def elasticsearch(url: str | None) -> Iterator[str]:
    """The node at `url`, or a throwaway local node for the run."""
    if url:
        yield url
        return
    from wagewatch.index.testing.es_runner import EsNode

    home = Path(tempfile.mkdtemp(prefix="wagewatch-bench-es-"))
    node = EsNode(home).start()
    try:
        yield node.url
    finally:
        node.stop()
        shutil.rmtree(home, ignore_errors=True)


def _config(folder: Path, es_url: str, prefix: str) -> AppConfig:
    """`wagewatch.bench.alerts`' config, indexing into `es_url` under indices of their own."""
    config = bench_config(folder)
    elastic = config.settings.elasticsearch.model_copy(update={"url": es_url, "index_prefix": prefix})
    settings = config.settings.model_copy(update={"elasticsearch": elastic})
    return config.model_copy(update={"settings": settings})


@contextmanager
def backlog(posts: int, es_url: str, seed: int) -> Iterator[tuple[AppConfig, Database]]:
    """A fresh store in a temporary folder holding `posts` new posts.

    Each stage has run once on it while it was empty, as in a running service: modules imported, the model
    loaded, the search indices created. Otherwise the N/4 run pays these once-only costs and the growth ratio
    understates how the work grows.
    """
    with tempfile.TemporaryDirectory(prefix="wagewatch-bench-") as tmp:
        folder = Path(tmp)
        config = _config(folder, es_url, f"bench-{posts}-{time.time_ns()}")
        db = Database(config.settings.database_url)
        db.upgrade()
        for name in STAGE_NAMES:
            STAGES[name](config, db)
        rows = generate_posts(posts, seed)
        with db.session() as session:
            for start in range(0, len(rows), 5000):
                session.execute(insert(Post), rows[start : start + 5000])
        try:
            yield config, db
        finally:
            db.dispose()


def run(posts: int, es_url: str, seed: int) -> tuple[dict[str, float], dict[str, float]]:
    """Wall and CPU seconds per stage, run one after another, (and `total`, their sum) for `posts` posts on a
    fresh store; prints a line per stage."""
    with backlog(posts, es_url, seed) as (config, db):
        seconds: dict[str, float] = {}
        cpu: dict[str, float] = {}
        results = {}
        for name in STAGE_NAMES:
            began, began_cpu = time.perf_counter(), time.process_time()
            results[name] = STAGES[name](config, db)
            seconds[name] = time.perf_counter() - began
            cpu[name] = time.process_time() - began_cpu
        seconds["total"] = sum(seconds.values())
        cpu["total"] = sum(cpu.values())
        with db.session() as session:
            labels = dict(session.execute(select(Analysis.label, func.count()).group_by(Analysis.label)).all())
            incidents = session.scalar(select(func.count()).select_from(Incident))
        print(f"\n{posts} posts — labels {labels}; {incidents} incidents")
        for name in (*STAGE_NAMES, "total"):
            rate = posts / seconds[name] if seconds[name] else float("inf")
            extra = f"  {results[name]}" if name in ("index", "dispatch") else ""
            print(f"  {name:9} {seconds[name]:8.1f} s  {rate:8.0f} posts/s  cpu {cpu[name]:6.1f} s{extra}")
        return seconds, cpu


def run_chained(posts: int, es_url: str, seed: int) -> float:
    """Wall seconds for `posts` posts to pass every stage when each stage is woken as `wagewatch run` wakes
    it: analyze first (a crawl woke it), then every stage that produced work wakes its followers
    (`wagewatch.scheduler.FOLLOWERS`: cluster after analyze, then dispatch and index side by side), each
    stage in a thread of one process, and a stage woken while it runs runs once more; then one more index
    run for what the woken one could not see yet. The intervals are left out: on a backlog they only add
    runs of stages that find their share already taken, and the wait for the final index run."""
    with backlog(posts, es_url, seed) as (config, db):
        lock = threading.Lock()
        running: set[str] = set()
        again: set[str] = set()
        idle = threading.Event()
        failures: list[str] = []

        def wake(stage: str) -> None:
            with lock:
                if stage in running:
                    again.add(stage)
                    return
                running.add(stage)
            threading.Thread(target=work, args=(stage,), name=f"bench-{stage}").start()

        def work(stage: str) -> None:
            while True:
                result = None
                try:
                    result = STAGES[stage](config, db)
                except Exception as exc:  # noqa: BLE001 - reported below; the figure would mean nothing
                    failures.append(f"{stage}: {exc}")
                if isinstance(result, int) and result > 0:
                    for follower in FOLLOWERS.get(stage, ()):
                        wake(follower)
                with lock:
                    if stage in again:
                        again.discard(stage)
                        continue
                    running.discard(stage)
                    if not running:
                        idle.set()
                    return

        began = time.perf_counter()
        wake("analyze")
        idle.wait()
        # The leads dispatch created (and any change made after the woken index run began) are indexed by
        # the index stage's next run, at its interval in a service: run it now and count it.
        STAGES["index"](config, db)
        seconds = time.perf_counter() - began
        with db.session() as session:
            left = {
                "new posts": session.scalar(select(func.count()).where(Post.state == PostState.NEW)),
                "unclustered": session.scalar(select(func.count()).where(Analysis.clustered.is_(False))),
                "index_queue": session.scalar(select(func.count()).select_from(IndexQueue)),
                "incidents pending": session.scalar(
                    select(func.count()).where(Incident.alert_state == AlertState.PENDING)
                ),
            }
        print(
            f"\n{posts} posts, stages chained as `wagewatch run` wakes them (analyze -> cluster -> index | dispatch,"
            f" one process): {seconds:.1f} s, {posts / seconds:.0f} posts/s; left {left}"
            + (f"; FAILED: {failures}" if failures else "")
        )
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description="流水线吞吐基准 / Pipeline throughput benchmark.")
    parser.add_argument("--posts", type=int, default=20_000, help="posts in the large run (default 20000)")
    parser.add_argument("--es-url", default=None, help="Elasticsearch to index into (default: start a local node)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--no-chained",
        dest="chained",
        action="store_false",
        help="skip the third run, at N, with the stages chained as `wagewatch run` wakes them",
    )
    args = parser.parse_args()
    clock.freeze(None)
    with elasticsearch(args.es_url) as url:
        small, small_cpu = run(max(1, args.posts // 4), url, args.seed)
        large, large_cpu = run(args.posts, url, args.seed)
        chained = run_chained(args.posts, url, args.seed) if args.chained else None
    print(f"\ngrowth N/4 -> N ({args.posts // 4} -> {args.posts} posts; 4.0 is linear):")
    for name in (*STAGE_NAMES, "total"):
        wall = f"x{large[name] / small[name]:.2f}" if small[name] else "-"
        cpu = f"x{large_cpu[name] / small_cpu[name]:.2f}" if small_cpu[name] else "-"
        print(f"  {name:9} {wall}  (cpu {cpu})")
    print(f"end to end at N, stages one after another: {args.posts / large['total']:.0f} posts/s")
    if chained:
        print(f"end to end at N, stages chained as deployed: {args.posts / chained:.0f} posts/s")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
