"""`wagewatch kibana setup`: import the saved objects through Kibana's saved-objects import API.

POST <kibana>[/s/<space>]/api/saved_objects/_import?overwrite=true with a `kbn-xsrf` header and the
objects as the multipart form field `file` (an .ndjson file), as Kibana's API reference describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from wagewatch.core.config import ElasticsearchSettings, KibanaSettings
from wagewatch.index.kibana.builder import to_ndjson

TYPE_NAMES = {"index-pattern": "数据视图", "search": "保存的检索", "lens": "图表", "map": "地图", "dashboard": "仪表板"}


class KibanaError(RuntimeError):
    """Kibana could not be reached, refused the credentials, or answered something that is not an import result."""


class _Unavailable(Exception):
    """Kibana answered 503: still starting."""


@dataclass
class ImportReport:
    success: bool
    imported: list[tuple[str, str, str]] = field(default_factory=list)  # type, id, title
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # type, id, reason

    def lines(self) -> list[str]:
        lines = [f"已导入 imported {TYPE_NAMES.get(t, t)} {title} ({i})" for t, i, title in self.imported]
        lines += [f"导入失败 failed {TYPE_NAMES.get(t, t)} {i}: {reason}" for t, i, reason in self.errors]
        lines.append(
            f"共 {len(self.imported)} 个对象导入成功，{len(self.errors)} 个失败 / "
            f"{len(self.imported)} imported, {len(self.errors)} failed"
        )
        return lines


def import_url(kibana: KibanaSettings) -> str:
    base = kibana.url.rstrip("/")
    space = "" if kibana.space == "default" else f"/s/{kibana.space}"
    return f"{base}{space}/api/saved_objects/_import"


def _auth(kibana: KibanaSettings, es: ElasticsearchSettings) -> tuple[str, str] | None:
    if kibana.username:
        return kibana.username, kibana.password or ""
    if es.username:
        return es.username, es.password or ""
    return None


def _parse(response: httpx.Response) -> ImportReport:
    if response.status_code in (401, 403):
        raise KibanaError(
            f"Kibana 拒绝了登录凭据 refused the credentials (HTTP {response.status_code}): "
            "check kibana.username / WAGEWATCH_KIBANA_PASSWORD (or the Elasticsearch ones)"
        )
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        raise KibanaError(f"Kibana answered HTTP {response.status_code} without JSON: {response.text[:200]}") from None
    if response.status_code != 200 or "success" not in body:
        raise KibanaError(f"Kibana import failed (HTTP {response.status_code}): {body.get('message', body)}")
    report = ImportReport(success=bool(body["success"]))
    for item in body.get("successResults", []):
        report.imported.append((item["type"], item["id"], item.get("meta", {}).get("title", "")))
    for item in body.get("errors", []):
        error = item.get("error", {})
        reason = error.get("type", "unknown")
        if error.get("references"):
            reason += ": " + ", ".join(f"{r['type']}/{r['id']}" for r in error["references"])
        elif error.get("message"):
            reason += f": {error['message']}"
        report.errors.append((item.get("type", "?"), item.get("id", "?"), reason))
    return report


def import_objects(
    kibana: KibanaSettings, es: ElasticsearchSettings, objects: list[dict[str, Any]], attempts: int = 5
) -> ImportReport:
    """Import (overwriting) and report what Kibana created. Retries while Kibana is starting (connection
    refused, 503), as it is when `docker compose up` runs this right after Kibana's container starts."""
    payload = to_ndjson(objects).encode("utf-8")
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=1, max=15),
        retry=retry_if_exception_type((httpx.TransportError, _Unavailable)),
        reraise=True,
    )

    def post() -> httpx.Response:
        response = httpx.post(
            import_url(kibana),
            params={"overwrite": "true"},
            headers={"kbn-xsrf": "wagewatch"},
            files={"file": ("wagewatch.ndjson", payload, "application/ndjson")},
            auth=_auth(kibana, es),
            verify=kibana.verify_certs,
            timeout=kibana.timeout_seconds,
        )
        if response.status_code == 503:
            raise _Unavailable(f"Kibana is not ready (HTTP 503): {response.text[:200]}")
        return response

    try:
        return _parse(retrying(post))
    except (httpx.TransportError, _Unavailable) as exc:
        raise KibanaError(
            f"Kibana {kibana.url} 不可用 unavailable after {attempts} attempts: {exc.__class__.__name__}: {exc}"
        ) from exc
