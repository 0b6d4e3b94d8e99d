"""Health checks for `wagewatch doctor`: one line per dependency saying what is wrong."""

from __future__ import annotations

import ipaddress
import os
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import text

from wagewatch.alerts.routing import on_duty
from wagewatch.core import clock
from wagewatch.core.config import AppConfig, ConfigError, load_config
from wagewatch.core.store import Database


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    warning: bool = False  # works, but not as deployed: shown with ⚠, does not fail the command

    def line(self) -> str:
        mark = "✗" if not self.ok else "⚠" if self.warning else "✓"
        return f"{mark} {self.name}: {self.detail}"


def check_public_url(config: AppConfig) -> Check:
    """The officers' links in every alert start with public_base_url: a loopback address, or one where no
    `wagewatch serve` answers, makes every link useless on an officer's phone."""
    url = config.settings.public_base_url
    name = "访问地址 public_base_url"
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback or host == "0.0.0.0"
    except ValueError:  # a host name
        loopback = host.endswith(".localhost")
    if loopback:
        return Check(
            name,
            True,
            f"{url} 是本机地址，预警消息中的签收链接在手机上打不开；请改为干部可访问的地址 "
            "(loopback: links in alerts will not open on a phone)",
            warning=True,
        )
    try:
        import httpx

        status = httpx.get(f"{url.rstrip('/')}/healthz", timeout=5).status_code
    except Exception as exc:  # noqa: BLE001 - any network error means the same to the officer
        return Check(
            name, True, f"{url} 无法访问（{exc.__class__.__name__}），请确认 wagewatch serve 已运行", warning=True
        )
    if status != 200:
        return Check(name, True, f"{url}/healthz 返回 HTTP {status}，请确认该地址指向 wagewatch serve", warning=True)
    return Check(name, True, f"{url} 可访问 reachable")


def check_store(config: AppConfig) -> Check:
    try:
        db = Database(config.settings.database_url)
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        db.dispose()
        return Check("数据库 store", True, config.settings.database_url.split("@")[-1])
    except Exception as exc:  # noqa: BLE001 - report any driver error in one line
        return Check("数据库 store", False, f"无法连接 cannot connect: {exc.__class__.__name__}: {exc}".splitlines()[0])


def check_elasticsearch(config: AppConfig) -> Check:
    es = config.settings.elasticsearch
    if not es.url:
        return Check("Elasticsearch", True, "未配置，索引环节关闭 not configured (index stage off)")
    try:
        import httpx

        auth = (es.username, os.environ.get(es.password_env, "")) if es.username else None
        response = httpx.get(
            f"{es.url.rstrip('/')}/_cluster/health", auth=auth, timeout=5, verify=es.ca_certs or es.verify_certs
        )
        status = response.json().get("status") if response.status_code == 200 else f"HTTP {response.status_code}"
        return Check("Elasticsearch", status in ("green", "yellow"), f"{es.url} 集群状态 health={status}")
    except Exception as exc:  # noqa: BLE001
        return Check("Elasticsearch", False, f"{es.url} 无法连接 unreachable: {exc.__class__.__name__}")


def check_smtp(config: AppConfig) -> Check:
    smtp = config.settings.smtp
    if not smtp.host:
        return Check(
            "SMTP", True, f"未配置，邮件写入本地发件箱 not configured: alerts go to {config.settings.outbox_dir}"
        )
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
            code, _ = client.noop()
        return Check("SMTP", code == 250, f"{smtp.host}:{smtp.port} NOOP {code}")
    except Exception as exc:  # noqa: BLE001
        return Check("SMTP", False, f"{smtp.host}:{smtp.port} 无法连接 unreachable: {exc.__class__.__name__}: {exc}")


def check_channels(config: AppConfig) -> Check:
    """Robots and gateways whose URL variable is unset are skipped (the next channel is used); a person left
    with no usable channel at all is an error."""
    unset = sorted(
        {ch.url_env for _, p in config.cities.everyone() for ch in p.channels if ch.url_env and not ch.configured()}
    )
    unreachable = [p.id for _, p in config.cities.everyone() if p.next_channel() is None]
    if unreachable:
        return Check("渠道 channels", False, "以下人员没有可用渠道 nobody can reach: " + ", ".join(unreachable[:5]))
    if unset:
        return Check(
            "渠道 channels",
            True,
            f"{len(unset)}个机器人/网关地址未设置，改用下一渠道 "
            f"unset, next channel used: {', '.join(unset[:3])}" + (" …" if len(unset) > 3 else ""),
        )
    return Check("渠道 channels", True, "所有机器人/网关地址已配置 all robot and gateway URLs set")


def check_rotas(config: AppConfig) -> Check:
    """Every hour of the week needs an on-duty officer in every city (otherwise all duty officers are alerted)."""
    monday = datetime(2024, 1, 1, tzinfo=clock.LOCAL_TZ)  # any Monday
    gaps = []
    for city, office in config.cities.cities.items():
        for hour in range(7 * 24):
            at = monday + timedelta(hours=hour, minutes=30)
            if not any(on_duty(p.rota, at) for p in office.with_role("duty")):
                gaps.append(f"{city} 周{at.isoweekday()} {at:%H}:30")
                break
    if gaps:
        return Check("值班表 rotas", False, "无人值班 nobody on duty: " + "; ".join(gaps[:5]))
    return Check("值班表 rotas", True, "16市值班全天覆盖 every city covered around the clock")


def run_checks(config_dir: str | None) -> list[Check]:
    try:
        config = load_config(config_dir)
    except ConfigError as exc:
        return [Check("配置 config", False, str(exc).replace("\n", " | "))]
    checks = [Check("配置 config", True, str(config.directory))]
    return checks + [
        check_store(config),
        check_elasticsearch(config),
        check_smtp(config),
        check_channels(config),
        check_rotas(config),
        check_public_url(config),
    ]
