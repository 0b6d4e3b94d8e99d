"""Drain the store's outbox (index_queue) into Elasticsearch.

Every change in the store adds an outbox row in the same transaction as the change. The feed reads rows
in id order, builds each document from the store as it is now, writes them in bounded bulk requests and
deletes exactly the rows it read once their documents are written. So:
- Elasticsearch down: nothing is deleted, the pipeline goes on, and the next run catches up;
- a crash between writing and deleting re-sends the same documents under the same ids (no duplicates);
- a change made while a batch is in flight has its own newer row, which stays for the next run;
- rows queued for the same document later than a batch's own (already committed when the batch is read)
  are answered by the batch's write and deleted with it, instead of writing that document again.
A document Elasticsearch rejects keeps its row, with `attempts` and `last_error`, for an operator to see.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from elasticsearch import ApiError, Elasticsearch
from elasticsearch import ConnectionError as EsConnectionError
from elasticsearch.helpers import scan
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from wagewatch.core import clock
from wagewatch.core.config import AppConfig
from wagewatch.core.states import Indexed
from wagewatch.core.store import Database
from wagewatch.core.store.models import IndexQueue, enqueue_index
from wagewatch.index.bulk import IndexUnavailable, bulk_write, transient
from wagewatch.index.client import make_client
from wagewatch.index.documents import ENTITY_KIND
from wagewatch.index.layout import KindLayout, layouts
from wagewatch.index.provision import alias_targets, ensure_kind
from wagewatch.index.store_docs import LOADERS

log = logging.getLogger("wagewatch.index")
KIND_ENTITY = {kind: entity for entity, kind in ENTITY_KIND.items()}


@dataclass
class FeedReport:
    indexed: int = 0
    rejected: int = 0
    pending: int = 0
    requeued_overdue: int = 0
    error: str | None = None


def _ensure_indices(client: Elasticsearch, db: Database, config: AppConfig) -> dict[str, KindLayout]:
    """Create what is missing (never migrate here: that is `wagewatch index setup`'s job)."""
    es = config.settings.elasticsearch
    found = layouts(es.index_prefix, es.chinese_analyzer, es.synonyms)
    for layout in found.values():
        targets = alias_targets(client, layout.write_alias)
        if not targets:
            ensure_kind(client, db, layout, migrate=False, batch_size=es.bulk_batch_size, retries=es.retries)
            log.info("created %s; if the store already held %s, run `wagewatch reindex`", layout.index, layout.kind)
        elif targets != {layout.index}:
            log.warning(
                "%s writes to %s but this version defines %s: run `wagewatch index setup` to migrate",
                layout.write_alias,
                ", ".join(sorted(targets)),
                layout.index,
            )
    return found


def requeue_overdue(client: Elasticsearch, db: Database, layout: KindLayout) -> int:
    """Queue the leads whose deadline passed since they were indexed: time, not a store change, made them
    overdue, so no outbox row exists for them. All of them, page by page (`helpers.scan`)."""
    overdue = {
        "bool": {
            "filter": [
                {"term": {"open": True}},
                {"term": {"overdue": False}},
                {"range": {"deadline": {"lt": clock.now().isoformat()}}},
            ]
        }
    }
    hits = scan(client, index=layout.alias, query={"query": overdue, "_source": False}, size=1000)
    ids = [int(hit["_id"]) for hit in hits]
    if ids:
        with db.session() as session:
            enqueue_index(session, Indexed.LEAD, *ids)
    return len(ids)


def _feed_batch(
    client: Elasticsearch,
    db: Database,
    rows: list[IndexQueue],
    kinds: dict[str, KindLayout],
    retries: int,
    report: FeedReport,
) -> None:
    wanted: dict[str, set[int]] = defaultdict(set)
    rows_of: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row in rows:
        kind = ENTITY_KIND.get(row.entity)
        if kind is None:
            log.warning("index_queue row %s names unknown entity %r; dropped", row.id, row.entity)
            rows_of[("", "")].append(row.id)
            continue
        wanted[kind].add(row.entity_id)
        rows_of[(kind, str(row.entity_id))].append(row.id)
    now = clock.now()
    with db.session() as session:
        documents = {kind: LOADERS[kind](session, ids, now) for kind, ids in wanted.items()}
        # An incident's document shows its lead's state, so a changed lead refreshes its incident too.
        lead_incidents = {doc["incident_id"] for doc in documents.get("leads", {}).values() if doc}
        extra = lead_incidents - wanted.get("incidents", set())
        if extra:
            documents.setdefault("incidents", {}).update(LOADERS["incidents"](session, extra, now))
    done: list[int] = list(rows_of.pop(("", ""), []))
    failed: dict[int, str] = {}
    for kind, docs in documents.items():
        result = bulk_write(client, kinds[kind].write_alias, docs, retries=retries, require_alias=True)
        for doc_id in result.written:
            done.extend(rows_of.get((kind, doc_id), []))
        for doc_id, error in result.errors.items():
            failed.update({row_id: error for row_id in rows_of.get((kind, doc_id), [])})
        report.indexed += sum(1 for doc_id in result.written if (kind, doc_id) in rows_of)
        report.rejected += len(result.errors)
    with db.session() as session:
        if done:
            session.execute(delete(IndexQueue).where(IndexQueue.id.in_(done)))
        for row_id, error in failed.items():
            session.execute(
                update(IndexQueue)
                .where(IndexQueue.id == row_id)
                .values(attempts=IndexQueue.attempts + 1, last_error=error[:2000])
            )
    for row_id, error in list(failed.items())[:5]:
        log.error("Elasticsearch rejected the document of index_queue row %s: %s", row_id, error)


def _later_rows(session: Session, rows: list[IndexQueue], after: int) -> list[IndexQueue]:
    """Rows queued after row `after` for the documents of `rows`. Their changes committed with them, before
    this read, so the documents about to be built from the store already show them: one write answers them
    too, where walking on would write the same document again (analyze, cluster and dispatch each queue a
    post or an incident they touch)."""
    ids_of: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        ids_of[row.entity].add(row.entity_id)
    return [
        row
        for entity, ids in ids_of.items()
        for row in session.scalars(
            select(IndexQueue).where(IndexQueue.id > after, IndexQueue.entity == entity, IndexQueue.entity_id.in_(ids))
        )
    ]


def feed_outbox(db: Database, config: AppConfig, client: Elasticsearch | None = None) -> dict[str, Any]:
    """Write every queued change to Elasticsearch; returns counts, and the error if it was unreachable.

    Each row is tried once per run (rows are walked by id), so a rejected document cannot stall the rest.
    """
    es = config.settings.elasticsearch
    client = client or make_client(es)
    report = FeedReport()
    try:
        kinds = _ensure_indices(client, db, config)
        report.requeued_overdue = requeue_overdue(client, db, kinds["leads"])
        last_id = 0
        answered: set[int] = set()  # later rows already written with an earlier batch's documents
        while True:
            with db.session() as session:
                rows = list(
                    session.scalars(
                        select(IndexQueue)
                        .where(IndexQueue.id > last_id)
                        .order_by(IndexQueue.id)
                        .limit(es.bulk_batch_size)
                    )
                )
                if not rows:
                    break
                last_id = rows[-1].id
                rows = [row for row in rows if row.id not in answered]
                later = _later_rows(session, rows, last_id)
            answered.update(row.id for row in later)
            if rows:
                _feed_batch(client, db, rows + later, kinds, es.retries, report)
    except (IndexUnavailable, EsConnectionError, ApiError) as exc:
        if isinstance(exc, ApiError) and not transient(exc):
            raise
        report.error = (
            str(exc)
            if isinstance(exc, IndexUnavailable)
            else f"Elasticsearch 不可用 unavailable: {exc.__class__.__name__}: {exc}"
        )
        log.warning("index stage: %s; the outbox keeps the changes for the next run", report.error)
    with db.session() as session:
        report.pending = session.scalar(select(func.count()).select_from(IndexQueue)) or 0
    return asdict(report)
