"""The latency benchmark runs and prints its figures (the figures themselves are never asserted)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

SMTP = ["--smtp-deliveries", "40", "--smtp-senders", "1", "4"]


def test_bench_command_prints_latency_figures(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wagewatch.bench.alerts",
            "--incidents",
            "150",
            "--new",
            "2",
            "--dir",
            str(tmp_path),
            *SMTP,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("backlog: 150 analysed incidents")
    drain = next(line for line in lines if line.startswith("drain: 1 dispatch worker(s) sent "))
    assert "sent twice" not in drain
    assert any(line.startswith("drain latency (stored -> delivered), all: p50 ") for line in lines)
    assert any(line.startswith("steady state, one new incident per dispatch run") for line in lines)
    assert len(list((tmp_path / "outbox").glob("*.eml"))) > 150
    # The slow SMTP server part: every email sent, four senders over four kept connections.
    assert any(line.startswith("smtp (50 ms a message), 1 sender(s): 40 of 40 emails") for line in lines)
    assert any(
        line.startswith("smtp (50 ms a message), 4 sender(s): 40 of 40 emails") and "over 4 connection(s)" in line
        for line in lines
    )


def test_two_dispatch_workers_drain_the_backlog_each_delivery_once(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "wagewatch.bench.alerts", "--incidents", "300", "--new", "0", "--workers", "2"]
        + ["--smtp-deliveries", "0", "--dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    drain = next(line for line in result.stdout.splitlines() if line.startswith("drain: 2 dispatch worker(s) sent "))
    sent = int(drain.split(" sent ")[1].split()[0])
    assert f"{sent} of {sent} delivery rows sent" in drain and "sent twice" not in drain
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == sent
