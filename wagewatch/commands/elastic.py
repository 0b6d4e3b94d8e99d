"""Commands for Elasticsearch and Kibana: index setup/status, reindex, search, kibana setup/export (the bulk
indexing benchmark: `wagewatch bench index`)."""

from __future__ import annotations

import html
import re
import sys
from datetime import datetime
from pathlib import Path

import click

from wagewatch.commands.progress import Bar
from wagewatch.context import AppContext

KINDS_CHOICE = click.Choice(["posts", "incidents", "leads", "all"])


def _client(ctx: AppContext):
    from wagewatch.index.client import NotConfigured, make_client

    try:
        return make_client(ctx.config.settings.elasticsearch)
    except NotConfigured as exc:
        raise click.UsageError(str(exc)) from None


def _layouts(ctx: AppContext):
    from wagewatch.index.layout import layouts

    es = ctx.config.settings.elasticsearch
    return layouts(es.index_prefix, es.chinese_analyzer, es.synonyms)


def _fail(exc: Exception) -> None:
    click.echo(f"失败 failed: {exc.__class__.__name__}: {exc}", err=True)
    sys.exit(1)


@click.group(name="index", help="Elasticsearch 索引管理 / Manage the Elasticsearch indices.")
def index_group() -> None:
    pass


@index_group.command(
    name="setup",
    help="创建索引模板、索引与别名，映射变化时迁移 / "
    "Create templates, indices and aliases; migrate when a mapping changed.",
)
@click.pass_obj
def index_setup(ctx: AppContext) -> None:
    from wagewatch.index.provision import ensure_kind

    client, es = _client(ctx), ctx.config.settings.elasticsearch
    try:
        with Bar() as bar:
            steps = [
                ensure_kind(client, ctx.db, layout, batch_size=es.bulk_batch_size, retries=es.retries, progress=bar)
                for layout in _layouts(ctx).values()
            ]
    except Exception as exc:  # noqa: BLE001 - one clear line for the operator (and a non-zero exit)
        _fail(exc)
    for step in steps:
        click.echo(step.line())


@index_group.command(name="status", help="索引、别名、文档数与待写入队列 / Aliases, document counts and the outbox.")
@click.pass_obj
def index_status(ctx: AppContext) -> None:
    from sqlalchemy import func, select

    from wagewatch.core.store.models import IndexQueue
    from wagewatch.index.provision import alias_targets
    from wagewatch.index.store_docs import count_rows

    client = _client(ctx)
    with ctx.db.session() as session:
        pending = session.scalar(select(func.count()).select_from(IndexQueue)) or 0
        rejected = session.execute(select(IndexQueue).where(IndexQueue.attempts > 0).limit(5)).scalars().all()
        stored = {kind: count_rows(session, kind) for kind in ("posts", "incidents", "leads")}
        rejected_lines = [f"  {r.entity} {r.entity_id}: {r.attempts}× {r.last_error}" for r in rejected]
    try:
        for kind, layout in _layouts(ctx).items():
            targets = sorted(alias_targets(client, layout.alias))
            count = client.count(index=layout.alias)["count"] if targets else 0
            state = (
                "当前 current"
                if targets == [layout.index]
                else ("需迁移 needs `wagewatch index setup`" if targets else "缺失 missing")
            )
            store = f" / 库中 store {stored[kind]}" if kind in stored else ""
            click.echo(f"{layout.alias} → {', '.join(targets) or '-'}: {count} 文档 docs{store} [{state}]")
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    click.echo(f"待写入 outbox pending: {pending}")
    for line in rejected_lines:
        click.echo(line)


@click.command(help="从数据库重建全部索引文档 / Rewrite every search document from the store, with a progress bar.")
@click.option("--kind", type=KINDS_CHOICE, default="all", show_default=True, help="文档类型 / Kind of documents.")
@click.pass_obj
def reindex(ctx: AppContext, kind: str) -> None:
    from wagewatch.index.provision import reindex as rewrite

    es = ctx.config.settings.elasticsearch
    kinds = ["posts", "incidents", "leads"] if kind == "all" else [kind]
    try:
        with Bar() as bar:
            written = rewrite(
                _client(ctx),
                ctx.db,
                _layouts(ctx),
                kinds,
                batch_size=es.bulk_batch_size,
                retries=es.retries,
                progress=bar,
            )
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    click.echo("已重建 reindexed: " + ", ".join(f"{k} {n}" for k, n in written.items()))


def _datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    from wagewatch.core import clock

    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=clock.LOCAL_TZ)


