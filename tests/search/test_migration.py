"""A mapping change: a new versioned index, the store copied in, the aliases swapped, nothing lost even
when the feed writes during the copy."""

from __future__ import annotations

from sqlalchemy import func, select

import wagewatch.index.provision
from wagewatch.core.store.models import IndexQueue, Post
from wagewatch.index.documents import PostDoc
from wagewatch.index.feed import feed_outbox
from wagewatch.index.layout import layouts
from wagewatch.index.provision import alias_targets, ensure_kind

CHANGED = "迁移期间修改的帖文：某公司拖欠农民工工资"


def test_setup_creates_then_leaves_alone(search_config, seeded_db, es_client, prefix):
    es = search_config.settings.elasticsearch
    first = [
        ensure_kind(es_client, seeded_db, layout)
        for layout in layouts(prefix, es.chinese_analyzer, es.synonyms).values()
    ]
    assert {step.action for step in first} == {"created"}
    with seeded_db.session() as session:
        posts = session.scalar(select(func.count()).select_from(Post))
    assert next(s for s in first if s.kind == "posts").documents == posts
    again = [
        ensure_kind(es_client, seeded_db, layout)
        for layout in layouts(prefix, es.chinese_analyzer, es.synonyms).values()
    ]
    assert {step.action for step in again} == {"unchanged"}
    template = es_client.indices.get_index_template(name=first[0].index)["index_templates"][0]["index_template"]
    assert template["_meta"]["managed_by"] == "wagewatch"


def test_migration_swaps_aliases_and_loses_nothing(search_config, seeded_db, es_client, prefix, monkeypatch):
    es = search_config.settings.elasticsearch
    for layout in layouts(prefix, es.chinese_analyzer, es.synonyms).values():
        ensure_kind(es_client, seeded_db, layout)
    old = layouts(prefix, es.chinese_analyzer, es.synonyms)["posts"]
    old_index = old.index  # computed now, before the version changes
    with seeded_db.session() as session:
        target = str(max(session.scalars(select(Post.id))))
        stored = session.scalar(select(func.count()).select_from(Post))

    monkeypatch.setattr(PostDoc, "SCHEMA_VERSION", 2)
    new = layouts(prefix, es.chinese_analyzer, es.synonyms)["posts"]
    assert new.index != old_index

    real_bulk_write = wagewatch.index.provision.bulk_write
    raced = []

    def copy_racing_the_feed(client, index_name, documents, **kwargs):
        if target in documents and not raced:
            # The row changes after the copy read it, and the feed writes the new state before the copy does.
            with seeded_db.session() as session:
                session.get(Post, int(target)).text = CHANGED
                seeded_db.insert_ignore(session, IndexQueue, {"entity": "post", "entity_id": int(target)})
            assert feed_outbox(seeded_db, search_config)["pending"] == 0
            es_client.indices.refresh(index=old.alias)
            assert es_client.count(index=old.alias)["count"] == stored  # readers still see the old index
            raced.append(target)
        return real_bulk_write(client, index_name, documents, **kwargs)

    monkeypatch.setattr(wagewatch.index.provision, "bulk_write", copy_racing_the_feed)
    step = ensure_kind(es_client, seeded_db, new, batch_size=3)
    assert raced
    assert step.action == "migrated" and step.previous == [old_index] and step.documents == stored
    assert alias_targets(es_client, new.alias) == alias_targets(es_client, new.write_alias) == {new.index}
    assert not es_client.indices.exists(index=old_index)
    assert (
        not es_client.options(ignore_status=404).indices.get_index_template(name=old_index).body.get("index_templates")
    )
    es_client.indices.refresh(index=new.alias)
    assert es_client.count(index=new.alias)["count"] == stored
    assert es_client.get(index=new.alias, id=target)["_source"]["text"] == CHANGED
