"""The two stable contracts other tools call: `parse` (saved response → posts) and `classify` (JSONL)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from wagewatch.commands.progress import Bar

EXIT_BLOCKED = 3
EXIT_MALFORMED = 4


@click.command(
    help="解析保存的页面，每条帖文输出一行JSON（不联网）/ Print one JSON line per post found in a saved response."
)
@click.option(
    "--source",
    required=True,
    help="来源名称 / Source name: weibo, tieba, liuyan, heimao, news, or a YAML-configured source.",
)
@click.option(
    "--file",
    "path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="保存的响应文件 / The saved response body.",
)
@click.option("--url", default=None, help="该响应的原始地址 / The URL the response came from.")
@click.pass_obj
def parse(ctx, source: str, path: Path, url: str | None) -> None:
    from scrapy.http import Request
    from scrapy.responsetypes import responsetypes

    from wagewatch.crawlers.blocks import BlockedError
    from wagewatch.crawlers.runner import UnknownSource, builtin_spiders, spider_class
    from wagewatch.crawlers.spiders.base import MalformedResponse

    try:
        # Site spiders parse without any configuration; YAML-driven sources need theirs.
        cls = spider_class(source, None if source in builtin_spiders() else ctx.config)
    except UnknownSource as exc:
        raise click.UsageError(str(exc)) from None
    body = path.read_bytes()
    url = url or path.resolve().as_uri()
    response_cls = responsetypes.from_args(url=url, body=body, filename=str(path))
    response = response_cls(url=url, body=body, request=Request(url))
    try:
        posts = cls.parse_saved(response, _page_limit(ctx, source))
    except BlockedError as exc:
        click.echo(f"blocked: {exc.reason}", err=True)
        sys.exit(EXIT_BLOCKED)
    except MalformedResponse as exc:
        click.echo(f"malformed: {exc}", err=True)
        sys.exit(EXIT_MALFORMED)
    for post in posts:
        click.echo(json.dumps(post.contract_dict(), ensure_ascii=False))


def _page_limit(ctx, source: str) -> int:
    """The source's `max_page_bytes`, so a saved page is refused where a live crawl would refuse it; a
    site spider's saved page parses without any configuration (then the default applies)."""
    from wagewatch.core.config import ConfigError, SourceConfig

    try:
        configured = ctx.config.sources.sources.get(source)
    except ConfigError:
        configured = None
    return configured.max_page_bytes if configured else SourceConfig.model_fields["max_page_bytes"].default


def _read_jsonl(handle, errors: list[str]):
    for number, line in enumerate(handle, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            errors.append(f"line {number}: {exc}")
            continue
        yield record


@click.command(help="对JSONL文本逐行分类并抽取要素 / Classify JSONL lines with `id` and `text`.")
@click.option("--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--batch-size", default=256, show_default=True)
@click.option(
    "--backend",
    type=click.Choice(["onnx", "torch"]),
    default=None,
    help="推理后端（默认取classifier.yaml）/ Inference back end (default: config; torch needs the train extra).",
)
@click.pass_obj
def classify(ctx, input_path: Path, output_path: Path, batch_size: int, backend: str | None) -> None:
    from wagewatch.classifier import load_classifier

    classifier = load_classifier(ctx.config.settings.model_dir, backend=backend)
    errors: list[str] = []
    with input_path.open(encoding="utf-8", errors="replace") as src, output_path.open("w", encoding="utf-8") as out:
        batch: list[dict] = []

        def flush() -> None:
            texts = [r.get("text") if isinstance(r.get("text"), str) else "" for r in batch]
            for record, result in zip(batch, classifier.analyze(texts), strict=True):
                out.write(json.dumps({**record, **result.to_dict()}, ensure_ascii=False) + "\n")
            batch.clear()

        total = sum(1 for line in input_path.open(encoding="utf-8", errors="replace") if line.strip())
        done = 0
        with Bar() as bar:
            for record in _read_jsonl(src, errors):
                batch.append(record)
                if len(batch) >= batch_size:
                    done += len(batch)
                    flush()
                    bar("分类 classify", done, total)
            done += len(batch)
            flush()
            bar("分类 classify", done, total)
    for message in errors:
        click.echo(f"{input_path}: {message}", err=True)
    if errors:
        sys.exit(1)


COMMANDS = [parse, classify]
