"""Throughput of `Classifier.analyze` on CPU, in batches, as `wagewatch classify` runs it.

Speed is measured here and printed, never asserted in a test: a loaded CI machine would make such a
test flaky, and a figure in the model card is what an operator needs. Texts are the corpus's own
(train split, cycled), so lengths follow what the service sees; pass --file for another JSONL.

    python -m wagewatch.bench.classify --posts 3000 --batch-size 256
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from wagewatch.classifier.corpus import read_jsonl, training_files


@dataclass
class BenchResult:
    posts: int
    batch_size: int
    threads: int
    mean_chars: float
    posts_per_second: float
    model_only_posts_per_second: float
    cpu_ms_per_post: float  # process CPU time (all threads) per post: steadier than wall time on a shared machine
    runs: list[float]
    model_version: str
    backend: str


def _texts(path: Path | None, posts: int) -> list[str]:
    files = [path] if path else training_files()
    texts = [e.text for f in files for e in read_jsonl(f)]
    if not texts:
        raise SystemExit("no texts to benchmark")
    # spread over every file (short posts and long-form alike), cycling when more posts than texts are asked
    return [
        texts[(i * len(texts)) // posts % len(texts)] if posts <= len(texts) else texts[i % len(texts)]
        for i in range(posts)
    ]


def run(
    model_dir: Path | None = None,
    posts: int = 3000,
    batch_size: int = 256,
    repeats: int = 3,
    path: Path | None = None,
    threads: int | None = None,
    backend: str | None = None,
) -> BenchResult:
    """Median of `repeats` timed passes over `posts` texts, after one warm-up batch."""
    from wagewatch.classifier.api import Classifier, load_classifier
    from wagewatch.classifier.normalize import normalize
    from wagewatch.classifier.settings import load_settings

    threads = threads or load_settings().inference.threads
    classifier: Classifier = load_classifier(model_dir, backend=backend, threads=threads)
    texts = _texts(path, posts)
    classifier.analyze(texts[:batch_size])  # warm-up: lazy imports, regex compilation, allocator
    runs, cpu = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        for i in range(0, len(texts), batch_size):
            classifier.analyze(texts[i : i + batch_size])
        runs.append(len(texts) / (time.perf_counter() - start))
        cpu.append((time.process_time() - cpu_start) * 1000 / len(texts))
    cleaned = [normalize(t) for t in texts]
    start = time.perf_counter()
    for i in range(0, len(cleaned), batch_size):
        classifier.model.predict_proba(cleaned[i : i + batch_size])
    model_only = len(cleaned) / (time.perf_counter() - start)
    return BenchResult(
        posts=len(texts),
        batch_size=batch_size,
        threads=threads,
        mean_chars=sum(map(len, texts)) / len(texts),
        posts_per_second=statistics.median(runs),
        model_only_posts_per_second=model_only,
        cpu_ms_per_post=statistics.median(cpu),
        runs=runs,
        model_version=classifier.version,
        backend=backend or load_settings().inference.backend,
    )


def render(result: BenchResult) -> str:
    return (
        f"模型 model: {result.model_version}（后端 backend: {result.backend}）\n"
        f"帖文数 posts: {result.posts}（平均 {result.mean_chars:.0f} 字），批大小 batch: {result.batch_size}，"
        f"线程 threads: {result.threads}，CPU 核数: {os.cpu_count()}\n"
        f"classify 吞吐量: {result.posts_per_second:.0f} posts/s（各轮: "
        f"{', '.join(f'{r:.0f}' for r in result.runs)}）\n"
        f"其中仅模型推理: {result.model_only_posts_per_second:.0f} posts/s\n"
        f"进程CPU时间 CPU time: {result.cpu_ms_per_post:.2f} ms/帖（所有线程合计；机器繁忙时墙钟吞吐量偏低，此数较稳定）"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="classify 吞吐量基准 / classify throughput on CPU")
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped one)")
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--file", type=Path, default=None, help="JSONL with a text field (default: train corpus)")
    parser.add_argument("--backend", choices=["onnx", "torch"], default=None)
    args = parser.parse_args(argv)
    print(render(run(args.model, args.posts, args.batch_size, args.repeats, args.file, args.threads, args.backend)))


if __name__ == "__main__":
    main()
