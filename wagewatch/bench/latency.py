"""From a site to the officer's inbox: how long after its crawl run ends a red case is in the mailbox.

    python -m wagewatch.bench.latency [--posts 3]

Serves a local letters API with `--posts` severe wage-arrears cases in Jinan, starts a local SMTP sink
(aiosmtpd, a test dependency) and `wagewatch run` with the shipped config and intervals (crawl every 900 s,
the other stages woken by the crawl that produced work), and prints, for the first email, the seconds from the
end of the crawl run that fetched the posts to the message in the sink, with the severity the classifier gave.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from email import message_from_bytes, policy
from pathlib import Path

import yaml
from sqlalchemy import select

from wagewatch.bench.workers import serve, write_config
from wagewatch.core.store import Database
from wagewatch.core.store.models import CrawlRun, Incident

CASE = "济南市历城区某建设公司承建的安置房项目拖欠{n}名农民工工资{amount}万元，工人爬上塔吊以死相逼，现场已经有人受伤"


def main() -> None:
    from aiosmtpd.controller import Controller

    parser = argparse.ArgumentParser(description="抓取到收件箱时延 / Crawl run end to the officer's inbox.")
    parser.add_argument("--posts", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    arrived: list[tuple[float, str]] = []

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
            message = message_from_bytes(envelope.content, policy=policy.default)
            arrived.append((time.time(), str(message["Subject"])))
            return "250 OK"

    with socket.socket() as probe:  # a free port: aiosmtpd checks its own by connecting to it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Controller(Sink(), hostname="127.0.0.1", port=port)
    sink.start()
    site = serve(0.0, lambda n: CASE.format(n=40 + n, amount=200 + n), per_page=args.posts)
    with tempfile.TemporaryDirectory(prefix="wagewatch-bench-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'bench.db'}"
        root = write_config(folder, f"http://127.0.0.1:{site.server_port}", 1, url)
        settings_file = root / "settings.yaml"
        settings = yaml.safe_load(settings_file.read_text(encoding="utf-8"))
        settings["smtp"].update(host="127.0.0.1", port=port)
        settings.update(outbox_dir=str(folder / "outbox"))
        settings_file.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
        env = dict(os.environ, WAGEWATCH_CONFIG_DIR=str(root))
        env.pop("WAGEWATCH_DATABASE_URL", None)
        service = subprocess.Popen(
            [sys.executable, "-m", "wagewatch", "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + args.timeout
            while not arrived and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            service.send_signal(signal.SIGTERM)
            service.wait(timeout=120)
        db = Database(url)
        with db.session() as session:
            finished = session.scalar(select(CrawlRun.finished_at).where(CrawlRun.status == "ok").limit(1))
            severities = session.scalars(select(Incident.severity)).all()
        db.dispose()
    site.shutdown()
    sink.stop()
    if not arrived or finished is None:
        raise SystemExit(f"no email within {args.timeout:.0f} s (crawl finished: {finished})")
    first, subject = min(arrived)
    print(f"incident severities: {sorted(severities, key=lambda s: s or 0, reverse=True)}; first email: {subject}")
    print(f"crawl run end -> officer's inbox: {first - finished.timestamp():.1f} s")


if __name__ == "__main__":
    main()
