"""Bulk writes with bounded retries: what cannot be written is reported, never silently dropped."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import ApiError, Elasticsearch
from elasticsearch import ConnectionError as EsConnectionError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

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


def _send(client: Elasticsearch, operations: list[dict[str, Any]], retries: int, **params: Any) -> dict[str, Any]:
    retrying = Retrying(
        stop=stop_after_attempt(retries + 1),
        wait=wait_exponential(multiplier=0.5, max=8),
        retry=retry_if_exception(transient),
        reraise=True,
    )
    try:
        return retrying(lambda: client.bulk(operations=operations, **params).body)
    except (EsConnectionError, ApiError) as exc:
        if isinstance(exc, ApiError) and not transient(exc):
            raise
        raise IndexUnavailable(
            f"Elasticsearch 不可用 unavailable after {retries + 1} attempts: {exc.__class__.__name__}: {exc}"
        ) from exc


def _succeeded(action: str, status: int) -> bool:
    if 200 <= status < 300:
        return True
    # Deleting a document that is not there, or creating one a newer write already made, reaches the goal.
    return (action == "delete" and status == 404) or (action == "create" and status == 409)


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
    """Write (or, for None, delete) documents by id in one bulk request.

    `op_type="create"` never overwrites, so a bulk copy cannot replace a fresher document the feed wrote
    meanwhile. Documents rejected with 429 are resent, with back-off, up to `retries` times.
    """
    result = BulkResult()
    pending = dict(documents)
    for attempt in range(retries + 1):
        operations: list[dict[str, Any]] = []
        for doc_id, document in pending.items():
            if document is None:
                operations.append({"delete": {"_index": index, "_id": doc_id}})
            else:
                operations += [{op_type: {"_index": index, "_id": doc_id}}, document]
        params: dict[str, Any] = {"refresh": "wait_for" if refresh else "false"}
        if require_alias:
            params["require_alias"] = True
        response = _send(client, operations, retries, **params)
        throttled: dict[str, dict[str, Any] | None] = {}
        for item in response["items"]:
            action, info = next(iter(item.items()))
            doc_id, status = info["_id"], info["status"]
            if _succeeded(action, status):
                result.written.add(doc_id)
            elif status == 429 and attempt < retries:
                throttled[doc_id] = pending[doc_id]
            else:
                error = info.get("error", {})
                result.errors[doc_id] = f"{status} {error.get('type', '')}: {error.get('reason', '')}".strip()
        if not throttled:
            break
        pending = throttled
        time.sleep(min(8.0, 0.5 * 2**attempt))
    return result
