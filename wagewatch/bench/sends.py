"""Send benchmark under faults: N dispatch workers plus the scheduler over a backlog of due email deliveries,
against a local SMTP server (aiosmtpd) that drops connections at random protocol stages.

    python -m wagewatch.bench.sends --deliveries 5000 --workers 1 2 4 [--database-url postgresql+psycopg://...]

For each worker count the store is filled afresh with `--deliveries` due deliveries, the workers (separate
processes) and one scheduler process (escalate, then dispatch, in turn) run until nothing is left to send,
and the outcome is checked against what the server saw, by Message-ID:
- duplicates: a Message-ID the server took (or may have taken) more than once;
- lost: a delivery neither sent (and taken by the server), nor dead with an ops notice, nor unknown after a
  drop that followed the end of its DATA (with an ops notice);
- false sent / false unknown: the store says sent but the server never took it, or unknown without such a drop.
Throughput is finished deliveries per second of wall time. Retries are sped up (1 s back-off base) so that a
run ends in seconds; everything else is the shipped configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

from wagewatch.core import clock
from wagewatch.core.config import AppConfig, load_config
from wagewatch.core.store import Database
from wagewatch.core.store.models import AlertDelivery, Incident

# Where the server may fail, in protocol order; the weights say how often each is picked for a failing session.
# Stages before "after-data" leave the message untaken (the sender must retry), "after-data" takes it and
# drops before answering (ambiguous), "quit-421" takes it and then answers QUIT with 421 (sent all the same).
FAULTS = {"ehlo": 2, "mail": 2, "mail-451": 1, "rcpt": 2, "rcpt-550": 1, "data-cmd": 2, "after-data": 1, "quit-421": 2}


@dataclass
class ServerLog:
    taken: list[str] = field(default_factory=list)  # Message-IDs answered 250
    maybe: list[str] = field(default_factory=list)  # Message-IDs received whole, connection dropped before 250
    faults: Counter = field(default_factory=Counter)
    connections: int = 0


class FlakySmtpServer:
    """A local SMTP server that takes `delay` seconds per message and fails a `rate` share of transactions at a stage drawn from `faults` (name:
    weight). Senders keep a connection for many messages, so a fault is drawn when a connection opens (for its
    greeting and first transaction) and again after each message it took (for the next transaction); a
    `quit-421` fault shows only if no message follows on that connection. `connections` counts the sessions."""

    def __init__(self, rate: float, seed: int, faults: dict[str, int] = FAULTS, delay: float = 0.0) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import SMTP

        self.log = ServerLog()
        self.port = _free_port()
        rng = random.Random(seed)
        log = self.log
        stages, weights = list(faults), list(faults.values())
        later = [(stage, weight) for stage, weight in faults.items() if stage != "ehlo"]  # not on an open session

        def draw(choices: list[tuple[str, int]]) -> str | None:
            if not choices or rng.random() >= rate:
                return None
            fault = rng.choices([c for c, _ in choices], [w for _, w in choices])[0]
            log.faults[fault] += 1
            return fault

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
                message_id = BytesHeaderParser().parsebytes(envelope.content)["Message-ID"]
                if delay:  # a slow server: each message takes this long to be accepted (others carry on meanwhile)
                    await asyncio.sleep(delay)
                if server.fault == "after-data":
                    log.maybe.append(message_id)
                    server.drop()
                    return "250 OK"  # never reaches the client: the connection is already gone
                log.taken.append(message_id)
                server.fault = draw(later)  # for the next transaction on this connection
                return "250 OK"

        class Flaky(SMTP):
            def connection_made(self, transport):
                log.connections += 1
                self.fault = draw(list(zip(stages, weights, strict=True)))
                super().connection_made(transport)

            def drop(self) -> None:
                self.transport.abort()

            async def smtp_EHLO(self, hostname):  # noqa: N802
                if self.fault == "ehlo":
                    return self.drop()
                return await super().smtp_EHLO(hostname)

            async def smtp_MAIL(self, arg):  # noqa: N802
                if self.fault == "mail":
                    return self.drop()
                if self.fault == "mail-451":
                    return await self.push("451 4.3.0 try again later")
                return await super().smtp_MAIL(arg)

            async def smtp_RCPT(self, arg):  # noqa: N802
                if self.fault == "rcpt":
                    return self.drop()
                if self.fault == "rcpt-550":
                    return await self.push("550 5.1.1 no such user")
                return await super().smtp_RCPT(arg)

            async def smtp_DATA(self, arg):  # noqa: N802
                if self.fault == "data-cmd":
                    return self.drop()
                return await super().smtp_DATA(arg)

            async def smtp_QUIT(self, arg):  # noqa: N802
                if self.fault == "quit-421":
                    await self.push("421 4.3.2 shutting down")
                    return self.drop()
                return await super().smtp_QUIT(arg)

        class FlakyController(Controller):
            def factory(self):
                return Flaky(self.handler)

        logging.getLogger("mail.log").setLevel(logging.CRITICAL)
        self.controller = FlakyController(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> FlakySmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_config(folder: Path, database_url: str, smtp_port: int) -> AppConfig:
    """The shipped config with the store, outbox and SMTP server given, and quick retries."""
    config = load_config()
    settings = config.settings.model_copy(
        update={
            "database_url": database_url,
            "outbox_dir": str(folder / "outbox"),
            "smtp": config.settings.smtp.model_copy(
                update={"host": "127.0.0.1", "port": smtp_port, "timeout_seconds": 5.0}
            ),
        }
    )
    policy_ = config.policy.model_copy(update={"retry_base_seconds": 1, "send_lease_seconds": 60})
    return config.model_copy(update={"settings": settings, "policy": policy_})


def fill(db: Database, config: AppConfig, count: int, seed: int) -> None:
    """`count` due email deliveries, one per incident, to people drawn from cities.yaml."""
    rng = random.Random(seed)
    people = [
        (p, i)
        for _, p in config.cities.everyone()
        if p.role != "ops"
        for i, c in enumerate(p.channels)
        if c.type == "email"
    ]
    now = clock.now()
    incidents, deliveries = [], []
    for n in range(1, count + 1):
        person, index = rng.choice(people)
        incidents.append(
            dict(
                id=n,
                label="real",
                city="济南",
                severity=rng.choice([2, 3, 4]),
                severity_score=50.0,
                title=f"某工地拖欠农民工工资（基准样本{n}）",
                explanation=[],
                signature=[],
                post_count=1,
                reach=0,
                first_seen=now,
                last_seen=now,
                alert_state="alerted",
                alerted_cities=[],
                extreme=False,
                updated_at=now,
            )
        )
        deliveries.append(
            dict(
                incident_id=n,
                recipient_id=person.id,
                channel="email",
                channel_index=index,
                reason="new",
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    with db.session() as session:
        session.execute(insert(Incident), incidents)
        session.execute(insert(AlertDelivery), deliveries)


def _remaining(db: Database) -> int:
    with db.session() as session:
        return session.scalar(
            select(func.count())
            .select_from(AlertDelivery)
            .where(AlertDelivery.status.in_(("pending", "failed", "digest", "sending")))
        )


def worker(config: AppConfig, scheduler: bool) -> None:
    """One dispatch process (or the scheduler's, which escalates too) running until nothing is left."""
    from wagewatch.pipeline import run_stage

    db = Database(config.settings.database_url)
    while _remaining(db):
        if scheduler:
            run_stage("escalate", config, db)
        result = run_stage("dispatch", config, db)
        if not any(result.values()):
            time.sleep(0.1)  # what is left waits for its back-off, or is being sent by another worker
    db.dispose()


@dataclass
class Outcome:
    workers: int
    deliveries: int
    seconds: float
    statuses: dict[str, int]
    server: ServerLog
    duplicates: int
    lost: int
    false_sent: int
    false_unknown: int
    untold: int  # dead or unknown without an ops notice

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.lost or self.false_sent or self.false_unknown or self.untold)


