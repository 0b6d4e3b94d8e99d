"""Helpers shared by the foundation tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from tests.conftest import REPO


def weibo_search_path(query: str, page: int, search_type: int = 61) -> str:
    containerid = quote(f"100103type={search_type}&q={query}", safe="")
    return f"/api/container/getIndex?containerid={containerid}&page_type=searchall&page={page}"


def wagewatch(config_dir: Path, *args: str, timeout: float = 180, **kwargs) -> subprocess.CompletedProcess:
    """Run the CLI in a child process, as a user or the scheduler would."""
    env = dict(os.environ, WAGEWATCH_CONFIG_DIR=str(config_dir), PYTHONPATH=str(REPO))
    env.pop("WAGEWATCH_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "wagewatch", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def spawn(config_dir: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, WAGEWATCH_CONFIG_DIR=str(config_dir), PYTHONPATH=str(REPO))
    env.pop("WAGEWATCH_DATABASE_URL", None)
    # Output goes to a file beside the config: a pipe nobody reads fills up (64 KiB of scheduler logs) and
    # blocks the child, which then cannot even handle SIGTERM.
    with open(config_dir.parent / f"spawn-{args[0]}.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "wagewatch", *args], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
        )
