"""Clustering through the MinHash LSH index merges exactly as a full scan over every incident would, also
across a restart and with incidents created by another worker."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy
from datasketch import MinHash
from sqlalchemy import select

from wagewatch.core import clock
from wagewatch.core.config import SHANDONG_CITIES, load_config
from wagewatch.core.store import Database
from wagewatch.core.store.models import Analysis, Incident, Post
from wagewatch.stages import cluster as cluster_module
from wagewatch.stages.cluster import NUM_PERM, SEED, cluster_pending, signature

COMPANIES = ["鑫隆建设", "恒达劳务", "宏远建筑", "泰和装饰", "金鼎路桥", "华安置业", "正通市政", "盛世园林"]
PROJECTS = ["花园小区二期", "产业园三号厂房", "滨河路改造", "实验学校新校区", "物流仓储中心", "安置房一标段"]
OPENERS = ["求助！", "有人管吗？", "实在没办法了，", "", "转发扩散：", "大家帮帮忙，"]
CLOSERS = ["希望有关部门管一管。", "已经打了12345没人理。", "过年回不了家了。", "", "老板电话也不接。"]


def _case_text(rng: random.Random, city: str) -> str:
    return (
        f"{city}{rng.choice(COMPANIES)}承建的{rng.choice(PROJECTS)}项目拖欠我们{rng.randint(3, 90)}名农民工"
        f"工资{rng.randint(2, 80)}万元，从{rng.randint(1, 12)}月拖到现在，包工头{rng.choice('张王李赵刘陈')}某跑了"
    )


def _variant(rng: random.Random, text: str) -> str:
    """Another post about the same case: a different opener and closer, sometimes a few characters cut."""
    cut = rng.randint(0, 12)
    return rng.choice(OPENERS) + (text[cut:] if rng.random() < 0.5 else text) + rng.choice(CLOSERS)


def _posts(rng: random.Random, cases: int) -> list[tuple[str, str, str]]:
    """(label, city, text) for `cases` cases of a few cities, each posted one to four times, shuffled."""
    posts = []
    for _ in range(cases):
        city = rng.choice(SHANDONG_CITIES[:4])
        label = "false" if rng.random() < 0.15 else "real"
        text = _case_text(rng, city)
        posts += [(label, city, text)] + [(label, city, _variant(rng, text)) for _ in range(rng.randint(0, 3))]
    rng.shuffle(posts)
    return posts


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> Iterator[str]:
    """An empty store's URL, on each engine: the stage writes through plain statements on both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cluster.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
    engine.dispose()


def _store(url: str, posts: list[tuple[str, str, str]]) -> tuple[Database, list[int]]:
    db = Database(url)
    db.upgrade()
    now = clock.now()
    ids = []
    with db.session() as session:
        for n, (label, city, text) in enumerate(posts):
            post = Post(
                source="weibo", external_id=str(n), url=f"https://m.weibo.cn/detail/{n}", text=text, text_raw=text,
                published_at=now, reposts=0, comments=0, fetched_at=now, state="analyzed",
            )  # fmt: skip
            session.add(post)
            session.flush()
            analysis = Analysis(
                post_id=post.id, label=label, scores={label: 0.9}, severity=2, severity_score=40.0, city=city,
                explanation=[], model_version="test", created_at=now,
            )  # fmt: skip
            session.add(analysis)
            session.flush()
            ids.append(analysis.id)
    return db, ids


def _full_scan(posts: list[tuple[str, str, str]], threshold: float) -> list[int]:
    """The reference: each post against every earlier incident of its label and city, by fresh MinHash
    objects and datasketch's own Jaccard estimate; the most similar wins, the oldest on a tie."""
    incidents: list[tuple[str, str, MinHash]] = []
    groups = []
    for label, city, text in posts:
        sig = MinHash(num_perm=NUM_PERM, seed=SEED)
        compact = "".join(text.split())
        for i in range(max(1, len(compact) - 2)):
            sig.update(compact[i : i + 3].encode("utf-8"))
        scored = [
            (sig.jaccard(other), -n) for n, (lab, cit, other) in enumerate(incidents) if (lab, cit) == (label, city)
        ]
        best = max(scored, default=None)
        if best is not None and best[0] >= threshold:
            groups.append(-best[1])
        else:
            groups.append(len(incidents))
            incidents.append((label, city, sig))
    return groups


def _groups(db: Database, analysis_ids: list[int]) -> list[int]:
    """Incident of each analysis, renumbered in order of first appearance (the scan's numbering)."""
    with db.session() as session:
        by_id = dict(session.execute(select(Analysis.id, Analysis.incident_id)).all())
    order: dict[int, int] = {}
    return [order.setdefault(by_id[a], len(order)) for a in analysis_ids]


