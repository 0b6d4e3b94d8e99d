"""HTTP plumbing shared by the robots and webhooks: one POST, with every failure sorted into retryable,
permanent or ambiguous (see ChannelError)."""

from __future__ import annotations

from typing import Any

import httpx

from wagewatch.alerts.channels.base import ChannelError


def post(url: str, timeout: float, **kwargs: Any) -> httpx.Response:
    """POST and return a 2xx response; 5xx and 429 are retryable, other 4xx permanent."""
    return request("POST", url, timeout, **kwargs)


def request(method: str, url: str, timeout: float, **kwargs: Any) -> httpx.Response:
    try:
        response = httpx.request(method, url, timeout=timeout, **kwargs)
    except (
        httpx.ConnectError,
        httpx.ConnectTimeout,
        httpx.PoolTimeout,
        httpx.UnsupportedProtocol,
        httpx.InvalidURL,
    ) as exc:
        # The request never left: safe to retry (a malformed URL never gets better).
        permanent = isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL))
        raise ChannelError(f"{_host(url)}: {exc.__class__.__name__}: {exc}", permanent=permanent) from exc
    except httpx.HTTPError as exc:
        raise ChannelError(
            f"{_host(url)}: connection broke after sending: {exc.__class__.__name__}: {exc}", ambiguous=True
        ) from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise ChannelError(f"{_host(url)}: HTTP {response.status_code}")
    if response.status_code >= 400:
        raise ChannelError(f"{_host(url)}: HTTP {response.status_code}: {response.text[:200]}", permanent=True)
    return response


def json_reply(response: httpx.Response, service: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise ChannelError(f"{service}: reply is not JSON: {response.text[:200]!r}", permanent=True) from None
    if not isinstance(body, dict):
        raise ChannelError(f"{service}: unexpected reply {body!r:.200}", permanent=True)
    return body


def check_errcode(reply: dict[str, Any], service: str, transient: set[int]) -> None:
    """Robots answer HTTP 200 with {"errcode": 0} on success; rate limits and 'busy' are worth a retry."""
    code = reply.get("errcode")
    if code == 0:
        return
    raise ChannelError(f"{service}: errcode {code}: {reply.get('errmsg')}", permanent=code not in transient)


def fit_bytes(text: str, limit: int) -> str:
    """Cut UTF-8 `text` to at most `limit` bytes on a character boundary, marking the cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - len("…".encode())].decode("utf-8", errors="ignore") + "…"


def _host(url: str) -> str:
    # Robot URLs carry their key in the query string: never put one in a log line or an audit event.
    try:
        return httpx.URL(url).host or "?"
    except httpx.InvalidURL:
        return "?"
