"""Commands for the officers' side: the web page and sign-in links."""

from __future__ import annotations

import click

from wagewatch.context import AppContext
from wagewatch.core import clock


@click.command(help="启动线索办理页面 / Serve the officers' lead pages (FastAPI).")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址 / Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="端口 / Port.")
@click.pass_obj
def serve(ctx: AppContext, host: str, port: int) -> None:
    import uvicorn

    from wagewatch.web.app import create_app

    uvicorn.run(create_app(ctx.config, ctx.db), host=host, port=port, proxy_headers=True, log_level="info")


@click.command(help="为名单中的人员生成登录链接 / Print a sign-in link for a person in cities.yaml.")
@click.argument("person_id")
@click.option(
    "--hours",
    type=click.IntRange(1, 24 * 90),
    default=None,
    help="有效小时数（默认取policy.yaml）/ Hours the link works (default: policy link_valid_hours).",
)
@click.pass_obj
def link(ctx: AppContext, person_id: str, hours: int | None) -> None:
    from wagewatch.ledger import tokens

    if ctx.config.cities.person(person_id) is None:
        raise click.UsageError(f"cities.yaml 中没有此人 / no person {person_id!r} in cities.yaml")
    with ctx.db.session() as session:
        token = tokens.mint(session, person_id, clock.now(), hours or ctx.config.policy.link_valid_hours)
    click.echo(f"{ctx.config.settings.public_base_url.rstrip('/')}/leads?t={token}")


COMMANDS = [serve, link]
