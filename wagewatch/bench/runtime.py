"""What the service costs to install and start: environment size, cold start, peak memory, throughput.

Compares the runtime back end (ONNX Runtime) with the training one (torch) on the same shipped model.
`--build-venv` installs the runtime alone (`pip install .`, no extras) into a fresh virtual environment
and measures that environment; the ONNX figures then come from it, so they include no torch at all.

    python -m wagewatch.bench.runtime --build-venv
    python -m wagewatch.bench.runtime --venv /opt/wagewatch
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import venv
from dataclasses import dataclass
from pathlib import Path

from wagewatch.classifier.corpus import CORPUS_DIR, read_jsonl

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "nvidia", "transformers", "triton")


@dataclass
class Run:
    seconds: float
    peak_mb: float


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def _heavy_packages(env: Path) -> list[str]:
    site = next(env.glob("lib/python*/site-packages"))
    return sorted(p.name for p in site.iterdir() if p.name.lower().startswith(HEAVY))


def build_runtime_venv(target: Path) -> Path:
    """A fresh environment with the service as users install it: `pip install .`, no extras."""
    venv.EnvBuilder(with_pip=True).create(target)
    subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install", "-q", str(REPO)], check=True)
    return target


def timed(command: list[str], env: dict[str, str], cwd: Path) -> Run:
    """Wall time from spawn to exit and the child's own peak resident memory (wait4, not the whole tree)."""
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed: {child.stderr.read().decode(errors='replace')[-2000:]}")
    return Run(seconds, usage.ru_maxrss / 1024)


def classify_runs(python: str, backend: str, texts: list[str], workdir: Path) -> tuple[Run, Run]:
    """`wagewatch classify` on one text (cold start) and on all `texts` (peak memory), as a user runs it."""
    env = {**os.environ, "WAGEWATCH_CONFIG_DIR": str(REPO / "config")}
    runs = []
    for name, batch in (("one", texts[:1]), ("all", texts)):
        source = workdir / f"{name}.jsonl"
        source.write_text(
            "".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(batch)),
            encoding="utf-8",
        )
        runs.append(
            timed(
                [
                    python,
                    "-m",
                    "wagewatch",
                    "classify",
                    "--backend",
                    backend,
                    "--input",
                    str(source),
                    "--output",
                    str(workdir / f"{name}.out.jsonl"),
                ],
                env,
                workdir,  # not the checkout: `python -m wagewatch` must import the environment's own copy
            )
        )
    return runs[0], runs[1]


def throughput(python: str, backend: str, posts: int, workdir: Path) -> str:
    done = subprocess.run(
        [python, "-m", "wagewatch.bench.classify", "--backend", backend, "--posts", str(posts), "--repeats", "2"],
        capture_output=True,
        text=True,
        check=True,
        cwd=workdir,
    )
    return next(line for line in done.stdout.splitlines() if "吞吐量" in line).strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--venv", type=Path, help="measure this runtime environment")
    where.add_argument("--build-venv", action="store_true", help="build a fresh runtime-only environment")
    parser.add_argument("--texts", type=int, default=151, help="texts for the peak-memory run")
    parser.add_argument("--posts", type=int, default=3000, help="posts for the throughput run")
    args = parser.parse_args(argv)

    texts = [e.text for e in read_jsonl(CORPUS_DIR / "test" / "test.jsonl")][: args.texts]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env_dir = args.venv or (build_runtime_venv(workdir / "venv") if args.build_venv else None)
        runtime_python = str(env_dir / "bin" / "python") if env_dir else sys.executable
        if env_dir:
            heavy = _heavy_packages(env_dir)
            print(
                f"运行环境 runtime environment: {env_dir}: {_size_mb(env_dir):.0f} MB；"
                f"torch/nvidia/transformers 包: {', '.join(heavy) or '无 none'}"
            )
        for backend, python in (("onnx", runtime_python), ("torch", sys.executable)):
            one, many = classify_runs(python, backend, texts, workdir)
            print(
                f"[{backend}] 冷启动 cold start (1 条): {one.seconds:.2f} s；{len(texts)} 条: {many.seconds:.2f} s，"
                f"峰值内存 peak RSS {many.peak_mb:.0f} MB"
            )
            print(f"[{backend}] {throughput(python, backend, args.posts, workdir)}")


if __name__ == "__main__":
    main()
