"""Alert latency benchmark: stored → delivered, with a backlog of incidents.

    python -m wagewatch.bench.alerts --incidents 10000

Builds a SQLite store in a temporary folder, fills it with `--incidents` analysed incidents spread over the
16 cities (about 5% of unknown place, 3% false claims, severities 1-4), then measures:
1. draining the backlog: one dispatch run plans and delivers every alert to the local outbox (most severe
   first), with the latency per severity; with `--workers N`, N dispatch processes drain the same store at
   once, as N `wagewatch worker --stages dispatch` would (one per core), and the run checks that the
   deliveries they report add up to the delivery rows, each sent once;
2. steady state: with the backlog alerted, `--new` fresh incidents arrive one at a time, each followed by a
   dispatch run, as the scheduler would do;
3. a slow SMTP server (aiosmtpd, `--smtp-ms` per message): `--smtp-deliveries` due emails drained with
   `dispatch.concurrency.email` at each of `--smtp-senders`, and how much faster than one sender.
Latency is the time from the analysis being stored (its transaction committed: generating and inserting the
backlog took the benchmark itself about a second before that, printed apart) to the delivery being recorded as
sent. Digests and quiet hours are turned off (held alerts wait on purpose); in service the scheduler's dispatch
interval adds up to that many seconds on top.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, insert, select

from wagewatch.core import clock
from wagewatch.core.config import SHANDONG_CITIES, AppConfig, load_config
from wagewatch.core.states import AlertState, PostState, SendStatus
from wagewatch.core.store import Database
from wagewatch.core.store.models import AlertDelivery, Analysis, Incident, Post
from wagewatch.stages.dispatch import deliver_pending, dispatch

SEVERITIES = [1, 2, 3, 4]
SEVERITY_WEIGHTS = [40, 35, 20, 5]


def bench_config(folder: Path) -> AppConfig:
    """The shipped config with the store and outbox in `folder`, SMTP off and nothing held."""
    config = load_config()
    settings = config.settings.model_copy(
        update={
            "database_url": f"sqlite:///{folder / 'bench.db'}",
            "outbox_dir": str(folder / "outbox"),
            "smtp": config.settings.smtp.model_copy(update={"host": None}),
        }
    )
    policy = config.policy.model_copy(
        update={
            "digest": config.policy.digest.model_copy(update={"max_severity": 0}),
            "quiet_hours": config.policy.quiet_hours.model_copy(update={"hours": None}),
        }
    )
    return config.model_copy(update={"settings": settings, "policy": policy})


def add_incidents(db: Database, count: int, rng: random.Random, start: int) -> datetime:
    """Insert `count` analysed, clustered incidents waiting for dispatch; returns when they were stored (the
    moment their transaction committed)."""
    analysed = clock.now()
    incidents, posts, analyses = [], [], []
    for n in range(start, start + count):
        roll = rng.random()
        label = "false" if roll < 0.03 else "real"
        city = None if 0.03 <= roll < 0.08 else rng.choice(SHANDONG_CITIES)
        severity = rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0] if label == "real" else None
        title = f"{city or '某地'}某建筑工地拖欠{rng.randint(2, 150)}名农民工工资（样本{n}）"
        incidents.append(
            dict(
                id=n,
                label=label,
                city=city,
                severity=severity,
                severity_score=20.0 * (severity or 0),
                title=title,
                explanation=["基准测试样本"],
                signature=[],
                post_count=1,
                reach=rng.randint(0, 5000),
                first_seen=analysed,
                last_seen=analysed,
                alert_state=AlertState.PENDING,
                alerted_cities=[],
                extreme=False,
                updated_at=analysed,
                amount_yuan=float(rng.randint(5, 500) * 1000),
                workers=rng.randint(2, 150),
            )
        )
        posts.append(
            dict(
                id=n,
                source="bench",
                external_id=str(n),
                url=f"https://example.org/post/{n}",
                text=title,
                text_raw=title,
                fetched_at=analysed,
                published_at=analysed,
                reposts=0,
                comments=0,
                state=PostState.ANALYZED,
            )
        )
        analyses.append(
            dict(
                id=n,
                post_id=n,
                label=label,
                scores={label: 0.9},
                severity=severity,
                severity_score=20.0 * (severity or 0),
                city=city,
                explanation=[],
                model_version="bench",
                created_at=analysed,
                incident_id=n,
                clustered=True,
                extreme=False,
            )
        )
    with db.session() as session:
        session.execute(insert(Incident), incidents)
        session.execute(insert(Post), posts)
        session.execute(insert(Analysis), analyses)
    return clock.now()


def latencies(db: Database, first_incident: int, stored: datetime) -> dict[int, list[float]]:
    """Seconds from `stored` to sent per severity (0: none), for the deliveries of incidents from `first_incident`."""
    with db.session() as session:
        rows = session.execute(
            select(func.coalesce(Incident.severity, 0), AlertDelivery.sent_at)
            .join(Incident, Incident.id == AlertDelivery.incident_id)
            .where(AlertDelivery.incident_id >= first_incident, AlertDelivery.status == SendStatus.SENT)
        ).all()
    result: dict[int, list[float]] = {}
    for severity, sent in rows:
        result.setdefault(severity, []).append((sent - stored).total_seconds())
    return result


def _summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (
        f"p50 {statistics.median(ordered):.3f} s, p95 {p95:.3f} s, max {ordered[-1]:.3f} s "
        f"over {len(ordered)} deliveries"
    )


def _dispatch_process(config: AppConfig, sent: multiprocessing.Queue) -> None:
    db = Database(config.settings.database_url)
    sent.put(dispatch(db, config)["sent"])
    db.dispose()


def drain_with_workers(db: Database, config: AppConfig, workers: int) -> tuple[int, float]:
    """Deliveries the dispatch runs report in all, and their CPU seconds: in-process for one worker, else
    `workers` forked processes on the same store at once."""
    if workers == 1:
        cpu = time.process_time()
        return dispatch(db, config)["sent"], time.process_time() - cpu
    db.dispose()  # no pooled connection crosses the fork
    context = multiprocessing.get_context("fork")
    reported: multiprocessing.Queue = context.Queue()
    children_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    processes = [context.Process(target=_dispatch_process, args=(config, reported)) for _ in range(workers)]
    for process in processes:
        process.start()
    sent = sum(reported.get() for _ in processes)
    for process in processes:
        process.join()
        if process.exitcode:
            raise SystemExit(f"a dispatch worker exited with {process.exitcode}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return sent, after.ru_utime + after.ru_stime - children_cpu.ru_utime - children_cpu.ru_stime


def run(incidents: int, new: int, seed: int, folder: Path, workers: int = 1) -> None:
    config = bench_config(folder)
    db = Database(config.settings.database_url)
    db.upgrade()
    rng = random.Random(seed)
    clock.freeze(None)
    generating = time.perf_counter()
    stored = add_incidents(db, incidents, rng, start=1)
    print(
        f"backlog: {incidents} analysed incidents waiting (SQLite file {folder / 'bench.db'}, outbox channel), "
        f"generated and stored in {time.perf_counter() - generating:.1f} s"
    )
    started = time.perf_counter()
    sent, cpu = drain_with_workers(db, config, workers)
    elapsed = time.perf_counter() - started
    with db.session() as session:
        rows = session.scalar(select(func.count()).select_from(AlertDelivery))
        done = session.scalar(
            select(func.count()).select_from(AlertDelivery).where(AlertDelivery.status == SendStatus.SENT)
        )
    print(
        f"drain: {workers} dispatch worker(s) sent {sent} deliveries in {elapsed:.1f} s "
        f"({sent / elapsed:.0f} deliveries/s; {cpu:.1f} s CPU, {1000 * cpu / sent:.1f} ms each); "
        f"{done} of {rows} delivery rows sent"
        + ("" if sent == done else f" — the workers reported {sent}: {sent - done} sent twice")
    )
    drain = latencies(db, 1, stored)
    print(f"drain latency (stored -> delivered), all: {_summary([v for vs in drain.values() for v in vs])}")
    for severity in sorted(drain, reverse=True):
        print(f"  severity {severity or '-'}: {_summary(drain[severity])}")
    steady: list[float] = []
    for n in range(new):
        first = incidents + 1 + n
        stored = add_incidents(db, 1, rng, start=first)
        dispatch(db, config)
        steady.extend(v for vs in latencies(db, first, stored).values() for v in vs)
    if steady:
        print(f"steady state, one new incident per dispatch run with {incidents} already alerted: {_summary(steady)}")
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(f"peak memory (largest process): {peak / 1024:.0f} MiB")
    db.dispose()


def smtp_drain(deliveries: int, senders: list[int], delay_ms: float, folder: Path) -> None:
    """Time draining `deliveries` due emails through a server taking `delay_ms` per message, per sender count."""
    from wagewatch.bench import sends

    seconds: dict[int, float] = {}
    with sends.FlakySmtpServer(0.0, 1, delay=delay_ms / 1000) as server:
        for n in senders:
            url = f"sqlite:///{folder / f'smtp-{n}.db'}"
            config = sends.bench_config(folder / f"smtp-{n}", url, server.port)
            dispatch_settings = config.settings.dispatch.model_copy(
                update={"concurrency": config.settings.dispatch.concurrency.model_copy(update={"email": n})}
            )
            config = config.model_copy(
                update={"settings": config.settings.model_copy(update={"dispatch": dispatch_settings})}
            )
            db = Database(url)
            db.upgrade()
            sends.fill(db, config, deliveries, seed=1)
            connections, started = server.log.connections, time.perf_counter()
            result = deliver_pending(db, config)
            seconds[n] = time.perf_counter() - started
            db.dispose()
            print(
                f"smtp ({delay_ms:g} ms a message), {n} sender(s): {result.sent} of {deliveries} emails in "
                f"{seconds[n]:.1f} s ({result.sent / seconds[n]:.0f}/s) over "
                f"{server.log.connections - connections} connection(s)"
                + (f"; {seconds[senders[0]] / seconds[n]:.1f}x the speed of {senders[0]}" if n != senders[0] else "")
            )


def main() -> None:
    parser = argparse.ArgumentParser(description="告警时延基准 / Alert latency benchmark (stored → delivered).")
    parser.add_argument("--incidents", type=int, default=10_000, help="backlog size (default 10000)")
    parser.add_argument("--new", type=int, default=50, help="fresh incidents measured one by one afterwards")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="dispatch processes draining the backlog at once")
    parser.add_argument("--dir", type=Path, default=None, help="keep the store and outbox here (default: a temp dir)")
    parser.add_argument("--smtp-deliveries", type=int, default=400, help="emails for the SMTP part (0: skip it)")
    parser.add_argument("--smtp-ms", type=float, default=50.0, help="milliseconds the SMTP server takes a message")
    parser.add_argument("--smtp-senders", type=int, nargs="+", default=[1, 4], help="email senders to compare")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wagewatch-bench-") as temporary:
        folder = args.dir or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        run(args.incidents, args.new, args.seed, folder, args.workers)
        if args.smtp_deliveries:
            smtp_drain(args.smtp_deliveries, args.smtp_senders, args.smtp_ms, folder)


if __name__ == "__main__":
    main()