def check(db: Database, count: int, server: ServerLog, workers: int, seconds: float) -> Outcome:
    """Compare the store with what the server saw (see the module docstring)."""
    seen = Counter(server.taken + server.maybe)
    taken, maybe = set(server.taken), set(server.maybe)
    with db.session() as session:
        rows = session.execute(
            select(AlertDelivery.id, AlertDelivery.status, AlertDelivery.message_id).where(
                ~AlertDelivery.reason.like("ops-%")
            )
        ).all()
        told = {
            int(reason.rsplit("-", 1)[1])
            for reason in session.scalars(
                select(AlertDelivery.reason).where(AlertDelivery.reason.like("ops-%"), AlertDelivery.status == "sent")
            )
        }
    statuses = Counter(status for _, status, _ in rows)
    lost = false_sent = false_unknown = untold = 0
    for delivery_id, status, message_id in rows:
        expected_id = f"<delivery-{delivery_id}@wagewatch>"
        if status == "sent":
            false_sent += message_id != expected_id or expected_id not in taken
        elif status == "unknown":
            false_unknown += expected_id not in maybe
            untold += delivery_id not in told
        elif status == "dead":
            untold += delivery_id not in told
        else:
            lost += 1
    lost += count - len(rows)
    return Outcome(
        workers,
        count,
        seconds,
        dict(statuses),
        server,
        sum(n - 1 for n in seen.values() if n > 1),
        lost,
        false_sent,
        false_unknown,
        untold,
    )


