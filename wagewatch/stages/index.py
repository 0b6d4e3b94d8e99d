"""Index stage: feed changed posts, incidents and leads from the store's outbox to Elasticsearch."""

from __future__ import annotations

from wagewatch.core.config import AppConfig
from wagewatch.core.store import Database


def index_pending(db: Database, config: AppConfig) -> str | int:
    """Without a configured Elasticsearch the outbox simply keeps growing until one is configured."""
    if not config.settings.elasticsearch.url:
        return "off (settings.yaml elasticsearch.url is not set)"
    from wagewatch.index.feed import feed_outbox

    return feed_outbox(db, config)
