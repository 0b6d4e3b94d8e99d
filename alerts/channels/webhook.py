"""Generic HTTP webhook, and SMS through a gateway: the request is built from a template in webhooks.yaml.

In a JSON body every `{{ value }}` is written as a JSON value (quoted and escaped), so neither a post nor
an operator's missing quote can change the document's structure; form fields are URL-encoded by httpx.
"""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, StrictUndefined, TemplateError

from wagewatch.alerts.channels.base import ChannelError, Envelope
from wagewatch.alerts.channels.http import json_reply, request
from wagewatch.alerts.markup import one_line
from wagewatch.core.config import WebhookTemplate

_json_env = Environment(undefined=StrictUndefined, finalize=lambda v: json.dumps(v, ensure_ascii=False))
_text_env = Environment(undefined=StrictUndefined, finalize=lambda v: one_line("" if v is None else v))


def template_values(envelope: Envelope) -> dict[str, Any]:
    message = envelope.message
    return {
        "to": envelope.channel.to,
        "subject": message.subject,
        "text": message.text,
        "short": message.short,
        "secret": envelope.channel.secret,
        **message.facts,
    }


def build_request(template: WebhookTemplate, values: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments for httpx: headers plus a `json` or `data` body."""
    try:
        headers = {k: _text_env.from_string(v).render(values) for k, v in template.headers.items()}
        if template.content_type == "form":
            return {
                "headers": headers,
                "data": {k: _text_env.from_string(v).render(values) for k, v in template.fields.items()},
            }
        text = _json_env.from_string(template.body or "").render(values)
    except TemplateError as exc:
        raise ChannelError(f"webhook template: {exc}", permanent=True) from exc
    try:
        return {"headers": headers, "json": json.loads(text)}
    except ValueError as exc:
        raise ChannelError(f"webhook template does not render valid JSON: {exc}", permanent=True) from exc


def _field(reply: dict[str, Any], path: str) -> Any:
    value: Any = reply
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def send_webhook(envelope: Envelope, template: WebhookTemplate, timeout: float) -> str:
    url = envelope.channel.url
    if not url:
        raise ChannelError(f"environment variable {envelope.channel.url_env} is not set", permanent=True)
    if envelope.channel.secret_env and not envelope.channel.secret:
        raise ChannelError(f"environment variable {envelope.channel.secret_env} is not set", permanent=True)
    response = request(template.method, url, timeout, **build_request(template, template_values(envelope)))
    if template.success_field:
        value = _field(json_reply(response, "webhook"), template.success_field)
        if str(value) not in template.success_values:
            raise ChannelError(f"webhook: {template.success_field}={value!r}: {response.text[:200]}", permanent=True)
    return f"{envelope.channel.type}:{envelope.delivery_id}"