def _fresh_database(url: str | None, folder: Path, run: int) -> str:
    """A new SQLite file, or a new empty schema in the given PostgreSQL database."""
    if not url:
        return f"sqlite:///{folder / f'sends-{run}.db'}"
    schema = f"bench_sends_{int(time.time())}_{run}"
    admin = Database(url)
    with admin.engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    parsed = make_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def run(
    deliveries: int,
    workers: int,
    folder: Path,
    database_url: str | None = None,
    rate: float = 0.1,
    seed: int = 1,
    run_number: int = 0,
) -> Outcome:
    """One measured run with `workers` dispatch processes plus the scheduler's."""
    with FlakySmtpServer(rate, seed) as server:
        url = _fresh_database(database_url, folder, run_number)
        config = bench_config(folder / f"run-{run_number}", url, server.port)
        db = Database(url)
        db.upgrade()
        fill(db, config, deliveries, seed)
        context = multiprocessing.get_context("spawn")
        processes = [context.Process(target=worker, args=(config, n == workers)) for n in range(workers + 1)]
        started = time.perf_counter()
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        seconds = time.perf_counter() - started
        if any(process.exitcode for process in processes):
            raise RuntimeError(f"a worker failed: exit codes {[p.exitcode for p in processes]}")
        outcome = check(db, deliveries, server.log, workers, seconds)
        db.dispose()
        return outcome


def render(outcome: Outcome) -> str:
    s = outcome.statuses
    done = s.get("sent", 0) + s.get("dead", 0) + s.get("unknown", 0)
    return (
        f"{outcome.workers} worker(s) + scheduler: {outcome.deliveries} deliveries in {outcome.seconds:.1f} s "
        f"({done / outcome.seconds:.0f}/s); sent {s.get('sent', 0)}, dead {s.get('dead', 0)}, "
        f"unknown {s.get('unknown', 0)}; server took {len(outcome.server.taken)}, "
        f"maybe {len(outcome.server.maybe)}, connections {outcome.server.connections}, "
        f"faults {sum(outcome.server.faults.values())} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(outcome.server.faults.items()))}); "
        f"duplicates {outcome.duplicates}, lost {outcome.lost}, false sent {outcome.false_sent}, "
        f"false unknown {outcome.false_unknown}, without ops notice {outcome.untold}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="发送可靠性基准 / Exactly-once sends under SMTP faults.")
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--database-url", default=None, help="a PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--fault-rate", type=float, default=0.1, help="share of SMTP sessions that fail")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    clock.freeze(None)
    failed = False
    with tempfile.TemporaryDirectory(prefix="wagewatch-sends-") as folder:
        for number, workers in enumerate(args.workers):
            outcome = run(args.deliveries, workers, Path(folder), args.database_url, args.fault_rate, args.seed, number)
            print(render(outcome), flush=True)
            failed |= not outcome.ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
