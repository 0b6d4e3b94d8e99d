"""The Elasticsearch client the service uses, built from settings.yaml."""

from __future__ import annotations

from elasticsearch import Elasticsearch

from wagewatch.core.config import ElasticsearchSettings


class NotConfigured(RuntimeError):
    """settings.yaml names no Elasticsearch."""


def make_client(settings: ElasticsearchSettings) -> Elasticsearch:
    """A client that fails fast: retrying is the caller's job (the outbox keeps what was not written)."""
    if not settings.url:
        raise NotConfigured("settings.yaml: key 'elasticsearch.url' is not set (or set WAGEWATCH_ES_URL)")
    auth = (settings.username, settings.password or "") if settings.username else None
    return Elasticsearch(
        settings.url,
        basic_auth=auth,
        verify_certs=settings.verify_certs,
        ca_certs=settings.ca_certs,
        request_timeout=settings.timeout_seconds,
        max_retries=0,
        retry_on_timeout=False,
    )
