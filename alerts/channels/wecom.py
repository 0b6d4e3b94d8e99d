"""WeCom (企业微信) group robot: a markdown message POSTed to the robot's webhook URL."""

from __future__ import annotations

import logging

from wagewatch.alerts.channels.base import ChannelError, Envelope
from wagewatch.alerts.channels.http import check_errcode, fit_bytes, json_reply, post
from wagewatch.alerts.channels.registry import Alerter, register

MAX_CONTENT_BYTES = 4096  # WeCom rejects longer markdown content
TRANSIENT = {-1, 45009}  # system busy; more than 20 messages a minute to one robot
log = logging.getLogger("wagewatch.alerts.wecom")


def wecom_body(envelope: Envelope) -> dict:
    return {
        "msgtype": "markdown",
        "markdown": {"content": fit_bytes(envelope.message.markdown["wecom"], MAX_CONTENT_BYTES)},
    }


def mention_body(envelope: Envelope) -> dict | None:
    """WeCom markdown cannot @-mention by mobile; a short text message after it does (`mentioned_mobile_list`),
    so the recipient's phone rings even in a muted group. None without a mobile number."""
    mobile = envelope.person.mobile
    if not mobile:
        return None
    text = f"请{envelope.person.name}查看上条消息并及时签收：{envelope.message.short}"
    return {"msgtype": "text", "text": {"content": fit_bytes(text, 2048), "mentioned_mobile_list": [mobile]}}


def send_wecom(envelope: Envelope, timeout: float) -> str:
    url = envelope.channel.url
    if not url:
        raise ChannelError(f"environment variable {envelope.channel.url_env} is not set", permanent=True)
    check_errcode(json_reply(post(url, timeout, json=wecom_body(envelope)), "WeCom"), "WeCom", TRANSIENT)
    mention = mention_body(envelope)
    if mention is not None:
        # The alert itself has arrived: a failed mention is reported, never a reason to send the alert again.
        try:
            check_errcode(json_reply(post(url, timeout, json=mention), "WeCom"), "WeCom", TRANSIENT)
        except ChannelError as exc:
            log.warning("WeCom @-mention for delivery %s failed: %s", envelope.delivery_id, exc)
            return f"wecom:{envelope.delivery_id}:mention-failed"
    return f"wecom:{envelope.delivery_id}"


@register
class WecomAlerter(Alerter):
    name = "wecom"
    group = True

    def send(self, envelope: Envelope) -> str:
        return send_wecom(envelope, self.config.settings.webhook_timeout_seconds)