@pytest.fixture(autouse=True)
def _fresh_index():
    cluster_module._INDEXES.clear()
    yield
    cluster_module._INDEXES.clear()


def test_signature_matches_datasketch_update_by_update():
    text = "济南某工地拖欠 三十名农民工工资"
    reference = MinHash(num_perm=NUM_PERM, seed=SEED)
    compact = "".join(text.split())
    for i in range(len(compact) - 2):
        reference.update(compact[i : i + 3].encode("utf-8"))
    assert list(signature(text).hashvalues) == list(reference.hashvalues)


def test_index_merges_exactly_as_a_full_scan(store_url):
    policy = load_config().policy
    posts = _posts(random.Random(14), 150)
    db, ids = _store(store_url, posts)
    assert cluster_pending(db, policy, batch_size=37) == len(posts)
    expected = _full_scan(posts, policy.cluster_similarity)
    assert len(set(expected)) < len(posts)  # the cases do merge, so the comparison means something
    assert _groups(db, ids) == expected


def test_restart_rebuilds_the_index_from_the_store(store_url):
    policy = load_config().policy
    posts = _posts(random.Random(15), 80)
    db, ids = _store(store_url, posts)
    with db.session() as session:  # only the first half is pending; the rest waits for after the restart
        for analysis in session.scalars(select(Analysis).where(Analysis.id > ids[len(ids) // 2])):
            analysis.clustered = True
    cluster_pending(db, policy)
    cluster_module._INDEXES.clear()  # a new process: nothing in memory
    with db.session() as session:
        for analysis in session.scalars(select(Analysis).where(Analysis.incident_id.is_(None))):
            analysis.clustered = False
    cluster_pending(db, policy)
    assert _groups(db, ids) == _full_scan(posts, policy.cluster_similarity)


def test_incidents_from_another_worker_and_the_window(tmp_path):
    """An incident another process stored joins the index at the next batch; one past the window does not."""
    policy = load_config().policy
    rng = random.Random(16)
    text = _case_text(rng, "济南")
    db, ids = _store(f"sqlite:///{tmp_path / 'cluster.db'}", [("real", "济南", text)])
    cluster_pending(db, policy)
    now = clock.now()
    with db.session() as session:
        for n, last_seen in enumerate((now, now - timedelta(days=policy.cluster_window_days + 1))):
            other = _case_text(rng, "青岛")
            session.add(
                Incident(
                    label="real", city="青岛", severity=2, severity_score=40.0, title=other[:20], explanation=[],
                    signature=[int(v) for v in signature(other + "。" * n).hashvalues], post_count=1, reach=0,
                    first_seen=last_seen, last_seen=last_seen,
                )
            )  # fmt: skip
            session.add(
                Post(
                    source="weibo", external_id=f"late-{n}", url="https://m.weibo.cn/detail/x", text=other,
                    text_raw=other, published_at=now, reposts=0, comments=0, fetched_at=now, state="analyzed",
                )
            )  # fmt: skip
            session.flush()
    with db.session() as session:
        fresh, stale = session.scalars(select(Incident).where(Incident.city == "青岛").order_by(Incident.id)).all()
        late = session.scalars(select(Post).where(Post.external_id.like("late-%")).order_by(Post.id)).all()
        for post in late:
            session.add(
                Analysis(
                    post_id=post.id, label="real", scores={"real": 0.9}, severity=2, severity_score=40.0,
                    city="青岛", explanation=[], model_version="test", created_at=now,
                )
            )  # fmt: skip
    cluster_pending(db, policy)
    with db.session() as session:
        joined = session.scalars(select(Analysis.incident_id).where(Analysis.post_id.in_([p.id for p in late]))).all()
    assert joined[0] == fresh.id  # the other worker's incident, found without a restart
    assert stale.id not in joined  # past the window: a new incident instead


def test_incidents_that_left_the_window_leave_the_index(tmp_path):
    """A long-running service rebuilds the index from the store once the window moved on a day, so it does
    not keep scoring incidents no post may join any more."""
    policy = load_config().policy
    text = _case_text(random.Random(17), "济南")
    db, _ = _store(f"sqlite:///{tmp_path / 'cluster.db'}", [("real", "济南", text)])
    cluster_pending(db, policy)
    index = cluster_module._INDEXES[str(db.engine.url)]
    assert len(index.candidates("real", "济南", signature(text), 0.0)) == 1
    clock.freeze(clock.now() + timedelta(days=policy.cluster_window_days + 2))
    with db.session() as session:  # what the next batch does first
        index.refresh(session, clock.now() - timedelta(days=policy.cluster_window_days))
    assert index.candidates("real", "济南", signature(text), 0.0) == []
