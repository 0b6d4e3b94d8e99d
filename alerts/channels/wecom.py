"""WeCom (企业微信) group robot: a markdown message POSTed to the robot's webhook URL."""

from __future__ import annotations

from wagewatch.alerts.channels.base import ChannelError, Envelope
from wagewatch.alerts.channels.http import check_errcode, fit_bytes, json_reply, post

MAX_CONTENT_BYTES = 4096  # WeCom rejects longer markdown content
TRANSIENT = {-1, 45009}  # system busy; more than 20 messages a minute to one robot


def wecom_body(envelope: Envelope) -> dict:
    return {
        "msgtype": "markdown",
        "markdown": {"content": fit_bytes(envelope.message.markdown["wecom"], MAX_CONTENT_BYTES)},
    }


def send_wecom(envelope: Envelope, timeout: float) -> str:
    url = envelope.channel.url
    if not url:
        raise ChannelError(f"environment variable {envelope.channel.url_env} is not set", permanent=True)
    check_errcode(json_reply(post(url, timeout, json=wecom_body(envelope)), "WeCom"), "WeCom", TRANSIENT)
    return f"wecom:{envelope.delivery_id}"
