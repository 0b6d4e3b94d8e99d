"""Bulk writes with bounded retries: what cannot be written is reported, never silently dropped."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import ApiError, Elasticsearch
from elasticsearch import ConnectionError as EsConnectionError
from elasticsearch.helpers import streaming_bulk
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

RETRYABLE_STATUS = {429, 502, 503, 504}


class IndexUnavailable(RuntimeError):
    """Elasticsearch did not answer (or kept refusing) after the configured retries."""


@dataclass
class BulkResult:
    written: set[str] = field(default_factory=set)
    errors: dict[str, str] = field(default_factory=dict)  # document id -> why Elasticsearch rejected it


def transient(exc: BaseException) -> bool:
    if isinstance(exc, EsConnectionError):
        return True
    return isinstance(exc, ApiError) and exc.meta.status in RETRYABLE_STATUS


def _succeeded(action: str, status: int) -> bool:
    if 200 <= status < 300:
        return True
    # Deleting a document that is not there, or creating one a newer write already made, reaches the goal.
    return (action == "delete" and status == 404) or (action == "create" and status == 409)


def _actions(index: str, documents: dict[str, dict[str, Any] | None], op_type: str) -> Iterator[dict[str, Any]]:
    for doc_id, document in documents.items():
        if document is None:
            yield {"_op_type": "delete", "_index": index, "_id": doc_id}
        else:
            yield {"_op_type": op_type, "_index": index, "_id": doc_id, "_source": document}


def bulk_write(
    client: Elasticsearch,
    index: str,
    documents: dict[str, dict[str, Any] | None],
    *,
    retries: int = 3,
    op_type: str = "index",
    require_alias: bool = False,
    refresh: bool = False,
) -> BulkResult:
    """Write (or, for None, delete) documents by id, through the client's `helpers.streaming_bulk`.

    `op_type="create"` never overwrites, so a bulk copy cannot replace a fresher document the feed wrote
    meanwhile. Documents (or whole requests) refused with 429, 502, 503 or 504 are resent by the helper with
    back-off up to `retries` times; a connection that fails is retried as often for the documents not yet
    answered, then IndexUnavailable. The callers batch, so each call is one bulk request.
    """
    result = BulkResult()
    params: dict[str, Any] = {"refresh": "wait_for" if refresh else "false"}
    if require_alias:
        params["require_alias"] = True

    def send() -> None:
        answered = result.written | set(result.errors)
        pending = {doc_id: doc for doc_id, doc in documents.items() if doc_id not in answered}
        for _, item in streaming_bulk(
            client,
            _actions(index, pending, op_type),
            chunk_size=max(len(pending), 1),
            max_retries=retries,
            initial_backoff=0.5,
            max_backoff=8,
            retry_on_status=tuple(RETRYABLE_STATUS),
            raise_on_error=False,
            raise_on_exception=True,
            yield_ok=True,
            **params,
        ):
            action, info = next(iter(item.items()))
            doc_id, status = info["_id"], info["status"]
            if _succeeded(action, status):
                result.written.add(doc_id)
            else:
                error = info.get("error", {})
                result.errors[doc_id] = f"{status} {error.get('type', '')}: {error.get('reason', '')}".strip()

    retrying = Retrying(
        stop=stop_after_attempt(retries + 1),
        wait=wait_exponential(multiplier=0.5, max=8),
        retry=retry_if_exception_type(EsConnectionError),  # statuses are the helper's to retry
        reraise=True,
    )
    try:
        retrying(send)
    except (EsConnectionError, ApiError) as exc:
        if isinstance(exc, ApiError) and not transient(exc):
            raise
        raise IndexUnavailable(
            f"Elasticsearch 不可用 unavailable after {retries + 1} attempts: {exc.__class__.__name__}: {exc}"
        ) from exc
    return result