@click.command(help="全文检索事件、帖文或台账 / Search incidents, posts or leads with filters.")
@click.argument("text", required=False)
@click.option("--kind", type=click.Choice(["incidents", "posts", "leads"]), default="incidents", show_default=True)
@click.option("--city", multiple=True, help="地市 / City, e.g. 济南 (repeatable).")
@click.option("--county", multiple=True, help="区县 / County, e.g. 历下区 (repeatable).")
@click.option("--label", multiple=True, type=click.Choice(["real", "false", "irrelevant"]))
@click.option("--severity", multiple=True, type=click.IntRange(1, 4), help="等级 / Severity level 1–4 (repeatable).")
@click.option("--min-severity", type=click.IntRange(1, 4), default=None, help="最低等级 / At least this level.")
@click.option("--status", multiple=True, help="台账状态 / Lead status, e.g. 待签收.")
@click.option("--project-type", multiple=True, help="项目类型 / government, soe, real_estate, factory, other.")
@click.option("--company", default=None, help="企业名称（包含）/ Company name contains.")
@click.option("--since", default=None, help="起始时间 / From (ISO date or datetime, China time).")
@click.option("--until", default=None, help="截止时间 / Until (ISO date or datetime, China time).")
@click.option("--sort", type=click.Choice(["time", "severity", "relevance"]), default="time", show_default=True)
@click.option("--page", default=1, show_default=True, type=click.IntRange(1))
@click.option("--size", default=20, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True, help="输出JSON / Print the result as JSON.")
@click.pass_obj
def search(ctx: AppContext, text: str | None, as_json: bool, **filters) -> None:
    from pydantic import ValidationError

    from wagewatch.index.search import SearchQuery
    from wagewatch.index.search import search as run_search

    try:
        query = SearchQuery(
            text=text,
            since=_datetime(filters.pop("since")),
            until=_datetime(filters.pop("until")),
            **{k: list(v) if isinstance(v, tuple) else v for k, v in filters.items()},
        )
    except (ValidationError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    client = _client(ctx)
    try:
        page = run_search(client, ctx.config.settings.elasticsearch.index_prefix, query)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    if as_json:
        click.echo(page.model_dump_json(indent=None))
        return
    _print_page(page)


def _print_page(page) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False)
    console.print(f"共 {page.total} 条 / {page.total} hits (第 {page.page} 页, {page.took_ms} ms)")
    for hit in page.hits:
        fields = hit.fields
        title = fields.get("title") or fields.get("text", "")[:40]
        meta = " · ".join(
            str(fields[k])
            for k in ("city", "county", "label_name", "severity_name", "status", "stage", "company")
            if fields.get(k)
        )
        console.print(f"[bold]#{hit.id}[/bold] {escape(str(title))}  [dim]{escape(meta)}[/dim]")
        for fragment in hit.highlights[:2]:
            console.print("   " + _terminal(fragment))
    if page.by_city:
        console.print("按地市 by city: " + "，".join(f"{b.key} {b.count}" for b in page.by_city))


def _terminal(fragment: str) -> str:
    """Escaped-HTML highlight to rich markup: matches in bold yellow, the post's own text never read as markup."""
    from rich.markup import escape

    tags = {"<em>": "[bold yellow]", "</em>": "[/bold yellow]"}
    return "".join(tags.get(part) or escape(html.unescape(part)) for part in re.split(r"(</?em>)", fragment))


@click.group(name="kibana", help="Kibana 仪表板与检索 / Kibana dashboards and saved searches.")
def kibana_group() -> None:
    pass


@kibana_group.command(
    name="setup",
    help="通过保存对象导入API导入数据视图、检索与仪表板 / Import the data views, saved "
    "searches and dashboards through Kibana's saved-objects import API.",
)
@click.pass_obj
def kibana_setup(ctx: AppContext) -> None:
    from wagewatch.index.kibana.builder import build_objects
    from wagewatch.index.kibana.importer import KibanaError, import_objects

    settings = ctx.config.settings
    if not settings.kibana.url:
        raise click.UsageError("settings.yaml: key 'kibana.url' is not set (or set WAGEWATCH_KIBANA_URL)")
    try:
        objects = build_objects(settings.elasticsearch.index_prefix)
        report = import_objects(settings.kibana, settings.elasticsearch, objects)
    except KibanaError as exc:
        _fail(exc)
    for line in report.lines():
        click.echo(line)
    sys.exit(0 if report.success else 1)


@kibana_group.command(name="export", help="把Kibana资产写成NDJSON文件 / Write the Kibana assets as NDJSON files.")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def kibana_export(ctx: AppContext, directory: Path) -> None:
    from wagewatch.index.kibana.builder import write_ndjson

    for path in write_ndjson(directory, ctx.config.settings.elasticsearch.index_prefix):
        click.echo(str(path))


COMMANDS = [index_group, reindex, search, kibana_group]
