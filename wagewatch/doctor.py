"""Health checks for `wagewatch doctor`: one line per dependency saying what is wrong."""

from __future__ import annotations

import os
import smtplib
from dataclasses import dataclass

from sqlalchemy import text

from wagewatch.config import AppConfig, ConfigError, load_config
from wagewatch.store import Database


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.name}: {self.detail}"


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
        response = httpx.get(f"{es.url.rstrip('/')}/_cluster/health", auth=auth, timeout=5,
                             verify=es.ca_certs or es.verify_certs)
        status = response.json().get("status") if response.status_code == 200 else f"HTTP {response.status_code}"
        return Check("Elasticsearch", status in ("green", "yellow"), f"{es.url} 集群状态 health={status}")
    except Exception as exc:  # noqa: BLE001
        return Check("Elasticsearch", False, f"{es.url} 无法连接 unreachable: {exc.__class__.__name__}")


def check_smtp(config: AppConfig) -> Check:
    smtp = config.settings.smtp
    if not smtp.host:
        return Check("SMTP", True, f"未配置，邮件写入本地发件箱 not configured: alerts go to {config.settings.outbox_dir}")
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
            code, _ = client.noop()
        return Check("SMTP", code == 250, f"{smtp.host}:{smtp.port} NOOP {code}")
    except Exception as exc:  # noqa: BLE001
        return Check("SMTP", False, f"{smtp.host}:{smtp.port} 无法连接 unreachable: {exc.__class__.__name__}: {exc}")


def check_webhooks(config: AppConfig) -> Check:
    missing = sorted({f"{ch.url_env} ({p.id})" for office in [config.cities.province, *config.cities.cities.values()]
                      for p in office.people for ch in p.channels
                      if ch.type in ("wecom", "dingtalk", "webhook", "sms") and ch.url_env
                      and not os.environ.get(ch.url_env)})
    if missing:
        return Check("Webhooks", False, "缺少环境变量 missing environment variables: " + ", ".join(missing[:5])
                     + (" …" if len(missing) > 5 else ""))
    return Check("Webhooks", True, "所有机器人/网关地址已配置 all robot and gateway URLs set")


def run_checks(config_dir: str | None) -> list[Check]:
    try:
        config = load_config(config_dir)
    except ConfigError as exc:
        return [Check("配置 config", False, str(exc).replace("\n", " | "))]
    checks = [Check("配置 config", True, str(config.directory))]
    return checks + [check_store(config), check_elasticsearch(config), check_smtp(config), check_webhooks(config)]
