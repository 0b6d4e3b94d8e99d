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


class _LinkGroup(click.Group):
    """`wagewatch link PERSON` stays the short form of `wagewatch link new PERSON`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["new", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_LinkGroup, help="人员登录链接：生成或吊销 / Officers' sign-in links: issue (default) or revoke.")
def link() -> None:
    pass


def _known(ctx: AppContext, person_id: str) -> None:
    if ctx.config.cities.person(person_id) is None:
        raise click.UsageError(f"cities.yaml 中没有此人 / no person {person_id!r} in cities.yaml")


@link.command(name="new", help="为名单中的人员生成登录链接 / Print a sign-in link for a person in cities.yaml.")
@click.argument("person_id")
@click.option(
    "--hours",
    type=click.IntRange(1, 24 * 90),
    default=None,
    help="有效小时数（默认取policy.yaml）/ Hours the link works (default: policy link_valid_hours).",
)
@click.pass_obj
def link_new(ctx: AppContext, person_id: str, hours: int | None) -> None:
    from wagewatch.ledger import tokens

    _known(ctx, person_id)
    with ctx.db.session() as session:
        token = tokens.mint(session, person_id, clock.now(), hours or ctx.config.policy.link_valid_hours)
    click.echo(f"{ctx.config.settings.public_base_url.rstrip('/')}/leads?t={token}")


@link.command(name="revoke", help="吊销此人全部有效链接 / Revoke every live link of a person.")
@click.argument("person_id")
@click.pass_obj
def link_revoke(ctx: AppContext, person_id: str) -> None:
    from wagewatch.ledger import tokens

    _known(ctx, person_id)
    with ctx.db.session() as session:
        count = tokens.revoke(session, person_id, clock.now())
    click.echo(
        f"已吊销 {person_id} 的 {count} 个有效链接；此人可从下一条预警消息或 `wagewatch link {person_id}` 获得新链接。"
    )


COMMANDS = [serve, link]
