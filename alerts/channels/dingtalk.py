"""DingTalk (钉钉) group robot: a markdown message, signed when the robot uses 加签 security.

The signature is DingTalk's: HMAC-SHA256 keyed with the secret over "<timestamp in ms>\\n<secret>",
base64-encoded, then URL-encoded, sent as the `timestamp` and `sign` query parameters. DingTalk refuses
a timestamp more than an hour away from its own clock, so the real time is used, never the test clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import quote_plus

from wagewatch.alerts.channels.base import ChannelError, Envelope
from wagewatch.alerts.channels.http import check_errcode, fit_bytes, json_reply, post
from wagewatch.alerts.channels.registry import Alerter, register

MAX_TEXT_BYTES = 20000
TRANSIENT = {-1, 130101, 410100}  # system busy; sending too fast


def sign(secret: str, timestamp_ms: int) -> str:
    """The URL-encoded `sign` parameter for `timestamp_ms`."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), string_to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def signed_url(url: str, secret: str | None, timestamp_ms: int) -> str:
    if not secret:
        return url
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}timestamp={timestamp_ms}&sign={sign(secret, timestamp_ms)}"


def dingtalk_body(envelope: Envelope) -> dict:
    """The markdown message; with the recipient's mobile it @-mentions them (`at.atMobiles`, and the “@mobile”
    DingTalk needs in the text), so their phone rings even in a muted group."""
    mobile = envelope.person.mobile
    mention = f"\n\n@{mobile}" if mobile else ""
    return {
        "msgtype": "markdown",
        "markdown": {
            "title": envelope.message.subject[:64],
            "text": fit_bytes(envelope.message.markdown["dingtalk"], MAX_TEXT_BYTES - len(mention.encode())) + mention,
        },
        "at": {"atMobiles": [mobile] if mobile else [], "isAtAll": False},
    }


def send_dingtalk(envelope: Envelope, timeout: float) -> str:
    url = envelope.channel.url
    if not url:
        raise ChannelError(f"environment variable {envelope.channel.url_env} is not set", permanent=True)
    if envelope.channel.secret_env and not envelope.channel.secret:
        raise ChannelError(f"environment variable {envelope.channel.secret_env} is not set", permanent=True)
    target = signed_url(url, envelope.channel.secret, int(time.time() * 1000))
    check_errcode(json_reply(post(target, timeout, json=dingtalk_body(envelope)), "DingTalk"), "DingTalk", TRANSIENT)
    return f"dingtalk:{envelope.delivery_id}"


@register
class DingtalkAlerter(Alerter):
    name = "dingtalk"
    group = True

    def send(self, envelope: Envelope) -> str:
        return send_dingtalk(envelope, self.config.settings.webhook_timeout_seconds)
