"""Create and upgrade the indices: templates, aliases, and the migration that swaps in a new mapping.

Migration of one kind, resumable at every step because every step is idempotent:
1. put the new version's template and create its index;
2. move the write alias to the new index, so the feed's writes land there from now on;
3. copy every document from the store with op_type=create, which never overwrites the fresher document
   the feed may have written since step 2;
4. move the read alias in one atomic alias update, then delete the old indices and their templates.
Searches keep reading the old index until step 4, so nothing disappears and nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from elasticsearch import Elasticsearch, NotFoundError

from wagewatch.core import clock
from wagewatch.core.store import Database
from wagewatch.index import convert, places
from wagewatch.index.bulk import bulk_write
from wagewatch.index.layout import KindLayout
from wagewatch.index.store_docs import LOADERS, count_rows, id_batches

Progress = Callable[[str, int, int], None]  # kind, documents done, documents in all


@dataclass
class Step:
    kind: str
    action: str  # created|unchanged|migrated
    index: str
    documents: int = 0
    previous: list[str] | None = None

    def line(self) -> str:
        said = {"created": "已创建 created", "unchanged": "无变化 unchanged", "migrated": "已迁移 migrated"}[
            self.action
        ]
        detail = f" ← {', '.join(self.previous)}" if self.previous else ""
        count = f", {self.documents} 条文档 documents" if self.action != "unchanged" else ""
        return f"{self.kind}: {said} {self.index}{detail}{count}"


def alias_targets(client: Elasticsearch, alias: str) -> set[str]:
    try:
        return set(client.indices.get_alias(name=alias).body)
    except NotFoundError:
        return set()


def _create_index(client: Elasticsearch, layout: KindLayout) -> None:
    client.indices.put_index_template(name=layout.index, **layout.template())
    if not client.indices.exists(index=layout.index):
        # No body: the template just put supplies settings and mappings, as for any index it matches.
        client.indices.create(index=layout.index, wait_for_active_shards="1")


def copy_documents(
    client: Elasticsearch,
    db: Database | None,
    layout: KindLayout,
    index: str,
    *,
    op_type: str,
    batch_size: int,
    retries: int,
    progress: Progress | None = None,
) -> int:
    """Write every document of a kind from its source (the store; the shipped centroids for places)."""
    if layout.kind == "places":
        documents = {f"{p.level}:{p.city}:{p.name}": convert.place_document(p) for p in places.all_places()}
        result = bulk_write(client, index, documents, retries=retries, op_type=op_type)
        _raise_rejected(layout.kind, result.errors)
        if progress:
            progress(layout.kind, len(documents), len(documents))
        return len(documents)
    done = 0
    with db.session() as session:
        total = count_rows(session, layout.kind)
        for ids in id_batches(session, layout.kind, batch_size):
            documents = LOADERS[layout.kind](session, ids, clock.now())
            result = bulk_write(client, index, documents, retries=retries, op_type=op_type)
            _raise_rejected(layout.kind, result.errors)
            done += len(ids)
            if progress:
                progress(layout.kind, done, total)
    return done


def _raise_rejected(kind: str, errors: dict[str, str]) -> None:
    if errors:
        sample = "; ".join(f"{k}: {v}" for k, v in list(errors.items())[:3])
        raise RuntimeError(f"Elasticsearch 拒绝了 {len(errors)} 条 {kind} 文档 rejected documents: {sample}")


def ensure_kind(
    client: Elasticsearch,
    db: Database | None,
    layout: KindLayout,
    *,
    migrate: bool = True,
    batch_size: int = 500,
    retries: int = 3,
    progress: Progress | None = None,
) -> Step:
    """Bring one kind to the current layout. Without `migrate`, only what is missing is created."""
    current = alias_targets(client, layout.alias)
    if current == {layout.index}:
        if alias_targets(client, layout.write_alias) != {layout.index}:
            client.indices.update_aliases(
                actions=[{"add": {"index": layout.index, "alias": layout.write_alias, "is_write_index": True}}]
            )
        if layout.kind == "places":  # cheap to rewrite, and centroids.yaml may have been corrected
            copy_documents(client, db, layout, layout.index, op_type="index", batch_size=batch_size, retries=retries)
        return Step(layout.kind, "unchanged", layout.index)
    if current and not migrate:
        return Step(layout.kind, "unchanged", next(iter(current)))
    _create_index(client, layout)
    moves = [
        {"remove": {"index": old, "alias": layout.write_alias}}
        for old in alias_targets(client, layout.write_alias) - {layout.index}
    ]
    client.indices.update_aliases(
        actions=[*moves, {"add": {"index": layout.index, "alias": layout.write_alias, "is_write_index": True}}]
    )
    copied = 0
    if migrate or layout.kind == "places":
        copied = copy_documents(
            client,
            db,
            layout,
            layout.index,
            op_type="create",
            batch_size=batch_size,
            retries=retries,
            progress=progress,
        )
    client.indices.refresh(index=layout.index)
    old = sorted(current - {layout.index})
    client.indices.update_aliases(
        actions=[
            *({"remove": {"index": o, "alias": layout.alias}} for o in old),
            {"add": {"index": layout.index, "alias": layout.alias}},
        ]
    )
    for name in old:
        client.indices.delete(index=name, ignore_unavailable=True)
        client.options(ignore_status=404).indices.delete_index_template(name=name)
    return Step(layout.kind, "migrated" if old else "created", layout.index, copied, old or None)


def reindex(
    client: Elasticsearch,
    db: Database,
    layouts_by_kind: dict[str, KindLayout],
    kinds: list[str],
    *,
    batch_size: int = 500,
    retries: int = 3,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Rewrite every document of `kinds` from the store into the current indices (ids are stable, so this
    overwrites rather than duplicates). Missing indices are created first."""
    written: dict[str, int] = {}
    for kind in kinds:
        layout = layouts_by_kind[kind]
        ensure_kind(client, db, layout, migrate=False, batch_size=batch_size, retries=retries)
        written[kind] = copy_documents(
            client,
            db,
            layout,
            layout.write_alias,
            op_type="index",
            batch_size=batch_size,
            retries=retries,
            progress=progress,
        )
    return written
